"""PDF text in Chinese that prints the same everywhere: the project ships Noto Sans SC
(SIL Open Font License, fangkong/core/fonts/OFL.txt) and embeds the glyphs a document
uses, so no reader needs a Chinese font of its own."""

from functools import cache
from pathlib import Path

FONT = "NotoSansSC"
FONT_FILE = Path(__file__).parent / "fonts" / "NotoSansSC-Regular.ttf"


@cache
def chinese_font() -> str:
    """Register the embedded font with reportlab once a process; its name for setFont."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT
