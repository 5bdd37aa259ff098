"""Reflow a document's text lines back into its paragraphs, with offsets into the file as stored.

The text is normalised first (rag.normalize: CRLF/CR, BOM, tabs, wide spaces); the layout is read
from the normalised lines and every offset is mapped back to the stored text. Three layouts (the
manifest's `layout`, else `detect_layout`; see docs/ingestion.md):

- ``pdf_wrapped``: text extracted from a PDF, wrapped at a fixed width, with two variants chosen by
  the text itself: *marked* (about 35 columns; the last line of every paragraph carries trailing
  whitespace; spaces inside the text are kept only between two ASCII letters/digits) and *wrapped*
  (a paragraph ends on a line clearly shorter than the width that ends a sentence, or on a very
  short line).
- ``paragraphs``: one paragraph per line; a long line that does not end a sentence continues on the
  next non-blank line (a page break cut it).
- ``segments``: one aligned segment (often one sentence) per line, as in translation-aligned files.
  Every line is a unit; a numbered line (`2. …`) and a line the caller marks as opening a paragraph
  (a speaker in a summary record) absorb the following unnumbered lines until the next number,
  heading or opening line (`reflow(..., boundary=...)`).

Every paragraph records [start, end) offsets into the stored text (first to last non-blank
character) and the 1-based line of its first line. Lines are joined without a space (CJK), except
between two ASCII letters (or, in Latin text, at any break between words).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rag.normalize import Normalized, line_breaks, normalize
from rag.records import Paragraph
from rag.roles import is_heading
from rag.sentences import LINE_CLOSERS, LINE_ENDS

LAYOUTS = ("pdf_wrapped", "paragraphs", "segments")
LEGACY_LAYOUTS = {"lines": "paragraphs", "wrapped": "pdf_wrapped", "marked": "pdf_wrapped"}
LINE_START_PUNCT = "。，、；：！？）)》」』”’…,.;:"
LINES_MIN_WIDTH = 45  # a `paragraphs` line at least this wide that does not end a sentence continues
MARK_SHARE = 0.2  # share of lines with trailing whitespace that marks the 35-column PDF variant
WRAPPED_SHARE = 0.3  # share of lines cut at the wrap width that makes a text pdf_wrapped
MULTI_SENTENCE_SHARE = 0.25  # share of long lines holding two sentences or more: paragraphs, not segments
NUMBER_RE = re.compile(r"(\d{1,3})\.\s")
SUBITEM_RE = re.compile(r"(?:[-–•]\s*)?(\([a-z]\))\s")
_INNER_STOP = re.compile(r"[。！？][^。！？”’」』）)]")
_RUNS = re.compile(r"\S+")
Boundary = Callable[[str], str | None]  # a unit's text -> "open" | "alone" | None


@dataclass(frozen=True)
class Line:
    lineno: int  # 1-based
    start: int  # offset of the line's first character in the normalised text
    raw: str  # the line without its newline (normalised)

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
    return len(s) - 0.5 * len(s.encode("ascii", "ignore"))


def split_lines(text: str) -> list[Line]:
    """The lines of a normalised text ("\\n" line ends only)."""
    lines, pos = [], 0
    for i, raw in enumerate(text.split("\n"), 1):
        lines.append(Line(i, pos, raw))
        pos += len(raw) + 1
    return lines


def ends_sentence(s: str) -> bool:
    s = s.rstrip(LINE_CLOSERS) if s and s[-1] in LINE_CLOSERS else s
    return bool(s) and s[-1] in LINE_ENDS


def wrap_width(lines: list[Line]) -> float:
    """The most common display width of the non-blank lines (the width full lines reach)."""
    widths = Counter(round(display_width(ln.text)) for ln in lines)
    return float(max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]) if widths else 0.0


# ---------------------------------------------------------------- layout detection

def _content_lines(text: str) -> list[Line]:
    return [ln for ln in split_lines(text) if ln.text]


def _is_wrapped(lines: list[Line]) -> bool:
    """Many lines cut mid-sentence at the same width: text wrapped by a PDF."""
    width = wrap_width(lines)
    cut = sum(1 for ln in lines if width >= 15 and abs(display_width(ln.text) - width) <= 2
              and not ends_sentence(ln.text))
    return cut >= 3 and cut >= WRAPPED_SHARE * len(lines)


def _is_multi_sentence(lines: list[Line]) -> bool:
    """Long lines that hold several sentences: whole paragraphs, not aligned segments."""
    long = [ln.text for ln in lines if display_width(ln.text) >= LINES_MIN_WIDTH]
    multi = sum(1 for s in long if _INNER_STOP.search(s[:-1]))
    return bool(long) and multi >= MULTI_SENTENCE_SHARE * len(long)


def detect_layout(text: str) -> str:
    """'pdf_wrapped', 'paragraphs' or 'segments' (see module docstring); `text` as stored."""
    return _detect(_content_lines(normalize(text).text))


def _detect(lines: list[Line]) -> str:
    if not lines:
        return "paragraphs"
    if _is_wrapped(lines):
        return "pdf_wrapped"
    return "paragraphs" if _is_multi_sentence(lines) else "segments"


def check_layout(layout: str | None) -> str | None:
    """A manifest layout name (or a legacy internal name) as one of LAYOUTS; ValueError otherwise."""
    if layout is None:
        return None
    layout = LEGACY_LAYOUTS.get(layout, layout)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; use one of: {', '.join(LAYOUTS)}")
    return layout


# ---------------------------------------------------------------- grouping lines

def _variant(lines: list[Line], layout: str) -> str:
    if layout != "pdf_wrapped":
        return layout
    marked = sum(ln.trailing_space for ln in lines)
    return "marked" if marked >= MARK_SHARE * len(lines) else "wrapped"


def _group_lines(lines: list[Line], variant: str) -> list[list[Line]]:
    if variant == "segments":
        return [[ln] for ln in lines]
    groups: list[list[Line]] = []
    cur: list[Line] = []
    width = wrap_width(lines)
    for i, ln in enumerate(lines):
        cur.append(ln)
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is None or _ends_paragraph(ln, nxt, len(cur), variant, width):
            groups.append(cur)
            cur = []
    return groups


def _ends_paragraph(ln: Line, nxt: Line, n_cur: int, variant: str, width: float) -> bool:
    if nxt.text[0] in LINE_START_PUNCT:
        return False  # punctuation never starts a line of its own paragraph
    if variant == "marked":
        return ln.trailing_space  # the 35-column layout marks every paragraph end
    if NUMBER_RE.match(nxt.text):
        return True
    w = display_width(ln.text)
    if variant == "paragraphs":
        return ends_sentence(ln.text) or w < LINES_MIN_WIDTH
    if w <= 0.75 * width:
        return True
    if not ends_sentence(ln.text):
        return False
    if w <= width - (2.5 if n_cur == 1 else 1.5):
        return True  # clearly short (a first line is already indented by two columns)
    # a full line ending a sentence: the paragraph ends if the next line is an indented first line
    nw = display_width(nxt.text)
    return nw <= width - 2 and not ends_sentence(nxt.text)


def _latin(c: str) -> bool:
    return c.isascii() and c.isalpha()


def join_lines(parts: list[str], squeeze: bool = False) -> str:
    """Lines joined without a space, except between two Latin letters, or after a Latin
    sentence/clause end before a Latin letter (`end.` + `Next`)."""
    out: list[str] = []
    prev = ""
    for part in parts:
        if prev and part and _latin(part[0]) and (_latin(prev[-1]) or (prev[-1] in ".,;:)\"'" and prev.isascii())):
            out.append(" ")
        out.append(part)
        prev = part
    text = "".join(out)
    return _squeeze_spaces(text) if squeeze else text


def _ascii_word(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _squeeze_spaces(s: str) -> str:
    """Drop whitespace runs unless both neighbours are ASCII letters/digits; keep the space after
    a leading paragraph number ("1. 2012年" stays readable)."""
    m = NUMBER_RE.match(s) or SUBITEM_RE.match(s)
    head, rest = (s[: m.end()].rstrip() + " ", s[m.end():].lstrip()) if m else ("", s)

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


def _paragraph(n: Normalized, group: list[Line], squeeze: bool) -> Paragraph:
    body = join_lines([ln.text for ln in group], squeeze=squeeze)
    return Paragraph(text=body, start=n.raw_start(group[0].content_start), end=n.raw_end(group[-1].content_end),
                     line=group[0].lineno, number=paragraph_number(body))


def _units(text: str, layout: str | None) -> tuple[str, list[Paragraph]]:
    n = normalize(text)
    lines = _content_lines(n.text)
    layout = check_layout(layout) or _detect(lines)
    variant = _variant(lines, layout)
    return layout, [_paragraph(n, g, variant == "marked") for g in _group_lines(lines, variant)]


def units(text: str, layout: str | None = None) -> list[Paragraph]:
    """The layout's smallest units with offsets into `text` as stored: a line per segment
    (`segments`), else the reflowed paragraphs."""
    return _units(text, layout)[1]


def reflow(text: str, layout: str | None = None, boundary: Boundary | None = None) -> list[Paragraph]:
    """Paragraphs of `text` (as stored) with offsets into it; the layout is detected unless given.
    In `segments`, numbered lines and lines `boundary` calls "open" absorb the following lines
    (see group_segments)."""
    layout, found = _units(text, layout)
    return group_segments(found, boundary) if layout == "segments" else found


def group_segments(segs: list[Paragraph], boundary: Boundary | None = None) -> list[Paragraph]:
    """Segments into paragraphs: a top-level numbered segment (`2. …`) or one that `boundary`
    calls "open" starts a paragraph that absorbs the following plain segments; a segment it calls
    "alone", a heading-like segment (see rag.roles) or a sub-item (`(a) …`) stands alone and closes it."""
    out: list[Paragraph] = []
    cur: list[Paragraph] = []
    for seg in segs:
        verdict = boundary(seg.text) if boundary else None
        top = bool(NUMBER_RE.match(seg.text))
        if cur and not top and verdict is None and not seg.number and not is_heading(seg.text):
            cur.append(seg)
            continue
        if cur:
            out.append(_merge(cur))
        cur = [seg] if top or verdict == "open" else []
        if not cur:
            out.append(seg)
    if cur:
        out.append(_merge(cur))
    return out


def _merge(segs: list[Paragraph]) -> Paragraph:
    if len(segs) == 1:
        return segs[0]
    text = join_lines([s.text for s in segs])
    return Paragraph(text=text, start=segs[0].start, end=segs[-1].end, line=segs[0].line, number=segs[0].number)


# ---------------------------------------------------------------- offsets inside a paragraph

class Offsets:
    """Source offsets of the characters of a paragraph's text, computed from its runs of
    non-blank characters (linear in the paragraph, a bisection per lookup). The paragraph's
    non-blank characters are the source slice's non-blank characters, in order."""

    def __init__(self, source: str, para: Paragraph) -> None:
        self.source, self.para = source, para
        self._src_starts, self._src_before = self._runs(source, para.start, para.end)
        self._txt_starts, self._txt_before = self._runs(para.text, 0, len(para.text))
        if self._src_before[-1] != self._txt_before[-1]:
            raise ValueError(f"paragraph at line {para.line} does not match its source slice")
        self._breaks: list[int] | None = None

    @staticmethod
    def _runs(s: str, start: int, end: int) -> tuple[list[int], list[int]]:
        """Starts of the runs of non-blank characters and the count of non-blank characters
        before each, plus (end, total) as a sentinel."""
        starts, before, count = [], [], 0
        for m in _RUNS.finditer(s, start, end):
            starts.append(m.start())
            before.append(count)
            count += m.end() - m.start()
        return starts + [end], before + [count]

    def rank(self, i: int) -> int:
        """Number of non-blank characters of the text before index i."""
        k = bisect.bisect_right(self._txt_starts, i) - 1
        if k < 0:
            return 0
        if k == len(self._txt_starts) - 1:
            return self._txt_before[k]
        length = self._txt_before[k + 1] - self._txt_before[k]
        return self._txt_before[k] + min(i - self._txt_starts[k], length)

    def at(self, i: int) -> int:
        """Source offset of text[i] (a blank the reflow added maps to the next source
        character); para.end for i == len(text)."""
        r = self.rank(i)
        k = bisect.bisect_right(self._src_before, r) - 1
        if k >= len(self._src_starts) - 1:
            return self.para.end
        return self._src_starts[k] + (r - self._src_before[k])

    def line(self, pos: int) -> int:
        """1-based line of a source offset inside the paragraph."""
        if self._breaks is None:
            self._breaks = line_breaks(self.source, self.para.start, self.para.end)
        return self.para.line + bisect.bisect_left(self._breaks, pos)

    def piece(self, i: int, j: int, number: str | None = None) -> Paragraph | None:
        """text[i:j] as a Paragraph with exact source offsets (None if blank)."""
        piece = self.para.text[i:j]
        if not piece.strip():
            return None
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        start, end = self.at(i + lead), self.at(i + trail - 1) + 1
        return Paragraph(text=piece.strip(), start=start, end=end, line=self.line(start), number=number)


def char_offsets(source: str, para: Paragraph) -> list[int]:
    """Source offset of every character of `para.text`, plus `para.end` as a final sentinel
    (a list form of Offsets, for tests and small texts)."""
    offs = Offsets(source, para)
    return [offs.at(i) for i in range(len(para.text))] + [para.end]


def sub_paragraph(source: str, para: Paragraph, i: int, j: int, offs: Offsets | None = None,
                  number: str | None = None) -> Paragraph | None:
    """The part text[i:j] of a paragraph as a Paragraph with exact source offsets (None if blank)."""
    return (offs or Offsets(source, para)).piece(i, j, number)
