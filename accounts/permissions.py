from rest_framework.permissions import BasePermission


class IsMerchantMember(BasePermission):
    """Signed in (session or token) and working inside a merchant's scope."""

    message = "Authentication credentials were not provided or are invalid."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request._request, "merchant", None))
