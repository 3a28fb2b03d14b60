"""Hostile spreadsheets, made on the fly (never committed as binaries)."""

import io
import zipfile

from openpyxl import Workbook

ROSTER_HEADER = ["姓名", "身份证号", "楼栋", "房号"]


def xlsx(rows=(ROSTER_HEADER, ["张三", "1", "1", "101"]), *, sheet_extra: bytes = b"") -> bytes:
    """A real workbook of `rows`; `sheet_extra` is put into its sheet after <sheetData>."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(list(row))
    plain = io.BytesIO()
    workbook.save(plain)
    if not sheet_extra:
        return plain.getvalue()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"</sheetData>" + sheet_extra)
            target.writestr(item, data)
    return out.getvalue()


def merge_bomb(ranges: int = 300_000) -> bytes:
    """Hundreds of thousands of small merged ranges, each a different one (so the zip
    inflates no more than an ordinary sheet does: only the range count gives it away)."""
    cells = b"".join(b'<mergeCell ref="A%d:B%d"/>' % (i, i + 1) for i in range(3, ranges + 3))
    return xlsx(sheet_extra=b'<mergeCells count="%d">%s</mergeCells>' % (ranges, cells))


def repeated_merge_bomb(ranges: int = 400_000) -> bytes:
    """The same few merged ranges again and again: a ~100 KB file inflating a
    thousandfold (the shape of the 121 KB file that held a worker for 40 s)."""
    cells = b"".join(b'<mergeCell ref="C%d:D%d"/>' % (i % 7 + 3, i % 7 + 4) for i in range(ranges))
    return xlsx(sheet_extra=b'<mergeCells count="%d">%s</mergeCells>' % (ranges, cells))


def count_calls(monkeypatch, module, name: str) -> list:
    """Replace `module.name` by a wrapper that records each call; the list of calls."""
    calls = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls
