"""Policies over JSON: every declared policy, its value in force, its history, and a new
version (the command centre), through the same services as the policy pages."""

import datetime as dt
from typing import Any

from ninja import Field, Router, Schema, Status

from . import policies, selectors
from .api import aware, errors, require
from .errors import DomainError, NotFound
from .permissions import can_read_policies
from .services import policy_set

router = Router(tags=["policies"])


class PolicyVersionOut(Schema):
    version: int
    area_code: str = Field(description="the subtree it applies to; empty: everywhere")
    value: dict[str, Any]
    effective_from: dt.datetime | None = Field(description="null for version 0, the default")
    set_by: str = ""
    reason: str = ""


class PolicyOut(Schema):
    key: str
    description: str
    value_schema: dict[str, Any] = Field(description="JSON Schema of the value")
    in_force: PolicyVersionOut = Field(description="the version in force everywhere now")
    default: dict[str, Any]


class PolicyDetailOut(PolicyOut):
    history: list[PolicyVersionOut] = Field(description="versions set, newest first")


class PolicySetIn(Schema):
    value: dict[str, Any]
    reason: str = Field(max_length=2000)
    effective_from: dt.datetime | None = Field(
        None, description="default now; never in the past; no offset = local"
    )
    area_code: str = Field("", pattern=r"^(\d{6,18})?$", description="empty: everywhere")


def _declared(key: str) -> policies.Policy:
    try:
        return policies.get(key)
    except DomainError:
        raise NotFound("没有该策略", "no such policy", field="key") from None


def _policy_out(declared: policies.Policy) -> dict:
    rule = declared.at()
    return {
        "key": declared.key,
        "description": declared.description,
        "value_schema": declared.schema.model_json_schema(),
        "in_force": {
            "version": rule.version,
            "area_code": rule.area_code,
            "value": rule.value.model_dump(mode="json"),
            "effective_from": rule.effective_from,
        },
        "default": declared.default.model_dump(mode="json"),
    }


def _version_out(row) -> dict:
    return {
        "version": row.version,
        "area_code": row.area_code,
        "value": row.value,
        "effective_from": row.effective_from,
        "set_by": row.set_by_name,
        "reason": row.reason,
    }


@router.get("/", response={200: list[PolicyOut], **errors(403)})
def policy_list(request):
    """Every declared policy with the version in force everywhere now."""
    require(can_read_policies(request.auth))
    return [_policy_out(p) for p in policies.all_policies()]


@router.get("/{key}", response={200: PolicyDetailOut, **errors(403, 404)})
def policy_detail(request, key: str):
    """One policy, its value in force and every version set (newest first)."""
    require(can_read_policies(request.auth))
    declared = _declared(key)
    history = selectors.policy_history(key)[:100]
    return {**_policy_out(declared), "history": [_version_out(v) for v in history]}


@router.post("/{key}", response={201: PolicyVersionOut, **errors(400, 403, 404, 409, 422)})
def policy_version_set(request, key: str, payload: PolicySetIn):
    """Set a new version of a policy (command centre), from `effective_from` on, in
    `area_code`'s subtree; audited as `policy.set`."""
    _declared(key)
    row = policy_set(
        actor=request.auth,
        key=key,
        value=payload.value,
        reason=payload.reason,
        effective_from=aware(payload.effective_from),
        area_code=payload.area_code,
    )
    return Status(201, _version_out(row))
