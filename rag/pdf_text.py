"""A PDF's text layer, for `rag add` (see rag.extract): pypdfium2's characters with their boxes ->
rows by baseline -> columns (an empty vertical gutter most rows respect) -> running headers and
footers dropped -> paragraphs, one per output line."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ExtractionError
from rag.extract import MASTHEAD_ROWS, Extraction


@dataclass(frozen=True)
class _Char:
    ch: str
    x0: float
    x1: float
    base: float  # baseline y (PDF units, up is larger)
    size: float
    generated: bool
    hyphen: bool


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    base: float
    size: float
    page: int
    block: tuple[int, int, int]  # (page, band, side): side 0 one column, 1 left, 2 right, 3 across both
    hyphen: bool = False  # ends in a soft hyphen
    x_text: float | None = None  # where the text starts after a leading paragraph number and a gap


def read_pdf(path: Path) -> Extraction:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        reason = "encrypted (a password is needed)" if "password" in str(e).lower() else f"cannot be read ({e})"
        raise ExtractionError(f"{path}: PDF {reason}") from e
    try:
        pages = [_page_rows(path, pdf, n) for n in range(len(pdf))]
    finally:
        pdf.close()
    if not any(pages):
        raise ExtractionError(f"{path}: the PDF has no text layer (a scan?); run OCR on it first")
    head = tuple(_row_text(r) for r in pages[0][:MASTHEAD_ROWS])
    repeated = _repeated_keys(pages)
    kept = [_drop_furniture(rows, n, repeated) for n, rows in enumerate(pages)]
    gutters = _gutters(kept)
    lines = [line for n, rows in enumerate(kept) for line in _page_lines(rows, n, gutters[n])]
    paragraphs = _paragraphs(lines)
    return Extraction(text="\n".join(paragraphs) + "\n", head=head, source="pdf", pages=len(pages),
                      layout="paragraphs")


def _page_rows(path: Path, pdf, n: int) -> list[list[_Char]]:
    """The page's characters grouped into rows by baseline, top to bottom, each row left to right."""
    import pypdfium2.raw as raw

    page = pdf[n]
    textpage = page.get_textpage()
    chars, bad = [], 0
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage.raw, i)
        if code in (0, 0xFFFD) or 0xE000 <= code <= 0xF8FF:
            bad += 1
            continue
        ch = chr(code)
        if ch in "\r\n" or abs(raw.FPDFText_GetCharAngle(textpage.raw, i)) > 0.01:
            continue
        x0, _, x1, _ = textpage.get_charbox(i, loose=True)
        ox, oy = _origin(raw, textpage, i)
        chars.append(_Char(ch, x0, x1, oy, raw.FPDFText_GetFontSize(textpage.raw, i) or (x1 - x0),
                           bool(raw.FPDFText_IsGenerated(textpage.raw, i)),
                           bool(raw.FPDFText_IsHyphen(textpage.raw, i))))
    visible = [c for c in chars if not c.ch.isspace()]
    if bad > max(5, 0.05 * (len(visible) + bad)):
        raise ExtractionError(f"{path}: page {n + 1}: {bad} characters have no Unicode mapping "
                              "(a font without a ToUnicode table); the text layer is unreadable")
    if not visible and any(obj.type == raw.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects()):
        raise ExtractionError(f"{path}: page {n + 1} has no text layer (an image only); run OCR on it first")
    return _rows(chars)


def _origin(raw, textpage, i: int) -> tuple[float, float]:
    import ctypes
    x, y = ctypes.c_double(), ctypes.c_double()
    raw.FPDFText_GetCharOrigin(textpage.raw, i, ctypes.byref(x), ctypes.byref(y))
    return x.value, y.value


def _rows(chars: list[_Char]) -> list[list[_Char]]:
    rows: list[list[_Char]] = []
    for c in sorted(chars, key=lambda c: (-c.base, c.x0)):
        if rows and abs(rows[-1][0].base - c.base) <= 0.35 * max(c.size, rows[-1][0].size):
            rows[-1].append(c)
        else:
            rows.append([c])
    rows = [sorted(r, key=lambda c: c.x0) for r in rows]
    return [r for r in rows if any(not c.ch.isspace() for c in r)]


def _segments(row: list[_Char]) -> list[list[_Char]]:
    """A row cut at horizontal gaps wider than 1.5 characters (columns, masthead cells, tab stops)."""
    out: list[list[_Char]] = []
    last = None
    for c in row:
        if c.ch.isspace():
            if out:
                out[-1].append(c)
            continue
        if last is None or c.x0 - last.x1 > 1.5 * max(c.size, last.size):
            out.append([])
        out[-1].append(c)
        last = c
    return out


def _seg_text(chars: list[_Char]) -> str:
    """Characters to text: real spaces kept, a generated space only between Latin letters or digits."""
    out: list[str] = []
    for i, c in enumerate(chars):
        if c.ch.isspace():
            prev = out[-1][-1:] if out else ""
            nxt = next((d.ch for d in chars[i + 1:] if not d.ch.isspace()), "")
            if prev and nxt and prev != " " and (not c.generated or (_latin(prev) and _latin(nxt))):
                out.append(" ")
            continue
        out.append(c.ch)
    return "".join(out).strip()


def _latin(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ",.;:!?)]%'\"")


def _row_text(row: list[_Char]) -> str:
    return " ".join(_seg_text(s) for s in _segments(row))


# running headers and footers (any page) and the masthead's distribution lines (top of page 1)
_SYMBOL_ALONE = r"[A-Z]{1,7}(/[A-Za-z0-9.]+)+(\s*\(\d{4}\))?"
_EDGE = [re.compile(p, re.I) for p in (
    r"\d{1,4}", r"-\s*\d{1,4}\s*-", r"\d{1,4}\s*/\s*\d{1,4}", r"第\s*\d+\s*页(\s*共\s*\d+\s*页)?",
    r"page\s+\d+(\s+of\s+\d+)?", r"\d{2}-\d{5}(\s*\([A-Z]\))?(\s+\d{1,4}\s*/\s*\d{1,4})?",  # job number
    r"\*\d{6,}\*", r"请回收|please recycle", _SYMBOL_ALONE)]
_MASTHEAD = _EDGE + [re.compile(p, re.I) for p in (
    r"联\s*合\s*国|united nations", r"distr\.?\s*[:：]?\s*\w+", r"original\s*[:：]\s*\w+", r"chinese|中文",
    r"\d{1,2}\s+(january|february|march|april|may|june|july|august|september|october|november|december)\s+\d{4}")]
EDGE_ROWS = 2  # rows at the top and the bottom of a page that may be a running header or footer


def _drop_furniture(rows: list[list[_Char]], n: int, repeated: set[str]) -> list[list[_Char]]:
    """The page's rows without its running header and footer and the masthead's furniture."""
    out = []
    for i, row in enumerate(rows):
        edge = i < EDGE_ROWS or i >= len(rows) - EDGE_ROWS
        patterns = _MASTHEAD if n == 0 and i < MASTHEAD_ROWS else _EDGE if edge else None
        if patterns is None:
            out.append(row)
            continue
        outer = i == 0 or i == len(rows) - 1
        kept = [seg for seg in _segments(row)
                if not (outer and _key(_seg_text(seg)) in repeated)
                and not any(p.fullmatch(_seg_text(seg)) for p in patterns)]
        if kept:
            out.append([c for seg in kept for c in seg])
    return out


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", "".join(text.split()))


def _repeated_keys(pages: list[list[list[_Char]]]) -> set[str]:
    """Segments of the first or last row of a page (digits folded) printed so on several pages."""
    seen: Counter[str] = Counter()
    for rows in pages:
        edge = [rows[0], rows[-1]] if rows else []
        seen.update({_key(_seg_text(seg)) for row in edge for seg in _segments(row)})
    need = max(2, (len(pages) - 1) // 2)
    return {k for k, count in seen.items() if count >= need and k}


def _page_lines(rows: list[list[_Char]], n: int, gutter: tuple[float, float] | None) -> list[_Line]:
    """The page's lines in reading order. On a two-column page the rows crossing the gutter
    (masthead, headings) span both columns and cut the page into bands; in each band the left
    column is read before the right one. Each column's lines are grouped on their own, as the two
    columns' baselines need not line up."""
    if gutter is None:
        return [_line(row, (n, 0, 0)) for row in rows]
    mid = (gutter[0] + gutter[1]) / 2
    spans: list[list[_Char]] = []
    sides: tuple[list[_Char], list[_Char]] = ([], [])
    for row in rows:
        if any(_inside(c, gutter) for c in row if not c.ch.isspace()):
            spans.append(row)
        else:
            for c in row:
                sides[0 if c.x0 + c.x1 <= 2 * mid else 1].append(c)
    columns = [_rows(chars) for chars in sides]
    out: list[_Line] = []
    for band, span in enumerate([*spans, None]):
        floor = span[0].base if span else float("-inf")
        for side, column in enumerate(columns):
            while column and column[0][0].base > floor:
                out.append(_line(column.pop(0), (n, band, side + 1)))
        if span:
            out.append(_line(span, (n, 0, 3)))
    return out


def _inside(c: _Char, gutter: tuple[float, float]) -> bool:
    """The character's centre lies in the gutter: its row spans both columns."""
    return gutter[0] < (c.x0 + c.x1) / 2 < gutter[1]


_NUMBER = re.compile(r"(\(?\d{1,3}[.)]|\([a-z]{1,4}\)|[a-z]\)|[一二三四五六七八九十]+、|[-•·])")


def _line(chars: list[_Char], block: tuple[int, int, int]) -> _Line:
    visible = [c for c in chars if not c.ch.isspace()]
    text = " ".join(_seg_text(s) for s in _segments(chars))
    x_text = None
    number = _NUMBER.match(text)
    if number and len(visible) > len(number.group()):
        mark, after = visible[len(number.group()) - 1], visible[len(number.group())]
        if after.x0 - mark.x1 > 0.5 * after.size:
            x_text = after.x0
    return _Line(text=text, x0=visible[0].x0, x1=visible[-1].x1,
                 base=statistics.median(c.base for c in visible), size=statistics.median(c.size for c in visible),
                 page=block[0], block=block, hyphen=visible[-1].hyphen or visible[-1].ch == "\u00ad", x_text=x_text)


# A gutter may be crossed by the masthead and headings, which span both columns: up to 40% of a
# page's rows. On a one-column page nearly every body row crosses the middle.
CROSSING = 0.4


def _gutters(pages: list[list[list[_Char]]]) -> list[tuple[float, float] | None]:
    """Each page's column gutter; a page where none stands out (a short last page) takes the
    document's usual one when few enough of its rows cross it."""
    found = [_gutter(rows) for rows in pages]
    usual = Counter(g for g in found if g).most_common(1)
    if not usual:
        return found
    g0, g1 = usual[0][0]
    out = []
    for rows, g in zip(pages, found):
        crossing = sum(1 for r in rows if any(_inside(c, (g0, g1)) for c in r if not c.ch.isspace()))
        out.append(g or ((g0, g1) if rows and crossing <= CROSSING * len(rows) else None))
    return out


def _gutter(rows: list[list[_Char]]) -> tuple[float, float] | None:
    """The gap between two columns: in the middle of the page, the widest strip (at least a
    character wide) crossed by the fewest rows, at most CROSSING of them; of the rows that do not
    cross it, 30% of all rows have text on one side and 10% (and 3) on the other."""
    visible = [r for r in ([c for c in row if not c.ch.isspace()] for row in rows) if r]
    if len(visible) < 6:
        return None
    cover, left, step = _coverage(visible)
    lo, hi = int(len(cover) * 0.3), int(len(cover) * 0.7)
    fewest = min(cover[lo:hi], default=len(visible))
    if fewest > CROSSING * len(visible):
        return None
    runs, start = [], None
    for b in range(lo, hi + 1):
        if b < hi and cover[b] <= fewest + 1:
            start = b if start is None else start
        elif start is not None:
            runs.append((start, b))
            start = None
    b0, b1 = max(runs, key=lambda r: r[1] - r[0])
    g0, g1 = left + b0 * step, left + b1 * step
    if g1 - g0 < statistics.median(c.size for r in visible for c in r):
        return None
    apart = [r for r in visible if not any(_inside(c, (g0, g1)) for c in r)]  # rows that do not cross
    lefts = sum(1 for r in apart if any(c.x1 <= g0 for c in r))
    rights = sum(1 for r in apart if any(c.x0 >= g1 for c in r))
    if max(lefts, rights) < 0.3 * len(visible) or min(lefts, rights) < max(3, 0.1 * len(visible)):
        return None
    return g0, g1


def _coverage(rows: list[list[_Char]], step: float = 2.0) -> tuple[list[int], float, float]:
    """For each `step`-wide vertical strip of the page, how many rows have a character in it."""
    left = min(r[0].x0 for r in rows)
    cover = [0] * (int((max(r[-1].x1 for r in rows) - left) / step) + 1)
    for r in rows:
        for b in {b for c in r for b in range(int((c.x0 - left) / step), int((c.x1 - left) / step) + 1)}:
            if 0 <= b < len(cover):
                cover[b] += 1
    return cover, left, step


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Join lines into paragraphs: a line continues the paragraph when it starts at the left margin
    (or at the text of a hanging paragraph number) right after a full line with the usual spacing."""
    margins = _margins(lines)
    pitch = _pitch(lines)
    out: list[list[_Line]] = []
    for prev, line in zip([None, *lines], lines):
        if prev is None or _starts_paragraph(prev, line, out[-1][0], margins, pitch):
            out.append([line])
        else:
            out[-1].append(line)
    return [_join_lines(p) for p in out]


def _margins(lines: list[_Line]) -> dict[int, tuple[float, float]]:
    """Per side (one column, left, right, across) over the document: the left margin and the right
    edge of full lines (the smallest left and the largest right edge that a tenth of the lines share)."""
    out = {}
    for side in {line.block[2] for line in lines}:
        ls = [line for line in lines if line.block[2] == side]
        lefts, rights = Counter(round(line.x0) for line in ls), Counter(round(line.x1) for line in ls)
        enough = max(2, 0.1 * len(ls))
        out[side] = (min([x for x, n in lefts.items() if n >= enough] or lefts),
                     max([x for x, n in rights.items() if n >= enough] or rights))
    return out


def _pitch(lines: list[_Line]) -> float:
    """The usual distance between two baselines inside a paragraph (the smaller common one)."""
    gaps = sorted(round(a.base - b.base, 1) for a, b in zip(lines, lines[1:])
                  if a.block == b.block and 0 < a.base - b.base < 3 * a.size)
    return gaps[len(gaps) // 4] if gaps else 0.0


def _starts_paragraph(prev: _Line, line: _Line, first: _Line, margins, pitch: float) -> bool:
    em = line.size
    if line.block != prev.block and 3 in (line.block[2], prev.block[2]):
        return True  # a row across both columns stands apart from the columns
    if line.x_text is not None:
        return True  # a numbered paragraph
    left, right = margins[line.block[2]]
    starts = [left] + ([first.x_text] if first.x_text is not None else [])
    if all(abs(line.x0 - x) > 0.8 * em for x in starts):
        return True  # a first-line indent, a centred heading
    prev_left, prev_right = margins[prev.block[2]]
    short = prev_right - prev.x1
    if _latin(prev.text[-1:]):
        if short > 0.25 * (prev_right - prev_left) or (short > 1.2 * em and prev.text[-1] in ".:;!?"):
            return True
    elif short > 1.2 * em:
        return True
    return line.block == prev.block and pitch > 0 and prev.base - line.base > pitch + 0.25 * em


def _join_lines(lines: list[_Line]) -> str:
    text = lines[0].text
    latin = _mostly_latin("".join(line.text for line in lines))
    for prev, line in zip(lines, lines[1:]):
        if prev.hyphen and text.endswith(("-", "\u00ad")):
            text = text[:-1] + line.text
        elif latin or (text[-1:].isascii() and text[-1:].isalpha() and line.text[:1].isascii()
                       and line.text[:1].isalpha()):
            text += " " + line.text
        else:
            text += line.text
    return text


def _mostly_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) >= 0.8 * len(letters)
