"""Test helpers for the JSON API: a client that speaks as a user with a bearer token."""

from django.test import Client

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM

API = "/api/v1"


class ApiClient(Client):
    """Paths are relative to /api/v1; bodies go as JSON."""

    def get(self, path, data=None, **extra):
        return super().get(API + path, data, **extra)

    def post(self, path, data=None, **extra):
        return super().post(API + path, data, content_type="application/json", **extra)

    def put(self, path, data=None, **extra):
        return super().put(API + path, data, content_type="application/json", **extra)

    def patch(self, path, data=None, **extra):
        return super().patch(API + path, data, content_type="application/json", **extra)


def api_as(user) -> ApiClient:
    key = token_issue(actor=SYSTEM, user=user, name="test")
    return ApiClient(headers={"authorization": f"Bearer {key}"})


def error_of(response) -> dict:
    """The body's error, after checking it has the one error shape."""
    error = response.json()["error"]
    assert {"code", "message", "message_zh", "field"} <= error.keys(), error
    return error
