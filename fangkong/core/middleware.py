from django.http import HttpResponseBadRequest


class RefuseNulMiddleware:
    """A NUL character in a URL or form is never meant; PostgreSQL cannot store it.

    Refused here with a plain bilingual message, instead of a server error deep in a
    query. (The API refuses it in its own error shape before this matters.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            return self.get_response(request)
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return _refuse()
        if request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request):
            return _refuse()
        return self.get_response(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(request) -> bool:
    return any("\x00" in value for _, values in request.POST.lists() for value in values)


def _refuse():
    return HttpResponseBadRequest(
        "请求含有空字符（NUL），已拒绝 / the request contains a NUL character and was refused",
        content_type="text/plain; charset=utf-8",
    )
