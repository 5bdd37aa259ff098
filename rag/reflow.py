"""Reflow PDF-extracted text lines back into the source's paragraphs.

Three layouts are detected per file (see docs/ingestion.md):

- ``lines``: one paragraph per line already (long lines). A long line that does not end a
  sentence continues on the next non-blank line (a page break cut it).
- ``marked``: wrapped at about 35 columns; the last line of every paragraph carries trailing
  whitespace. Spaces inside the text are kept only between two ASCII letters/digits
  (``2012 年 4 月`` -> ``2012年4月``, ``Tabasky Diouf`` stays).
- ``wrapped``: wrapped at a fixed display width W (CJK = 1, ASCII = 0.5); a paragraph ends on a
  line clearly shorter than W that ends in sentence-final punctuation, or on a very short line.

Every paragraph records [start, end) offsets into the original text (first to last non-blank
character) and the 1-based line of its first line. Lines are joined without a space (CJK), except
between two ASCII letters.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rag.records import Paragraph
from rag.sentences import LINE_CLOSERS, LINE_ENDS

LINE_START_PUNCT = "。，、；：！？）)》」』”’…,.;:"
LINES_MIN_WIDTH = 45  # median width above which a file is one paragraph per line
MARK_SHARE = 0.2  # share of lines with trailing whitespace that marks the 35-col layout
NUMBER_RE = re.compile(r"^(\d{1,3})\.\s")
SUBITEM_RE = re.compile(r"^(?:[-–•]\s*)?(\([a-z]\))\s")


@dataclass(frozen=True)
class Line:
    lineno: int  # 1-based
    start: int  # offset of the line's first character
    raw: str  # the line without its newline

    @property
    def text(self) -> str:
        return self.raw.strip()

    @property
    def content_start(self) -> int:
        return self.start + len(self.raw) - len(self.raw.lstrip())

    @property
    def content_end(self) -> int:
        return self.start + len(self.raw.rstrip())

    @property
    def trailing_space(self) -> bool:
        return self.raw != self.raw.rstrip()


def display_width(s: str) -> float:
    """ASCII counts half a column, everything else one."""
    return sum(0.5 if ord(c) < 128 else 1.0 for c in s)


def split_lines(text: str) -> list[Line]:
    lines, pos = [], 0
    for i, raw in enumerate(text.split("\n"), 1):
        lines.append(Line(i, pos, raw))
        pos += len(raw) + 1
    return lines


def detect_layout(text: str) -> str:
    """'lines', 'marked' or 'wrapped' (see module docstring)."""
    lines = [ln for ln in split_lines(text) if ln.text]
    if not lines:
        return "lines"
    widths = sorted(display_width(ln.text) for ln in lines)
    if widths[len(widths) // 2] > LINES_MIN_WIDTH:
        return "lines"
    marked = sum(ln.trailing_space for ln in lines)
    return "marked" if marked >= MARK_SHARE * len(lines) else "wrapped"


def wrap_width(lines: list[Line]) -> float:
    """The most common display width of the non-blank lines (the width full lines reach)."""
    widths = Counter(round(display_width(ln.text)) for ln in lines)
    return float(max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]) if widths else 0.0


def ends_sentence(s: str) -> bool:
    s = s.rstrip(LINE_CLOSERS) if s and s[-1] in LINE_CLOSERS else s
    return bool(s) and s[-1] in LINE_ENDS


def _group_lines_layout(lines: list[Line], layout: str) -> list[list[Line]]:
    groups: list[list[Line]] = []
    cur: list[Line] = []
    width = wrap_width(lines)
    for i, ln in enumerate(lines):
        cur.append(ln)
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is None or _ends_paragraph(ln, nxt, cur, layout, width):
            groups.append(cur)
            cur = []
    return groups


def _ends_paragraph(ln: Line, nxt: Line, cur: list[Line], layout: str, width: float) -> bool:
    if nxt.text[0] in LINE_START_PUNCT:
        return False  # punctuation never starts a line of its own paragraph
    if layout == "marked":
        return ln.trailing_space  # the 35-column layout marks every paragraph end
    if NUMBER_RE.match(nxt.text):
        return True
    w = display_width(ln.text)
    if layout == "lines":
        return ends_sentence(ln.text) or w < LINES_MIN_WIDTH
    if w <= 0.75 * width:
        return True
    if not ends_sentence(ln.text):
        return False
    if w <= width - (2.5 if len(cur) == 1 else 1.5):
        return True  # clearly short (a first line is already indented by two columns)
    # a full line ending a sentence: the paragraph ends if the next line is an indented first line
    nw = display_width(nxt.text)
    return nw <= width - 2 and not ends_sentence(nxt.text)


def _join(parts: list[str], squeeze: bool) -> str:
    out = ""
    for part in parts:
        if out and out[-1].isascii() and out[-1].isalpha() and part[0].isascii() and part[0].isalpha():
            out += " "  # a line break between two Latin words
        out += part
    return _squeeze_spaces(out) if squeeze else out


def _ascii_word(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _squeeze_spaces(s: str) -> str:
    """Drop whitespace runs unless both neighbours are ASCII letters/digits; keep the space after
    a leading paragraph number ("1. 2012年" stays readable)."""
    m = NUMBER_RE.match(s) or SUBITEM_RE.match(s)
    head, rest = (s[: m.end()].rstrip() + " ", s[m.end() :].lstrip()) if m else ("", s)

    def repl(mo: re.Match[str]) -> str:
        a = rest[mo.start() - 1] if mo.start() > 0 else ""
        b = rest[mo.end()] if mo.end() < len(rest) else ""
        return " " if _ascii_word(a) and _ascii_word(b) else ""

    return head + re.sub(r"\s+", repl, rest)


def paragraph_number(text: str) -> str | None:
    """The document's own number at the start of a paragraph: "13" for "13. …", "(a)" for "(a) …"."""
    m = NUMBER_RE.match(text)
    if m:
        return m.group(1)
    m = SUBITEM_RE.match(text)
    return m.group(1) if m else None


def reflow(text: str, layout: str | None = None) -> list[Paragraph]:
    """Paragraphs of `text` with offsets into it; the layout is detected unless given."""
    layout = layout or detect_layout(text)
    if layout not in ("lines", "marked", "wrapped"):
        raise ValueError(f"unknown layout {layout!r}")
    lines = [ln for ln in split_lines(text) if ln.text]
    paragraphs = []
    for group in _group_lines_layout(lines, layout):
        body = _join([ln.text for ln in group], squeeze=layout == "marked")
        paragraphs.append(Paragraph(text=body, start=group[0].content_start, end=group[-1].content_end,
                                    line=group[0].lineno, number=paragraph_number(body)))
    return paragraphs


def char_offsets(source: str, para: Paragraph) -> list[int]:
    """Source offset of every character of `para.text` (whitespace the reflow added maps to the
    next source character), plus `para.end` as a final sentinel."""
    offs, pos = [], para.start
    for c in para.text:
        if c.isspace():
            offs.append(pos)
            continue
        while pos < para.end and source[pos] != c:
            if not source[pos].isspace():
                raise ValueError(f"paragraph at line {para.line} does not match its source slice")
            pos += 1
        offs.append(pos)
        pos += 1
    offs.append(para.end)
    return offs


def sub_paragraph(source: str, para: Paragraph, i: int, j: int, offs: list[int] | None = None,
                  number: str | None = None) -> Paragraph | None:
    """The part text[i:j] of a paragraph as a Paragraph with exact source offsets (None if blank)."""
    piece = para.text[i:j]
    if not piece.strip():
        return None
    offs = offs or char_offsets(source, para)
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece.rstrip())
    start, end = offs[i + lead], offs[i + trail - 1] + 1
    return Paragraph(text=piece.strip(), start=start, end=end,
                     line=source.count("\n", 0, start) + 1, number=number)
