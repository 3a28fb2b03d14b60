"""Time `fangkong import-roster` on a realistic 100,000-row roster, on PostgreSQL.

    .venv/bin/python bench/import_roster.py [--rows 100000] [--bad-share 0.03]
        [--database-url postgres://postgres@127.0.0.1:5432/fk_roster]

1. Drops and re-creates the database (default fk_roster), migrates it, and makes one
   community of 8 compounds (no buildings, households or residents yet).
2. Writes a roster as community workers keep them, in bench/out/: an .xlsx as Excel
   writes it (shared strings, a title row merged across, each household's address
   merged down its members' rows, building labels spelt "3栋", "3号楼" or "3幢") and the
   same roster as a GBK .csv (Excel's "CSV" on a Chinese Windows). About 3% of rows are
   bad: IDs Excel turned into numbers, truncated IDs, wrong check characters, the same
   person twice, empty names, short phones, unknown compounds.
3. For each file: imports it as a child process (`fangkong import-roster --json`, as
   an operator would), checks the counts, then imports it again (all unchanged).
   Between the two files the residents, households and buildings are wiped.

Prints seconds, rows a second, the CPU seconds of the import process and of its
PostgreSQL backend (so that a figure taken on a busy machine can be read), and the
import process's peak memory. Target: the first import of 100,000 rows in under 60 s.
"""

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import threading
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import psycopg
from _common import OUT, ROOT, fangkong, machine
from seed import recreate

TARGET_SECONDS = 60
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_roster"
DISTRICT = "439900"
COMMUNITY = f"{DISTRICT}001001"
COMPOUNDS = [
    "幸福小区",
    "和平小区",
    "阳光花园",
    "翠竹苑",
    "建设新村",
    "滨江小区",
    "东方明珠",
    "金桂园",
]
HEADER = [
    "序号",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "身份证号码",
    "联系电话",
    "居住类型",
    "重点人群",
    "备注",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红梅玉鹏飞婷欣怡浩宇子涵梓萱一诺俊杰"
)
TAGS = ["独居", "残疾", "卧床", "透析", "孕妇", "婴幼儿", "无智能手机", "外籍", "滞留学生"]
REGIONS = ["431102", "431103", "431121", "430102", "430105", "430111"]
BAD_KINDS = ["excel_number", "truncated", "check", "duplicate", "name", "phone", "compound"]


# The roster --------------------------------------------------------------------------


def make_rows(n: int, bad_share: float, rng: random.Random) -> tuple[list[list], list, int]:
    """Rows (cells as a person types them), the merged address ranges, and how many are bad."""
    from fangkong.core.idnumbers import check_char, make_mainland

    used: set[str] = set()
    good_ids: list[str] = []

    def new_id() -> str:
        while True:
            birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33000))
            number = make_mainland(rng.choice(REGIONS), birth, rng.randrange(1000))
            if number not in used:
                used.add(number)
                return number

    def person(address: list, head: bool) -> list:
        number = new_id()
        good_ids.append(number)
        if rng.random() < 0.02:
            number = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        if number.endswith("X") and rng.random() < 0.5:
            number = number[:-1] + "x"
        phone = "1" + rng.choice("3589") + "".join(rng.choices("0123456789", k=9))
        phone = rng.choice(
            [phone, f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", ""] if head else ["", phone]
        )
        tags = "、".join(rng.sample(TAGS, rng.choice([1, 1, 2]))) if rng.random() < 0.08 else ""
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice([1, 2, 2])))
        return [
            *address,
            name,
            rng.choice("男女"),
            number,
            phone,
            rng.choice(["户籍"] * 4 + ["租户"]),
            tags,
            "",
        ]

    def bad(address: list) -> list:
        kind = rng.choice(BAD_KINDS)
        row = person(address, True)
        number = good_ids.pop()
        if kind == "excel_number":
            row[6] = float(number[:15] + "000")  # Excel keeps 15 digits, as a number
        elif kind == "truncated":
            while check_char(number[:15] + "00") == "0":  # a truncation that checks out
                number = new_id()
            row[6] = number[:15] + "000"
        elif kind == "check":
            row[6] = number[:17] + ("0" if number[17] != "0" else "1")
        elif kind == "duplicate" and good_ids:
            row[6] = rng.choice(good_ids[-500:])
        elif kind == "name":
            row[4] = ""
        elif kind == "phone":
            row[7] = "1380013800"
        else:
            row[0] = "不存在小区"
        return row

    rows, merges, bad_rows = [], [], 0
    buildings = {c: rng.randrange(12, 30) for c in COMPOUNDS}
    first = 3  # the title row, the header row, then people
    while len(rows) < n:
        compound = rng.choice(COMPOUNDS)
        number = rng.randrange(1, buildings[compound] + 1)
        building = rng.choice(["{}栋", "{}号楼", "{}幢"]).format(number)
        address = [
            compound,
            building,
            str(rng.randrange(1, 7)),
            f"{rng.randrange(1, 19)}{rng.randrange(1, 5):02d}",
        ]
        if rng.random() < bad_share * 2.2:  # households of bad rows are single people
            rows.append(bad(address))
            bad_rows += 1
            continue
        size = min(rng.choices([1, 2, 3, 4, 5], weights=[20, 30, 25, 17, 8])[0], n - len(rows))
        start = first + len(rows)
        rows += [person(address, i == 0) for i in range(size)]
        if size > 1:
            merges += [f"{col}{start}:{col}{start + size - 1}" for col in "BCDE"]
    return rows, merges, bad_rows


def column(n: int) -> str:
    name = ""
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def write_xlsx(path: Path, rows: list[list], merges: list[str]) -> None:
    """An .xlsx laid out as Excel writes one: shared strings, a dimension, merged cells
    (whose cells below the first hold nothing)."""
    strings: dict[str, int] = {}
    title = "东风社区居民花名册（2022年4月）"
    table = [[title], HEADER, *[[i + 1, *row] for i, row in enumerate(rows)]]
    hidden = set()
    for ref in merges:
        top, bottom = ref.split(":")
        col = ord(top[0]) - 64
        hidden |= {(r, col) for r in range(int(top[1:]) + 1, int(bottom[1:]) + 1)}
    sheet_rows = []
    for r, values in enumerate(table, start=1):
        cells = []
        for c, value in enumerate(values, start=1):
            if value is None or value == "" or (r, c) in hidden:
                continue
            ref = f"{column(c)}{r}"
            if isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    merged = [f"A1:{column(len(HEADER))}1", *merges]
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {ns} {rel}>'
        f'<dimension ref="A1:{column(len(HEADER))}{len(table)}"/><sheetData>{"".join(sheet_rows)}'
        f'</sheetData><mergeCells count="{len(merged)}">'
        + "".join(f'<mergeCell ref="{m}"/>' for m in merged)
        + "</mergeCells></worksheet>"
    )
    shared = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {ns} count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        + "</sst>"
    )
    package = "http://schemas.openxmlformats.org/package/2006"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{package}/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{main}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{main}.sharedStrings+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/relationships">'
            f'<Relationship Id="rId1" Type="{office}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} {rel}><sheets>'
            '<sheet name="花名册" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}/relationships">'
            f'<Relationship Id="rId1" Type="{office}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{office}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", shared)


def write_csv(path: Path, rows: list[list]) -> None:
    """The same roster as Excel saves a CSV on a Chinese Windows: GBK, numbers as Excel
    shows them (4.31102E+17). Every row has its address, as if unmerged before saving."""
    with open(path, "w", encoding="gbk", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["东风社区居民花名册（2022年4月）"])
        writer.writerow(HEADER)
        for i, row in enumerate(rows, start=1):
            cells = [f"{v:.5E}" if isinstance(v, float) else (v or "") for v in row]
            writer.writerow([i, *cells])


# The runs ------------------------------------------------------------------------------


def setup_tree() -> None:
    from fangkong.areas.models import Area, Level

    district = Area.objects.create(code=DISTRICT, name="基准区", level=Level.DISTRICT)
    street = Area.objects.create(
        code=f"{DISTRICT}001", name="基准街道", level=Level.STREET, parent=district
    )
    community = Area.objects.create(
        code=COMMUNITY, name="东风社区", level=Level.COMMUNITY, parent=street
    )
    for i, name in enumerate(COMPOUNDS, start=1):
        Area.objects.create(
            code=f"{COMMUNITY}{i:03d}", name=name, level=Level.COMPOUND, parent=community
        )


def wipe() -> None:
    """Residents, households, buildings and imports of the benchmark community."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "people_importrejection",
            "people_importupload",
            "people_importjob",
            "people_resident",
            "areas_household",
            "areas_buildingstats",
        ):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DELETE FROM areas_area WHERE level = 5")
        cursor.execute("VACUUM ANALYZE")


class ServerCpu:
    """CPU seconds of the PostgreSQL backends of connections named `name`, sampled by a thread
    (read from /proc, so the server must run on this machine)."""

    def __init__(self, url: str, name: str):
        self.url, self.name, self.seen = url, name, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.25):
                query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                for (pid,) in conn.execute(query, [self.name]).fetchall():
                    with contextlib.suppress(OSError):
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                        ticks = int(fields[11]) + int(fields[12])
                        self.seen[pid] = ticks / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def import_once(path: Path, url: str, log) -> tuple[dict, float, float, float]:
    """Counts, wall seconds, the import process's CPU seconds and its backend's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    os.environ["PGAPPNAME"] = "roster-bench"  # the child's connection, for ServerCpu
    try:
        with ServerCpu(url, "roster-bench") as server:
            done = fangkong(
                "import-roster",
                str(path),
                "--area",
                COMMUNITY,
                "--json",
                url=url,
                stdout=-1,
                stderr=log,
                text=True,
            )
    finally:
        del os.environ["PGAPPNAME"]
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    return counts, seconds, cpu, server.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-share", type=float, default=0.03)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    recreate(args.database_url)
    fangkong("migrate", "-v", "0", url=args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    setup_tree()

    rows, merges, bad = make_rows(args.rows, args.bad_share, random.Random(args.seed))
    xlsx_path, csv_path = OUT / f"roster-{args.rows}.xlsx", OUT / f"roster-{args.rows}.csv"
    write_xlsx(xlsx_path, rows, merges)
    write_csv(csv_path, rows)
    size = {p.suffix: p.stat().st_size / 2**20 for p in (xlsx_path, csv_path)}
    print(f"machine: {machine()}")
    print(
        f"roster: {len(rows):,} rows, {bad:,} bad, {len(merges):,} merged ranges; "
        f"xlsx {size['.xlsx']:.1f} MiB, csv {size['.csv']:.1f} MiB"
    )

    expected = {"created": len(rows) - bad, "updated": 0, "unchanged": 0, "rejected": bad}
    again = {"created": 0, "updated": 0, "unchanged": len(rows) - bad, "rejected": bad}
    results = []
    with open(OUT / "import-roster-progress.log", "w") as log:
        for path in (xlsx_path, csv_path):
            wipe()
            for label, want in (("first import", expected), ("re-import", again)):
                counts, seconds, cpu, server = import_once(path, args.database_url, log)
                ok = "ok" if counts == want else f"UNEXPECTED, wanted {want}"
                results.append((path.suffix, label, seconds))
                print(
                    f"{path.suffix[1:]:4} {label:12} {seconds:6.1f} s  "
                    f"{len(rows) / seconds:7,.0f} rows/s  CPU: import {cpu:5.1f} s, "
                    f"PostgreSQL {server:5.1f} s  {counts} {ok}"
                )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    first = max(s for suffix, label, s in results if label == "first import")
    verdict = "met" if first < TARGET_SECONDS or args.rows < 100_000 else "MISSED"
    print(f"after: {machine()}")
    print(
        f"peak RSS of an import process {peak_mb:.0f} MiB; target {TARGET_SECONDS} s for the first import of 100,000 rows: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
