"""Word lists of the demo district: places, names, organs and where tenants come from.

Everything here is made up but shaped like the real thing: the district is 零陵区
(431102, Yongzhou, Hunan); the streets and towns are named after its own; compound names
follow how such places are named (old work-unit dormitories and 新村, newer 花园 and
家园); surnames follow their national frequency with Hunan's 欧阳 and a few other
two-character ones.
"""


def _words(text: str) -> list[str]:
    return text.split()


DISTRICT_CODE = "431102"
DISTRICT_NAME = "零陵区"

# The district's real streets and towns; more are numbered if a huge seed needs them.
STREETS = [
    "南津渡街道",
    "七里店街道",
    "徐家井街道",
    "朝阳街道",
    "石山脚街道",
    "接履桥街道",
    "水口山镇",
    "珠山镇",
    "黄田铺镇",
    "富家桥镇",
    "菱角塘镇",
    "邮亭圩镇",
    "石岩头镇",
    "大庆坪乡",
    "梳子铺乡",
]

# Community names are a word and 社区; villages of towns would be 村, kept simple here.
COMMUNITY_WORDS = _words(
    "东风 向阳 潇水 萍洲 柳子 愚溪 文庙 东山 西山 南门 北门 河西 太平 和平 新华 "
    "建设 解放 人民 胜利 红旗 朝阳 东门 五星 滨江 潇湘 萍阳 黄古 芝山 香零 "
    "高山 竹城 广场 文化 工业 育才 荷花 桂花 双井 周家 曹家 杨梓 "
    "诸葛 石门 凤凰 金牛 青山 碧云 长乐 平安 兴隆 园艺 学院 书院 古城 老街"
)

# Old compounds are work-unit dormitories and 新村; newer ones are gardens and homes.
OLD_COMPOUND_WORDS = _words(
    "粮食局 烟草公司 供销社 电业局 邮电局 水泥厂 纺织厂 卷烟厂 机械厂 化肥厂 "
    "农机厂 人民医院 第一中学 第二中学 运输公司 百货公司 药材公司 税务局 "
    "工商银行 农业银行 自来水公司 食品公司 酿酒厂 印刷厂 师范学校 卫生局"
)
OLD_COMPOUND_SUFFIXES = ("宿舍", "宿舍", "家属区", "新村", "小区")
NEW_COMPOUND_WORDS = _words(
    "碧水 翠湖 金色 阳光 锦绣 御景 滨江 书香 名都 盛世 华府 天鹅 湘江 "
    "潇湘 江南 东方 凤凰 紫荆 桂园 恒大 万达 国际 星城 龙城 梧桐 时代 "
    "新天地 明珠 南湖 山水 丽景 怡景 翰林 荷塘"
)
NEW_COMPOUND_SUFFIXES = ("花园", "家园", "小区", "雅苑", "公馆", "名城", "新城")

# Surnames with their share per thousand (national figures, rounded), 欧阳 raised a
# little for Hunan. Parts whose pinyin depends on the next character are left out, so
# a name's pinyin is the sum of its parts' (see names.py).
SURNAMES = {
    "王": 71,
    "李": 70,
    "张": 67,
    "刘": 54,
    "陈": 46,
    "杨": 31,
    "黄": 24,
    "赵": 23,
    "吴": 20,
    "周": 19,
    "徐": 15,
    "孙": 15,
    "马": 15,
    "朱": 14,
    "胡": 13,
    "郭": 12,
    "何": 12,
    "高": 11,
    "林": 11,
    "罗": 11,
    "郑": 10,
    "梁": 10,
    "谢": 9,
    "宋": 8,
    "唐": 8,
    "许": 7,
    "韩": 7,
    "冯": 7,
    "邓": 7,
    "曹": 7,
    "彭": 7,
    "肖": 6,
    "田": 6,
    "董": 6,
    "袁": 5,
    "潘": 5,
    "于": 5,
    "蒋": 5,
    "蔡": 5,
    "余": 5,
    "杜": 5,
    "叶": 5,
    "程": 5,
    "苏": 4,
    "魏": 4,
    "吕": 4,
    "丁": 4,
    "任": 4,
    "沈": 4,
    "姚": 4,
    "卢": 4,
    "姜": 4,
    "崔": 3,
    "钟": 3,
    "谭": 3,
    "陆": 3,
    "汪": 3,
    "范": 3,
    "金": 3,
    "石": 3,
    "廖": 3,
    "贾": 3,
    "夏": 3,
    "韦": 3,
    "付": 3,
    "方": 3,
    "白": 3,
    "邹": 3,
    "孟": 3,
    "熊": 3,
    "秦": 3,
    "邱": 3,
    "江": 3,
    "尹": 2,
    "薛": 2,
    "段": 2,
    "雷": 2,
    "侯": 2,
    "龙": 2,
    "史": 2,
    "陶": 2,
    "黎": 2,
    "贺": 2,
    "顾": 2,
    "毛": 2,
    "郝": 2,
    "龚": 2,
    "邵": 2,
    "万": 2,
    "钱": 2,
    "严": 2,
    "武": 2,
    "戴": 2,
    "莫": 2,
    "孔": 2,
    "向": 2,
    "汤": 2,
    "欧阳": 2,
    "司马": 1,
    "诸葛": 1,
    "上官": 1,
    "东方": 1,
    "皇甫": 1,
}

# Given-name characters by generation and sex: born before 1970, 1970-1999, since 2000.
GIVEN = {
    ("old", "M"): "建国 国庆 德明 志强 国华 永红 卫东 建华 文斌 德胜 光明 福生 "
    "长生 国平 正清 金山 和平 学文 振华 富贵 明 华 军 勇 忠 福 林 生 平 发",
    ("old", "F"): "秀英 桂英 玉兰 秀兰 凤英 淑珍 桂兰 秀珍 玉珍 冬梅 桂芝 玉梅 "
    "翠花 金凤 春花 爱华 素珍 彩霞 兰 英 珍 芳 梅 娥 秀 凤 菊 莲",
    ("mid", "M"): "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 波 "
    "志刚 海涛 小龙 建军 俊杰 晓东 文杰 永刚 国栋 宏伟 振宇",
    ("mid", "F"): "芳 娜 敏 静 丽 艳 娟 霞 燕 玲 婷 颖 慧 琳 "
    "晓燕 丽娟 海燕 春燕 小红 艳红 丹丹 婷婷 晓丽 雪梅 秀丽",
    ("new", "M"): "浩然 子轩 宇轩 梓豪 浩宇 俊熙 一鸣 子墨 睿 宸 轩 "
    "博文 明轩 浩 宇 天佑 思远 嘉懿 奕辰 沐阳 皓轩",
    ("new", "F"): "欣怡 梓涵 诗涵 雨桐 可欣 子涵 一诺 语嫣 梓萱 思琪 "
    "欣 悦 涵 萱 雨 诗雨 佳怡 紫萱 若曦 依诺 梦琪",
}

# Foreign residents: a name as the passport has it, a passport prefix, a language.
FOREIGNERS = [
    ("Kim Minjun", "M", "M", "韩语"),
    ("Park Jiyeon", "F", "M", "韩语"),
    ("Tanaka Yuki", "F", "TK", "日语"),
    ("Sato Hiroshi", "M", "TK", "日语"),
    ("Nguyen Van An", "M", "C", "越南语"),
    ("Tran Thi Mai", "F", "C", "越南语"),
    ("John Smith", "M", "GB", "英语"),
    ("Emily Brown", "F", "US", "英语"),
    ("Ivan Petrov", "M", "RU", "俄语"),
    ("Anna Ivanova", "F", "RU", "俄语"),
    ("Somchai Suk", "M", "AA", "泰语"),
    ("Ahmed Khan", "M", "PK", "乌尔都语"),
]

# Where people's ID numbers say they come from. Permanent residents are mostly from the
# district itself; tenants from the rest of Yongzhou, Hunan and the provinces around.
HOME_REGIONS = {"431102": 90, "431103": 4, "431122": 2, "431126": 2, "431124": 2}
TENANT_REGIONS = {
    "431103": 10,  # 冷水滩区
    "431122": 7,  # 东安县
    "431123": 4,  # 双牌县
    "431124": 6,  # 道县
    "431126": 6,  # 宁远县
    "431181": 6,  # 祁阳市
    "430102": 4,  # 长沙 芙蓉区
    "430105": 3,  # 长沙 开福区
    "430405": 3,  # 衡阳 珠晖区
    "430421": 3,  # 衡阳县
    "431002": 3,  # 郴州 北湖区
    "430602": 2,  # 岳阳 岳阳楼区
    "430502": 2,  # 邵阳 双清区
    "440106": 5,  # 广州 天河区
    "440304": 4,  # 深圳 福田区
    "440305": 3,  # 深圳 南山区
    "441900": 2,  # 东莞
    "450305": 4,  # 桂林 七星区
    "450102": 2,  # 南宁 兴宁区
    "360102": 2,  # 南昌 东湖区
    "420106": 2,  # 武汉 武昌区
    "510104": 2,  # 成都 锦江区
    "520102": 2,  # 贵阳 南明区
    "500103": 2,  # 重庆 渝中区
}

MOBILE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 173 175 176 177 180 181 182 183 185 186 187 188 189 191 198 199"
)
LANDLINE_AREA = "0746"  # Yongzhou

TREATMENTS = ["血液透析（每周三次）", "腹膜透析", "肿瘤化疗", "肿瘤放疗", "精神科定期用药"]

# Government organs that sent cadres down to the communities (下沉干部).
ORGANS = [
    ("health", "区卫健局"),
    ("education", "区教育局"),
    ("finance", "区财政局"),
    ("housing", "区住建局"),
]
