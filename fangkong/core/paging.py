"""Offset paging without COUNT(*): a scope may hold millions of rows."""

from dataclasses import dataclass


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def paginate(queryset, page: int, size: int = 20) -> Page:
    """One page of `queryset`, fetching one row more to learn whether another follows."""
    page = max(1, page)
    rows = list(queryset[(page - 1) * size : page * size + 1])
    return Page(rows[:size], page, len(rows) > size)
