from django.urls import include, path
from django.views.i18n import set_language

from .api import api, openapi_json

handler500 = "fangkong.core.views.server_error"

urlpatterns = [
    path("", include("fangkong.core.urls")),
    path("accounts/", include("fangkong.accounts.urls")),
    path("areas/", include("fangkong.areas.urls")),
    path("people/", include("fangkong.people.urls")),
    path("testing/", include("fangkong.testing.urls")),
    path("labs/", include("fangkong.labs.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/openapi.json", openapi_json, name="openapi"),
    path("api/v1/", api.urls),
]
