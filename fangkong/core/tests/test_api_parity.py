"""Every action a page offers is also an API operation (issue 8, §5).

The test walks the URL conf for page views that take a POST (decorated `require_POST`, or
reading `request.POST` / checking `request.method == "POST"`), and the OpenAPI document.
Each such view of a checked app must be in `TWINS`, naming the operation that calls the
same service, and that operation must be in the document. A new page action with no twin
fails here: add its operation (and a row below, and a line in docs/api.md).
"""

import inspect

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Page action (namespace:name) -> the API operations that do the same, by the same service.
TWINS: dict[str, list[tuple[str, str]]] = {
    # testing: rounds
    "testing:round_launch": [("post", "/api/v1/testing/rounds")],
    "testing:round_edit": [("patch", "/api/v1/testing/rounds/{round_id}")],
    "testing:round_close": [("post", "/api/v1/testing/rounds/{round_id}/close")],
    # testing: exemptions
    "testing:exemption_grant": [("post", "/api/v1/testing/rounds/{round_id}/exemptions")],
    "testing:exemption_end": [("post", "/api/v1/testing/exemptions/{exemption_id}/end")],
    # testing: door-to-door
    "testing:tasks_generate": [("post", "/api/v1/testing/rounds/{round_id}/home-tasks/generate")],
    "testing:tasks_assign": [
        ("post", "/api/v1/testing/rounds/{round_id}/home-tasks/assign"),
        ("get", "/api/v1/testing/rounds/{round_id}/home-tasks/assignees"),
    ],
    "testing:task_close": [("post", "/api/v1/testing/home-tasks/{task_id}/close")],
    "testing:task_cancel": [("post", "/api/v1/testing/home-tasks/{task_id}/cancel")],
    # testing: sites and channels (the sites page lists them and creates one by POST)
    "testing:sites": [("get", "/api/v1/testing/sites"), ("post", "/api/v1/testing/sites")],
    "testing:site_status": [("post", "/api/v1/testing/sites/{site_id}/status")],
    "testing:channel_add": [("post", "/api/v1/testing/sites/{site_id}/channels")],
    "testing:channel_status": [("post", "/api/v1/testing/channels/{channel_id}/status")],
    # labs
    "labs:upload": [("post", "/api/v1/labs/results/file"), ("post", "/api/v1/labs/results")],
    "labs:recalls_arrange": [("post", "/api/v1/labs/recalls/arrange")],
    "labs:recall_cancel": [("post", "/api/v1/labs/recalls/{recall_id}/cancel")],
    # core: policies and notifications
    "core:policy": [("get", "/api/v1/policies/{key}"), ("post", "/api/v1/policies/{key}")],
    "core:notifications_read": [
        ("post", "/api/v1/notifications/read"),
        ("post", "/api/v1/notifications/read-all"),
    ],
    # areas: the area tree (one page, an action per form) and zones
    "areas:manage": [
        ("post", "/api/v1/areas/{code}/children"),
        ("post", "/api/v1/areas/{code}/rename"),
        ("post", "/api/v1/areas/{code}/move"),
        ("post", "/api/v1/areas/{code}/retire"),
    ],
    "areas:import": [("post", "/api/v1/areas/divisions/import")],
    "areas:zone_declare": [("post", "/api/v1/areas/{code}/zones")],
    "areas:zone_lift": [("post", "/api/v1/areas/zones/{zone_id}/lift")],
    # accounts: users, their areas, passwords, tokens
    "accounts:user_new": [("post", "/api/v1/users/")],
    "accounts:user_import": [("post", "/api/v1/users/import")],
    "accounts:user": [
        ("patch", "/api/v1/users/{user_id}"),
        ("put", "/api/v1/users/{user_id}/areas"),
        ("post", "/api/v1/users/{user_id}/password"),
        ("post", "/api/v1/users/{user_id}/disable"),
        ("post", "/api/v1/users/{user_id}/enable"),
        ("post", "/api/v1/users/{user_id}/tokens"),
        ("post", "/api/v1/users/{user_id}/tokens/{token_id}/revoke"),
    ],
    # people: residents, their codes, roster imports, hand-overs
    "people:register": [("post", "/api/v1/residents/")],
    "people:edit": [
        ("patch", "/api/v1/residents/{resident_id}"),
        ("put", "/api/v1/residents/{resident_id}"),
    ],
    "people:reveal": [("post", "/api/v1/residents/{resident_id}/reveal")],
    "people:building_codes": [("post", "/api/v1/residents/buildings/{code}/codes")],
    "people:import": [
        ("post", "/api/v1/residents/roster/imports"),
        ("get", "/api/v1/residents/roster/imports/{job_id}"),
    ],
    "people:handover_new": [("post", "/api/v1/handovers/")],
    "people:handover": [
        ("post", "/api/v1/handovers/{handover_id}/approve"),
        ("post", "/api/v1/handovers/{handover_id}/decline"),
        ("post", "/api/v1/handovers/{handover_id}/cancel"),
    ],
    # workforce: workers, report-ins, teams, staffing, posts and shifts, call-outs
    "workforce:register": [("post", "/api/v1/workforce/workers")],
    "workforce:bulk": [("post", "/api/v1/workforce/workers/bulk")],
    "workforce:worker": [("post", "/api/v1/workforce/workers/{pk}/reveal")],
    "workforce:worker_status": [("post", "/api/v1/workforce/workers/{pk}/status")],
    "workforce:unavailable": [("post", "/api/v1/workforce/workers/{pk}/status")],
    "workforce:report_in": [("post", "/api/v1/workforce/report-ins")],
    "workforce:enrollment_decide": [("post", "/api/v1/workforce/report-ins/{pk}/decision")],
    "workforce:confirm_all": [("post", "/api/v1/workforce/report-ins/confirm-all")],
    "workforce:teams": [
        ("post", "/api/v1/workforce/teams"),
        ("post", "/api/v1/workforce/branches"),
    ],
    "workforce:requests": [
        ("get", "/api/v1/workforce/requests"),
        ("post", "/api/v1/workforce/requests"),
    ],
    "workforce:request_cancel": [("post", "/api/v1/workforce/requests/{pk}/cancel")],
    "workforce:allocation_run": [("post", "/api/v1/workforce/allocation-runs")],
    "workforce:seat_adjust": [("post", "/api/v1/workforce/allocation-runs/{pk}/seats/{seat}")],
    "workforce:run_decide": [
        ("post", "/api/v1/workforce/allocation-runs/{pk}/confirm"),
        ("post", "/api/v1/workforce/allocation-runs/{pk}/discard"),
    ],
    "workforce:posts": [("post", "/api/v1/workforce/posts")],
    "workforce:post": [
        ("post", "/api/v1/workforce/posts/{pk}/shifts"),
        ("post", "/api/v1/workforce/posts/{pk}/rota"),
        ("post", "/api/v1/workforce/shifts/{pk}/assign"),
    ],
    "workforce:substitutions": [("post", "/api/v1/workforce/shifts/{pk}/substitute")],
    "workforce:callouts": [
        ("get", "/api/v1/workforce/callouts"),
        ("post", "/api/v1/workforce/callouts"),
    ],
    "workforce:callout_answer": [("post", "/api/v1/workforce/callouts/{pk}/answer")],
    # screening: tasks, statuses, hand-overs, campaigns, venues, exposure matching
    # (resident_track opens a resident in screening: the API reads it by resident id)
    "screening:task_reach": [("post", "/api/v1/screening/tasks/{task_id}/reach")],
    "screening:task_attempt": [("post", "/api/v1/screening/tasks/{task_id}/attempts")],
    "screening:task_control": [("post", "/api/v1/screening/tasks/{task_id}/control")],
    "screening:task_hand_over": [("post", "/api/v1/screening/tasks/{task_id}/hand-over")],
    "screening:hand_over_accept": [("post", "/api/v1/screening/hand-overs/{hand_over_id}/accept")],
    "screening:status_set": [("post", "/api/v1/screening/people/{person_id}/status")],
    "screening:resident_track": [("get", "/api/v1/screening/residents/{resident_id}/status")],
    "screening:register": [("post", "/api/v1/screening/people")],
    "screening:campaign_launch": [("post", "/api/v1/screening/campaigns")],
    "screening:campaign_close": [("post", "/api/v1/screening/campaigns/{campaign_id}/close")],
    "screening:screen": [("post", "/api/v1/screening/campaigns/{campaign_id}/visits")],
    "screening:answers_import": [
        ("post", "/api/v1/screening/campaigns/{campaign_id}/answers-file")
    ],
    "screening:venues": [("post", "/api/v1/screening/venues")],
    "screening:match_run": [
        ("post", "/api/v1/screening/match-runs"),
        ("post", "/api/v1/screening/match-runs/with-pings"),
    ],
    # relief: needs, their steps (one status operation), dispatch, stock
    "relief:ask": [("post", "/api/v1/relief/requests")],
    "relief:register": [("post", "/api/v1/relief/requests")],
    "relief:confirm": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:complain": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:cancel": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:urgency": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:reopen": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:task_step": [("post", "/api/v1/relief/requests/{pk}/status")],
    "relief:dispatch": [("post", "/api/v1/relief/requests/{pk}/dispatch")],
    "relief:batch": [("post", "/api/v1/relief/requests/dispatch-batch")],
    "relief:receive": [("post", "/api/v1/relief/supply-points/{pk}/stock")],
    "relief:adjust": [("post", "/api/v1/relief/stock/{pk}/adjust")],
    "relief:call": [("post", "/api/v1/relief/requests/{pk}/contact")],
    "relief:escalation_ack": [("post", "/api/v1/relief/escalations/{pk}/ack")],
}

# Apps whose page actions this test holds to the rule.
CHECKED = {
    "testing",
    "labs",
    "core",
    "areas",
    "accounts",
    "people",
    "workforce",
    "relief",
    "screening",
}

# Page actions of a checked app known to have no API twin yet, each with what it does.
# A debt in plain sight: give it an operation, then move it to TWINS.
GAPS: dict[str, str] = {
    "relief:care_plan": "sync care schedules, plan care packages (care_schedules_sync, …)",
    "relief:checkin": "record a care check-in (checkin_record)",
    "relief:hotline_shift": "a counsellor goes on or off the hotline (hotline_shift)",
    "relief:ticket_open": "open a hotline ticket (ticket_open)",
    "relief:ticket_step": "note, risk, assign, close a hotline ticket (ticket_*)",
}

# Namespaces not (yet) held to it, each with the reason. A new namespace with a page
# action fails until it is put in CHECKED or here.
NOT_CHECKED = {
    None: "Django's set_language: not an action on data",
}


def _walk(patterns, namespace=None, route=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, p.namespace or namespace, route + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield namespace, p.name, route + str(p.pattern), p.callback


def _takes_post(view) -> bool:
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    try:
        source = inspect.getsource(view)
    except (OSError, TypeError):
        return False
    return (
        "require_POST" in source
        or 'request.method == "POST"' in source
        or "request.POST" in source
        or "request.FILES" in source
    )


def page_actions() -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for namespace, name, route, view in _walk(get_resolver().url_patterns):
        if route.startswith("api/") or not _takes_post(view):
            continue
        found.setdefault(namespace, set()).add(f"{namespace}:{name}")
    return found


@pytest.fixture(scope="module")
def operations(django_db_blocker) -> set[tuple[str, str]]:
    from fangkong.api import api

    with django_db_blocker.unblock():
        schema = api.get_openapi_schema()
    return {(method, path) for path, ops in schema["paths"].items() for method in ops}


def test_the_walk_finds_the_page_actions():
    found = page_actions()
    assert "testing:round_launch" in found["testing"]
    assert "labs:recalls_arrange" in found["labs"]
    assert "testing:rounds" not in found["testing"]  # a page that only reads


def test_every_page_action_of_a_checked_app_has_an_api_twin(operations):
    found = page_actions()
    unknown = set(found) - CHECKED - set(NOT_CHECKED)
    assert not unknown, f"new app(s) with page actions: put them in CHECKED: {unknown}"
    actions = {a for ns in CHECKED for a in found.get(ns, ())}
    missing = sorted(actions - set(TWINS) - set(GAPS))
    assert not missing, f"page actions with no API twin (add the operation and a row): {missing}"
    stale = sorted((set(TWINS) | set(GAPS)) - actions)
    assert not stale, f"rows for page actions that no longer exist: {stale}"
    assert not set(TWINS) & set(GAPS), "a gap closed: strike it from GAPS"


def test_every_named_twin_is_in_the_openapi_document(operations):
    absent = [(a, op) for a, ops in TWINS.items() for op in ops if op not in operations]
    assert not absent, absent


def test_every_twin_is_listed_in_the_api_docs(settings):
    from pathlib import Path

    docs = (Path(settings.PROJECT_DIR) / "docs" / "api.md").read_text(encoding="utf-8")
    unlisted = [
        f"{method.upper()} {path}"
        for ops in TWINS.values()
        for method, path in ops
        if f"`{method.upper()} {path.removeprefix('/api/v1')}" not in docs
    ]
    assert not unlisted, f"list them in docs/api.md: {unlisted}"
