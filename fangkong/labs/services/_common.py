"""What the lab services share: the outcome of an import, a tube as storing reads it,
limits and messages.
"""

from dataclasses import dataclass, field

from ..files import ResultRow, RowError

# PostgreSQL types of the columns `_insert_results` writes, in its order.
RESULT_TYPES = [
    "bigint",
    "bigint",
    "bigint",
    "text",
    "integer",
    "integer",
    "text",
    "timestamptz",
    "bigint",
    "text",
    "timestamptz",
    "integer",
    "bigint",
    "integer",
]
# Bad rows kept on an upload for the lab to read; the counts cover all of them.
MAX_ERRORS_KEPT = 1000
# Positive tubes named in an upload's audit record.
MAX_AUDITED_TUBES = 1000
INTERNAL_ERROR = (
    "存储中断（系统内部错误），已存入的结果保留；请重新上传该文件：已存的结果不会重复",
    "storing stopped on an internal error (results already stored are kept); upload the "
    "file again: nothing already stored is duplicated",
)
STOPPED = (
    "存储中断（后台进程停止），请重新上传该文件：已存的结果不会重复",
    "storing stopped (its background worker died); upload the file again: nothing "
    "already stored is duplicated",
)


def lab_names(actor) -> frozenset[str]:
    """The names a file may give in its lab column: the account's organisation or login."""
    return frozenset(n for n in (actor.display_name, actor.username) if n)


@dataclass
class ImportOutcome:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    recalls: int = 0
    closed: int = 0
    cases: int = 0
    errors: list[RowError] = field(default_factory=list)
    positive_tubes: list[str] = field(default_factory=list)

    def refuse(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)

    def counts(self) -> dict[str, int]:
        names = ("rows", "created", "unchanged", "corrected", "rejected", "recalls", "closed")
        return {n: getattr(self, n) for n in (*names, "cases")}


@dataclass(slots=True)
class _Tube:
    id: int
    barcode: str
    round_id: int
    site_id: int | None
    area_code: str
    pool_size: int
    sample_count: int
    sealed: float | None  # when sealed, seconds since 1970
    old: str | None  # the result already stored, if any


def _unknown(row: ResultRow) -> RowError:
    return RowError(
        row.row,
        "tube",
        "unknown_tube",
        f"试管条码{row.barcode}不存在或不在本机构的辖区内",
        f"no tube {row.barcode} in this lab's jurisdiction",
    )
