"""The words of a roster: header synonyms, and what the cells of each column may say.

Every lookup goes through `key()`: full-width to half-width, white space removed, lower
case, so "身份证号码（必填）", "身份证 号码" and "ＩＤ" find their column.
"""

import enum
import functools
import re
import unicodedata

from fangkong.core.idnumbers import IdType
from fangkong.core.text import clean

from ..models import Residency, Tag


class Col(enum.StrEnum):
    NAME = "name"
    ID_TYPE = "id_type"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    COMPOUND = "compound"
    BUILDING = "building"
    UNIT = "unit"
    ROOM = "room"
    RESIDENCY = "residency"
    TAGS = "tags"
    LANGUAGE = "language"
    TREATMENT = "treatment"
    NOTE = "note"


# How a column is named in the reasons of a rejected row.
COL_NAMES = {
    Col.NAME: ("姓名", "name"),
    Col.ID_TYPE: ("证件类型", "document type"),
    Col.ID_NUMBER: ("证件号码", "ID number"),
    Col.PHONE: ("联系电话", "phone"),
    Col.COMPOUND: ("小区", "compound"),
    Col.BUILDING: ("楼栋", "building"),
    Col.UNIT: ("单元", "unit"),
    Col.ROOM: ("房号", "room"),
    Col.RESIDENCY: ("居住类型", "residency"),
    Col.TAGS: ("重点人群", "tags"),
    Col.LANGUAGE: ("语言", "language"),
    Col.TREATMENT: ("定期治疗项目", "treatment"),
    Col.NOTE: ("备注", "note"),
}

_SYNONYMS = {
    Col.NAME: "姓名 名字 居民姓名 人员姓名 成员姓名 住户姓名 name",
    Col.ID_TYPE: "证件类型 证件种类 证件名称 idtype documenttype",
    Col.ID_NUMBER: (
        "身份证号 身份证号码 证件号码 证件号 公民身份号码 身份证 身份证件号码 身份号码 证件编号 "
        "身份证编号 居民身份证号码 id idnumber idno idcard"
    ),
    Col.PHONE: (
        "联系电话 手机号 手机号码 电话 电话号码 联系方式 手机 移动电话 联系号码 本人电话 本人手机 "
        "phone mobile tel telephone"
    ),
    Col.COMPOUND: "小区 小区名称 所在小区 小区名 自然村 小区/自然村 院落 compound",
    Col.BUILDING: "楼栋 楼号 楼 栋 楼栋号 幢 栋号 幢号 楼幢 楼宇 building",
    Col.UNIT: "单元 单元号 unit",
    Col.ROOM: "房号 门牌号 室 房间号 房屋号 门牌 房间 户号 室号 门牌号码 room",
    Col.RESIDENCY: (
        "居住类型 居住性质 人口类型 户籍类型 户籍性质 人口性质 人员性质 居住状态 居住情况 "
        "常住/流动 户籍/流动 residency"
    ),
    Col.TAGS: "重点人群 人员类别 标签 特殊人群 重点人员 重点人群类别 人群类别 特殊情况 tags",
    Col.LANGUAGE: "语言 使用语言 沟通语言 语种 language",
    Col.TREATMENT: "治疗项目 定期治疗项目 治疗内容 治疗情况 treatment",
    Col.NOTE: "备注 说明 note notes remark remarks",
}

# Names of the tags, as a cell of a tag column or the header of a yes/no column says them.
_TAG_WORDS = {
    Tag.LIVING_ALONE: "独居 独居老人 孤寡老人 孤老 独居人员 livingalone",
    Tag.DISABLED: "残疾 残疾人 残障 残疾人员 持证残疾人 肢体残疾 视力残疾 听力残疾 disabled",
    Tag.BEDRIDDEN: "卧床 长期卧床 失能 失能老人 半失能 瘫痪 卧床老人 bedridden",
    Tag.REGULAR_TREATMENT: (
        "透析/定期治疗 透析 定期治疗 血透 血液透析 腹透 腹膜透析 透析患者 化疗 放疗 "
        "regulartreatment dialysis"
    ),
    Tag.PREGNANT: "孕妇 孕产妇 孕期 怀孕 pregnant",
    Tag.INFANT: "婴幼儿 婴儿 新生儿 infant",
    Tag.NO_SMARTPHONE: "无智能手机 无手机 老年机 无智能机 nosmartphone",
    Tag.FOREIGN: "外籍 外籍人员 外国人 外籍人士 境外人员 foreign",
    Tag.STRANDED_STUDENT: "滞留学生 滞留大学生 strandedstudent",
}
# The name the export writes for each tag (and the first one the import accepts).
TAG_NAMES = {tag: words.split()[0] for tag, words in _TAG_WORDS.items()}

# Header names a roster often has that the import does not use; they help find the header.
_KNOWN_UNUSED = (
    "序号 编号 性别 出生日期 出生年月 年龄 民族 与户主关系 户主 户主姓名 工作单位 籍贯 户籍地址 "
    "现住址 住址 家庭住址 地址 社区 网格 网格员 楼栋长 核酸检测 疫苗接种 sex birthdate age"
)

_BRACKETED = re.compile(r"[(\[【].*?[)\]】]")
_MARKS = re.compile(r"[*:：]")
_ASCII_LETTERS = re.compile(r"[a-z]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@functools.lru_cache(maxsize=8192, typed=True)
def key(value: object) -> str:
    """A header or a word as looked up: NFKC, no spaces, lower case, no (notes) or marks."""
    text = _BRACKETED.sub("", clean(value).lower())
    return _MARKS.sub("", text)


def _table(words_by: dict) -> dict[str, object]:
    return {key(word): target for target, words in words_by.items() for word in words.split()}


COLUMN_BY_KEY: dict[str, Col] = _table(_SYNONYMS)
TAG_BY_KEY: dict[str, Tag] = _table(_TAG_WORDS)
UNUSED_KEYS = frozenset(key(w) for w in _KNOWN_UNUSED.split())


def header_candidates(value: object) -> list[str]:
    """Keys to try for a header cell; "姓名 Name" is tried as itself, "姓名" and "name"."""
    k = key(value)
    if not k:
        return []
    tries = [k]
    chinese, english = _ASCII_LETTERS.sub("", k), _NON_ASCII.sub("", k)
    if chinese and english:
        tries += [chinese, english]
    return tries


def column_of(value: object) -> Col | Tag | None:
    """What a header cell names: a column, a yes/no tag column, or nothing we use."""
    for k in header_candidates(value):
        if k in COLUMN_BY_KEY:
            return COLUMN_BY_KEY[k]
        tag = TAG_BY_KEY.get(re.sub(r"^是否为?", "", k))
        if tag is not None:
            return tag
    return None


def is_known_header(value: object) -> bool:
    return any(k in UNUSED_KEYS for k in header_candidates(value))


# Values ---------------------------------------------------------------------------------

_YES = frozenset(["是", "y", "yes", "√", "✓", "✔", "1", "true", "t", "有", "对", "○", "●"])
_NO = frozenset(["否", "n", "no", "0", "false", "f", "无", "没有", "×", "✗", "✘", "-", "—", "/"])


def yes_no(value: object) -> bool | None:
    """True for 是/Y/√/1, False for blank/否/N/0, None for anything else."""
    k = key(value)
    if not k or k in _NO:
        return False
    if k in _YES:
        return True
    return None


_TAG_SEPARATORS = re.compile(r"[,;、/|\n]+")
_AGE_WORDS = re.compile(r"^(\d+岁以上(老人)?|高龄(老人)?|老年人|老人)$")


def tags_of(value: object) -> tuple[int, list[str]]:
    """The tag bits a tag cell names ("独居、卧床"), and the words it does not know.

    Age groups (70岁以上, 高龄) come from the birth date, so they are passed over.
    """
    bits, unknown = 0, []
    text = unicodedata.normalize("NFKC", str(value or ""))
    for piece in _TAG_SEPARATORS.split(text):
        # "独居 卧床" is two words; "living alone" is one.
        words = [piece] if key(piece) in TAG_BY_KEY else piece.split()
        for word in words:
            k = key(word)
            if not k or k in _NO or _AGE_WORDS.match(k):
                continue
            tag = TAG_BY_KEY.get(k)
            if tag is None:
                unknown.append(word.strip())
            else:
                bits |= tag
    return bits, unknown


_PERMANENT = (
    "户籍 常住 本地 户籍人口 常住人口 本地人口 户籍居民 常住居民 本地户籍 本地居民 业主 自住"
)
_TENANT = (
    "租户 流动 暂住 外来 流动人口 暂住人口 外来人口 租住 租房 出租 承租 租客 非户籍 非本地 外地 "
    "tenant temporary tenant/temporary"
)
RESIDENCY_BY_KEY = {
    **{key(w): Residency.PERMANENT for w in _PERMANENT.split()},
    **{key(w): Residency.TENANT for w in _TENANT.split()},
    "permanent": Residency.PERMANENT,
    "permanentresident": Residency.PERMANENT,
}
# The word the export writes for each residency.
RESIDENCY_NAMES = {Residency.PERMANENT: "户籍", Residency.TENANT: "租户"}


def residency_of(value: object) -> str | None:
    """Residency named by a cell; blank means permanent; None if the word is unknown."""
    k = key(value)
    if not k:
        return Residency.PERMANENT
    return RESIDENCY_BY_KEY.get(k)


ID_TYPE_NAMES = {
    IdType.MAINLAND: "身份证",
    IdType.PASSPORT: "护照",
    IdType.HK_MACAO: "港澳通行证",
    IdType.TAIWAN: "台湾通行证",
}


def id_type_of(value: object) -> str | None:
    """The document type a cell names; blank means a mainland ID card; None if unknown."""
    k = key(value)
    if not k:
        return IdType.MAINLAND
    if k.upper() in IdType.values:
        return IdType(k.upper())
    if "身份证" in k or k in ("居民身份证", "idcard", "residentidcard"):
        return IdType.MAINLAND
    if "护照" in k or "passport" in k:
        return IdType.PASSPORT
    if "港" in k or "澳" in k or "回乡" in k or "hongkong" in k or "macao" in k:
        return IdType.HK_MACAO
    if "台" in k or "taiwan" in k:
        return IdType.TAIWAN
    return None


# Addresses ------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(\d+|[零〇一二两三四五六七八九十百]+)"
_BUILDING = re.compile(rf"^第?{_NUMBER}(?:号楼|号栋|号幢|号|栋|幢|楼|座|#楼|#)?$")
_UNIT = re.compile(rf"^第?{_NUMBER}(?:单元)?$")
_ROOM_SUFFIX = re.compile(r"(室|号|房)$")


def chinese_number(text: str) -> int | None:
    """'12', '十二', '二十三', '一百零五' → int; None if it is not such a number."""
    if text.isascii() and text.isdigit():
        return int(text)
    total = current = 0
    last_was_digit = False
    for ch in text:
        if ch in _CN_DIGITS:
            if last_was_digit:
                return None
            current, last_was_digit = _CN_DIGITS[ch], True
        elif ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current, last_was_digit = 0, False
        else:
            return None
    return total + current


def _numbered(value: object, pattern: re.Pattern, label: str) -> str:
    """`label` with the number `pattern` finds (digits or Chinese numerals), else the text."""
    text = clean(value)
    match = pattern.match(text)
    number = chinese_number(match.group(1)) if match else None
    return text if number is None else label.format(number)


@functools.lru_cache(maxsize=8192, typed=True)
def building_label(value: object) -> str:
    """'3栋', '3幢', '三号楼', '3#', '3' → '3号楼'; other labels ('A座') as written."""
    return _numbered(value, _BUILDING, "{}号楼")


@functools.lru_cache(maxsize=8192, typed=True)
def unit_label(value: object) -> str:
    """'1单元', '一单元', '01' → '1'; other labels as written."""
    return _numbered(value, _UNIT, "{}")


@functools.lru_cache(maxsize=8192, typed=True)
def room_label(value: object) -> str:
    """'101室', '101号', ' 101 ' → '101'."""
    text = clean(value)
    stripped = _ROOM_SUFFIX.sub("", text)
    return stripped or text


def compound_keys(value: object) -> list[str]:
    """Keys a compound's name is matched by: '幸福小区' also as '幸福'."""
    k = key(value)
    return [k, k.removesuffix("小区")] if k.endswith("小区") and len(k) > 2 else [k]
