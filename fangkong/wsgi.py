import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
application = get_wsgi_application()

from fangkong.core.devices import device_application  # noqa: E402 (needs settings)

# Devices' bearer-token uploads skip the browser's middleware (fangkong/core/devices.py).
application = device_application(application)
