from django.shortcuts import render

from core.errors import NotFound


class DomainErrorMiddleware:
    """Dashboard pages: a NotFound raised by a selector is the ordinary 404 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "errors/404.html", status=404)
        return None
