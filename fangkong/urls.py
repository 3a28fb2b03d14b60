from django.urls import include, path
from django.views.i18n import set_language

from .api import api, openapi_json
from .core.registry import fangkong_apps

handler500 = "fangkong.core.views.server_error"

# Every app's pages under the prefix its AppConfig declares (fangkong/core/registry.py).
urlpatterns = [
    path(config.url_prefix, include(f"{config.name}.urls"))
    for config in fangkong_apps()
    if config.url_prefix or config.label == "core"
]
urlpatterns += [
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/openapi.json", openapi_json, name="openapi"),
    path("api/v1/", api.urls),
]
