from django.shortcuts import render

from core.errors import ApplicationError, NotFound


class DomainErrorMiddleware:
    """Dashboard pages: a domain error that reaches the top is its own status, never a 500.

    NotFound from a selector is the ordinary 404 page; any other ApplicationError (a malformed
    query parameter refused by core.parsing, a bad page cursor) is a page naming the problem, with
    the error's status (400 for ValidationFailed). The API renders these in core.api instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "errors/404.html", status=404)
        if isinstance(exception, ApplicationError):
            return render(request, "errors/400.html", {"message": exception.message}, status=exception.status_code)
        return None
