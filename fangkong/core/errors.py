"""Domain errors raised by services; views and the API map them to responses."""


class DomainError(Exception):
    """A rule of the domain said no. Carries a bilingual message."""

    code = "invalid"

    def __init__(self, zh: str, en: str, *, field: str = ""):
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.field = field

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    """Too many requests of one kind from one user; try again after `retry_after` seconds."""

    code = "rate_limited"

    def __init__(self, zh: str, en: str, *, retry_after: int, field: str = ""):
        super().__init__(zh, en, field=field)
        self.retry_after = max(1, int(retry_after))
