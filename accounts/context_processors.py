def current_merchant(request) -> dict:
    return {"merchant": getattr(request, "merchant", None), "membership": getattr(request, "membership", None)}
