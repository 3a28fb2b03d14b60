"""Settings for the test suite: the real settings with fast hashing and inline tasks."""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Browser tests watch each scan arrive; the hold has its own test.
SAMPLER_HOLD_SECONDS = 0
SMS_BACKEND = "fangkong.core.messaging.MemoryBackend"
NOTIFY_STREAM_SECONDS = 0
NOTIFY_POLL_SECONDS = 0
# Every test reads policies afresh (a test's rolled-back versions must not linger in a
# process cache); the cache has its own tests.
POLICY_CACHE_SECONDS = 0
