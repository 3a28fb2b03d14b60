"""The published OpenAPI document describes the versioned API."""

import json

import pytest

pytestmark = pytest.mark.django_db

EXPECTED = {
    "/api/v1/me": {"get"},
    "/api/v1/audit/": {"get"},
    "/api/v1/areas/": {"get"},
    "/api/v1/areas/{code}": {"get"},
    "/api/v1/areas/{code}/zones": {"get", "post"},
    "/api/v1/areas/zones/{zone_id}/lift": {"post"},
    "/api/v1/residents/": {"get", "post"},
    "/api/v1/residents/{resident_id}": {"get", "put", "patch"},
    "/api/v1/residents/{resident_id}/reveal": {"post"},
}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def test_openapi_lists_every_operation_under_the_versioned_prefix(schema):
    assert schema["openapi"].startswith("3.")
    paths = {path: set(ops) for path, ops in schema["paths"].items()}
    assert all(path.startswith("/api/v1/") for path in paths)
    for path, methods in EXPECTED.items():
        assert methods <= paths.get(path, set()), path


def test_every_operation_needs_a_bearer_token_or_session(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {name for option in operation["security"] for name in option}
            assert names == {"BearerToken", "SessionAuth"}, (method, path)


def test_errors_are_documented_in_the_one_shape(schema):
    reveal = schema["paths"]["/api/v1/residents/{resident_id}/reveal"]["post"]["responses"]
    for status in ("401", "403", "404"):
        ref = reveal[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut")
    error = schema["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"code", "message", "message_zh", "field"} <= error.keys()


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_two_schemas_share_a_name(schema):
    """OpenAPI keys schemas by class name: a second `PersonOut` silently hides the first."""
    from ninja import Schema

    places: dict[str, set[str]] = {}
    for cls in _subclasses(Schema):
        if cls.__module__.startswith("fangkong."):
            places.setdefault(cls.__name__, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    shared = {name: sorted(where) for name, where in places.items() if len(where) > 1}
    assert not shared, f"rename one of each: {shared}"


def test_the_api_docs_page_loads_nothing_from_the_internet(client, worker_a):
    client.force_login(worker_a)
    page = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page and "/static/ninja/" in page
    assert "cdn" not in page.lower() and "https://" not in page
