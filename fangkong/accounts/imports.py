"""Accounts in bulk from a spreadsheet: one account a row, each made by `user_create`
(so each is checked and audited as one made on the page), a bad row named with its
row, column and reason in both languages, the good rows kept; importing the same file
again changes nothing.

    用户名 (username)  姓名 (name)  角色 (role)  辖区代码 (areas)           密码 (password, optional)
    dongfeng.wang     王网格        网格员        431102001001001;431102…

The role is its Chinese or English name or its code (grid); several area codes are
separated by ; , 、 or spaces. A row without a password gets a random one, shown once
in the answer for the administrator to hand over.
"""

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction
from django.utils import translation

from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import authorize
from fangkong.core.roles import Role
from fangkong.core.spreadsheets import RowError, open_table

from . import selectors, services
from .models import User
from .permissions import can_manage_users

HEADERS = {
    "username": {"用户名", "账号", "username", "user name", "login"},
    "display_name": {"姓名", "名称", "name", "display name", "display_name"},
    "role": {"角色", "role"},
    "areas": {"辖区", "辖区代码", "区域代码", "areas", "area", "area codes"},
    "password": {"密码", "初始密码", "password"},
}
_SPLIT = re.compile(r"[;,，；、\s]+")


@dataclass
class Made:
    row: int
    username: str
    password: str  # a generated one, shown once; empty when the file gave one


@dataclass
class UserImportReport:
    created: list[Made] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
        }


def _role_names() -> dict[str, str]:
    names = {}
    for role in Role:
        names[role.value] = role.value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names[str(role.label).lower()] = role.value
    return names


def read_users(upload: BinaryIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(row, {"username", "display_name", "role", "areas", "password"}) for every row."""
    with open_table(upload) as table:
        columns = {}
        for key, names in HEADERS.items():
            for header in table.header:
                if header.strip().lower() in names:
                    columns[key] = header
                    break
        missing = [k for k in ("username", "role", "areas") if k not in columns]
        if missing:
            raise DomainError(
                "找不到表头：第一行需要“用户名”“角色”“辖区代码”三列",
                'no header found: the first row needs "username", "role" and "areas" columns',
                field="file",
            )
        for record in table.records:
            yield record.row, {k: record.values[h].strip() for k, h in columns.items()}


def _new_password() -> str:
    return "Fk-" + secrets.token_urlsafe(9)


@transaction.atomic
def users_import(*, actor, rows: Iterable[tuple[int, dict[str, str]]]) -> UserImportReport:
    """Make the accounts a list names; see the module's docstring."""
    authorize(actor, can_manage_users)
    report = UserImportReport()
    roles = _role_names()
    for number, row in rows:
        username = row.get("username", "").strip()
        role = roles.get(row.get("role", "").strip().lower())
        codes = [c for c in _SPLIT.split(row.get("areas", "")) if c]
        try:
            if role is None:
                raise DomainError(
                    f"未知角色“{row.get('role', '')}”",
                    f"unknown role {row.get('role', '')!r}",
                    field="role",
                )
            areas = selectors.areas_by_code(actor, codes)
            existing = User.objects.filter(username=username).first() if username else None
            if existing is not None:
                held = sorted(existing.areas.values_list("code", flat=True))
                if existing.role == role and held == sorted(codes):
                    report.unchanged += 1
                    continue
                raise DomainError("该用户名已被使用", "this user name is taken", field="username")
            given = row.get("password", "")
            password = given or _new_password()
            with transaction.atomic():
                services.user_create(
                    actor=actor,
                    username=username,
                    password=password,
                    role=role,
                    areas=areas,
                    display_name=row.get("display_name", ""),
                )
            report.created.append(Made(number, username, "" if given else password))
        except DomainError as exc:
            report.errors.append(RowError(number, exc.field, exc.code, exc.zh, exc.en))
    audit_record(actor=actor, event="accounts.user_import", detail=report.counts())
    return report
