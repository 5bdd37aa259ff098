"""Small UN-style PDF and Word files for the import tests (rag/extract.py, rag/add.py).

    make_pdf(path, paragraphs, symbol="S/PV.8838", masthead=("安全理事会",), columns=1)
    make_docx(path, paragraphs, symbol="S/PV.8838", masthead=("安全理事会",), table=[["a", "b"]])

The PDF imitates the UN layout: page 1 opens with a masthead (联合国 on the left, the symbol on the
right, then the organ lines), justified paragraphs with a two-character first-line indent, and on
every page a running header (the symbol) and a footer (job number and page n/N). Chinese needs the
CJK font that `make browser` installs (fonts-wqy-microhei); `cjk_font()` fails loudly without it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

FONT_FILES = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),)
JOB_NUMBER = "21-22456 (C)"


def cjk_font() -> str:
    """Register WenQuanYi Micro Hei with reportlab once; its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in FONT_FILES if p.is_file()), None)
        if path is None:
            raise RuntimeError("no CJK font: install fonts-wqy-microhei (`make browser`)")
        pdfmetrics.registerFont(TTFont("WQY", str(path), subfontIndex=0))
    return "WQY"


def make_pdf(path: Path, paragraphs: Sequence[str], *, symbol: str | None = None,
             masthead: Sequence[str] = (), columns: int = 1, size: float = 10.5,
             space_after: float = 4.0) -> Path:
    """Lay the paragraphs out by hand (justified lines, first-line indent of two characters,
    `columns` columns) under a masthead on page 1; every page gets a running header and footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    font = cjk_font()
    width, height = A4
    margin, gutter, leading = 60.0, 24.0, size * 1.6
    col_w = (width - 2 * margin - (columns - 1) * gutter) / columns
    lines = [line for p in paragraphs for line in _wrap(p, font, size, col_w, space_after)]
    pages = _paginate(lines, height - margin - 30, height - 2 * margin - 60, leading, columns,
                      first_page_taken=40.0 * len(masthead) + 30)
    canvas = Canvas(str(path), pagesize=A4)
    for n, page in enumerate(pages, 1):
        canvas.setFont(font, 9)
        canvas.drawString(margin, margin - 20, JOB_NUMBER)
        canvas.drawRightString(width - margin, margin - 20, f"{n}/{len(pages)}")
        y0 = height - margin
        if n == 1:
            canvas.setFont(font, 16)
            canvas.drawString(margin, y0, "联合国")
            if symbol:
                canvas.drawRightString(width - margin, y0, symbol)
            for i, line in enumerate(masthead):
                canvas.drawCentredString(width / 2, y0 - 40 * (i + 1), line)
        elif symbol:
            canvas.drawString(margin, y0, symbol)
        for column, rows in enumerate(page):
            x = margin + column * (col_w + gutter)
            for y, (text, indent, justify, _) in rows:
                _draw_line(canvas, font, size, x + indent, y, text, col_w - indent if justify else None)
        canvas.showPage()
    canvas.save()
    return path


def _wrap(paragraph: str, font: str, size: float, width: float, space_after: float) -> list[tuple]:
    """(text, indent, justify, gap after) per line: CJK breaks anywhere, Latin words stay whole."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    tokens = re.findall(r"[A-Za-z0-9.,;:'()\-]+ ?|.", paragraph)
    out, line, indent = [], "", 2 * size
    for token in tokens:
        if line and stringWidth((line + token).rstrip(), font, size) > width - indent:
            out.append((line.rstrip(), indent, True, 0.0))
            line, indent = "", 0.0
        line += token.lstrip() if not line else token
    out.append((line.rstrip(), indent, False, space_after))
    return out


def _paginate(lines: list[tuple], top: float, column_h: float, leading: float, columns: int,
              first_page_taken: float) -> list[list[list[tuple]]]:
    """Pages of columns of (y, line); on page 1 every column starts below the masthead."""
    pages: list[list[list[tuple]]] = [[[] for _ in range(columns)]]
    column, used = 0, first_page_taken
    for line in lines:
        if used + leading > column_h:
            column += 1
            if column == columns:
                pages.append([[] for _ in range(columns)])
                column = 0
            used = first_page_taken if len(pages) == 1 else 0.0
        pages[-1][column].append((top - used - leading, line))
        used += leading + line[3]
    return pages


def _draw_line(canvas, font: str, size: float, x: float, y: float, text: str, justify_to: float | None) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth
    t = canvas.beginText(x, y)
    t.setFont(font, size)
    spread = justify_to and len(text) > 1  # the PDF keeps the character spacing: always set it
    t.setCharSpace((justify_to - stringWidth(text, font, size)) / (len(text) - 1) if spread else 0)
    t.textLine(text)
    canvas.drawText(t)


def make_docx(path: Path, paragraphs: Sequence[str], *, symbol: str | None = None,
              masthead: Sequence[str] = (), table: Sequence[Sequence[str]] = ()) -> Path:
    """A Word file with the symbol in the page header (as the UN's templates put it), the masthead
    and the paragraphs in the body, and an optional table after them."""
    import docx

    document = docx.Document()
    if symbol:
        header = document.sections[0].header
        header.paragraphs[0].text = f"联合国\t\t{symbol}"
    for line in masthead:
        document.add_paragraph(line)
    for p in paragraphs:
        document.add_paragraph(p)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path


CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def documents_2023() -> list[dict]:
    """The ten 2023 documents as the bundled manifest lists them (their Chinese text is
    `CORPUS / file`, their official English `CORPUS / <stem>.en.txt`), with `kind` beside `type`."""
    import json

    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["documents"]
    return [d | {"kind": d["type"]} for d in manifest if d["date"].startswith("2023")]
