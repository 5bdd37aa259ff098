"""Line endings, byte-order mark and odd spaces, with a map back to the text as stored.

    n = normalize(raw)      # raw: the file decoded as UTF-8, exactly as stored
    n.text                  # "\\n" line ends only, no leading BOM, tabs and wide spaces as " "
    n.raw_start(i), n.raw_end(j)   # normalized [i, j) -> the same span of `raw`

What changes: CRLF and a lone CR become "\\n"; a leading U+FEFF (BOM) is dropped; a tab, a
full-width space (U+3000) and a no-break space (U+00A0) become " ". Only the BOM and the CR of a CRLF
are dropped, every other character maps one to one, so the map is a sorted list of the normalized
positions where a stored character was dropped just before, and a lookup is a bisection.

Layout detection and line splitting work on `text`; every offset handed out (paragraphs, chunks)
is mapped back with `raw_start`/`raw_end`, so offsets index the stored file (Python str indices,
`\\r` included).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

BOM = "\ufeff"
SPACES = str.maketrans({"\t": " ", "\u3000": " ", "\u00a0": " "})
_CRLF = re.compile(r"\r\n")
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")  # a line end as stored


@dataclass(frozen=True)
class Normalized:
    raw: str
    text: str
    dropped: tuple[int, ...]  # normalized positions before which one stored character was dropped

    def raw_start(self, i: int) -> int:
        """Stored offset of the normalized character at i (or of the end, for i == len(text))."""
        return i + bisect.bisect_right(self.dropped, i)

    def raw_end(self, j: int) -> int:
        """Stored exclusive end of a normalized span ending at j (dropped characters after the
        span's last character stay outside it)."""
        return self.raw_start(j - 1) + 1 if j > 0 else 0


def normalize(raw: str) -> Normalized:
    """See the module docstring. Linear in len(raw)."""
    bom = raw.startswith(BOM)
    body = raw[1:] if bom else raw
    dropped = [0] if bom else []
    if "\r" in body:
        for k, m in enumerate(_CRLF.finditer(body)):
            dropped.append(m.start() - k)  # where the "\n" of the k-th CRLF lands once its "\r" is gone
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    return Normalized(raw, body.translate(SPACES), tuple(dropped))


def line_breaks(source: str, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets of the line ends (CRLF, CR or LF as stored) in source[start:end]."""
    return [m.start() for m in LINE_BREAK_RE.finditer(source, start, len(source) if end is None else end)]


def line_start(source: str, pos: int) -> int:
    """Offset of the first character of the stored line holding `pos`."""
    return max(source.rfind("\n", 0, pos), source.rfind("\r", 0, pos)) + 1
