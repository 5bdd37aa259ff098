"""Align a Chinese document with its official English, paragraph by paragraph (pure text).

    t = Translation.build(zh_source, en_source, layout)   # both as stored
    t.english(start, end) -> (en_start, en_end, text) | None  # the English of a Chinese span

Units: the layout's smallest units on both sides (rag.reflow.units: a line per segment in
`segments`, else the reflowed paragraphs). English lines that hold no words (`<<ODS DOC SYMBOL2>>`)
are left out. The units are aligned in two steps:

1. Anchors: a paragraph number (`12. `) that starts exactly one unit on each side pins the two
   units together (kept only while the pairs stay in order on both sides).
2. Between anchors, a length-based aligner in the style of Gale & Church (1993): dynamic
   programming over beads 1-1, 1-0, 0-1, 2-1, 1-2 with the Gale-Church priors; the cost of a bead
   is -log P(bead) - log P(|delta|) with delta = (len_en - c * len_zh) / sqrt(s2 * (len_zh + len_en / c) / 2),
   lengths in non-blank characters, c the English:Chinese length ratio of the pair itself (total
   over total), s2 = 16 (calibrated on the line-aligned 101-105 of corpus-2023: mean squared
   deviation per character), plus a penalty when the two sides write different numbers. A band
   around the diagonal keeps it linear in the number of units.

A Chinese span that covers only part of a bead (a long paragraph cut into several chunks) gets
the English between the sentence boundaries aligned to its ends: the bead's sentences are aligned
by the same aligner, and a cut inside the bead maps to the English offset interpolated between
aligned sentence boundaries (lengths in non-blank characters, so line endings move nothing),
snapped to the nearest English sentence end.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rag.records import Paragraph
from rag.reflow import NUMBER_RE, units
from rag.sentences import SENTENCE_ENDS

S2 = 16.0  # variance of the English length per Chinese character (see module docstring)
NUMBER_PENALTY = 3.0  # cost when the two sides of a bead write disjoint numbers
BAND = 40  # units either side of the diagonal the DP explores (plus the length difference)
PRIORS = {(1, 1): 0.89, (1, 0): 0.005, (0, 1): 0.005, (2, 1): 0.0445, (1, 2): 0.0445}
_WORD = re.compile(r"[A-Za-z\u4e00-\u9fff]")
_MARKUP = re.compile(r"<<[^<>]*>>")
_DIGITS = re.compile(r"\d+")
_ZH_SENT = re.compile(rf"[^{SENTENCE_ENDS}]*(?:[{SENTENCE_ENDS}]+[”’」』）)\"']*|$)")
_EN_SENT = re.compile(r".*?(?:[.!?;]+[\"'”’)\]]*(?=\s|$)|$)", re.S)
_EN_CLAUSE = re.compile(r".*?(?:[,:–—]+[\"'”’)\]]*(?=\s|$)|$)", re.S)
_EN_WORD = re.compile(r"\S+")


def _size(text: str) -> int:
    return len("".join(text.split()))


def _solid_counts(text: str) -> list[int]:
    """counts[i]: the non-blank characters of text[:i] (so _size(text[a:b]) == counts[b] - counts[a])."""
    return [0, *itertools.accumulate(not ch.isspace() for ch in text)]


def _numbers(text: str) -> frozenset[str]:
    return frozenset(m.lstrip("0") or "0" for m in _DIGITS.findall(unicodedata.normalize("NFKC", text)))


def _number_cost(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 0.0
    if not a or not b:
        return NUMBER_PENALTY / 2
    return NUMBER_PENALTY * (1 - len(a & b) / len(a | b))


def _length_cost(l1: int, l2: int, ratio: float) -> float:
    if l1 == 0 and l2 == 0:
        return 0.0
    delta = (l2 - ratio * l1) / math.sqrt(S2 * (l1 + l2 / ratio) / 2)
    return -math.log(max(math.erfc(abs(delta) / math.sqrt(2)), 1e-300))


def gale_church(zh: list[tuple[int, frozenset[str]]], en: list[tuple[int, frozenset[str]]],
                ratio: float) -> list[tuple[int, int, int, int]]:
    """Beads (i0, i1, j0, j1) aligning zh[i0:i1] with en[j0:j1]; each item is (length, numbers)."""
    n, m = len(zh), len(en)
    if n == 0 or m == 0:
        return [(0, n, 0, m)] if n or m else []
    band = BAND + abs(n - m)
    inf = float("inf")
    cost: dict[tuple[int, int], float] = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        centre = i * m / n
        for j in range(max(0, int(centre - band)), min(m, int(centre + band)) + 1):
            if i == 0 and j == 0:
                continue
            best, arg = inf, None
            for (di, dj), prior in PRIORS.items():
                pi, pj = i - di, j - dj
                if pi < 0 or pj < 0 or (pi, pj) not in cost:
                    continue
                l1 = sum(zh[k][0] for k in range(pi, i))
                l2 = sum(en[k][0] for k in range(pj, j))
                n1 = frozenset().union(*(zh[k][1] for k in range(pi, i)))
                n2 = frozenset().union(*(en[k][1] for k in range(pj, j)))
                c = cost[(pi, pj)] - math.log(prior) + _length_cost(l1, l2, ratio) + _number_cost(n1, n2)
                if c < best:
                    best, arg = c, (pi, pj)
            if arg is not None:
                cost[(i, j)], back[(i, j)] = best, arg
    if (n, m) not in cost:  # the band missed the corner (very uneven sides): one bead for all
        return [(0, n, 0, m)]
    beads, cur = [], (n, m)
    while cur != (0, 0):
        prev = back[cur]
        beads.append((prev[0], cur[0], prev[1], cur[1]))
        cur = prev
    return beads[::-1]


def _anchors(zh: list[Paragraph], en: list[Paragraph]) -> list[tuple[int, int]]:
    """(zh index, en index) of units that start with the same paragraph number, unique on
    each side, in order on both sides."""
    def numbered(us: list[Paragraph]) -> dict[str, int]:
        found = [(m.group(1), i) for i, u in enumerate(us) if (m := NUMBER_RE.match(u.text))]
        counts = Counter(n for n, _ in found)
        return {n: i for n, i in found if counts[n] == 1}
    a, b = numbered(zh), numbered(en)
    out: list[tuple[int, int]] = []
    for num, i in sorted(((n, i) for n, i in a.items() if n in b), key=lambda p: p[1]):
        if not out or (i > out[-1][0] and b[num] > out[-1][1]):
            out.append((i, b[num]))
    return out


def align_units(zh: list[Paragraph], en: list[Paragraph]) -> list[tuple[int, int, int, int]]:
    """Beads (i0, i1, j0, j1) over the two unit lists: anchors, then Gale-Church between them."""
    zs = [(_size(u.text), _numbers(u.text)) for u in zh]
    es = [(_size(u.text), _numbers(u.text)) for u in en]
    ratio = max(sum(e[0] for e in es), 1) / max(sum(z[0] for z in zs), 1)
    cuts = [(0, 0), *_anchors(zh, en), (len(zh), len(en))]
    beads: list[tuple[int, int, int, int]] = []
    for (i0, j0), (i1, j1) in zip(cuts, cuts[1:]):
        beads += [(a + i0, b + i0, c + j0, d + j0) for a, b, c, d in gale_church(zs[i0:i1], es[j0:j1], ratio)]
    return beads


def _is_junk(text: str) -> bool:
    return not _WORD.search(_MARKUP.sub("", text))


def _spans(regex: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in regex.finditer(text) if text[m.start():m.end()].strip()]


@dataclass(frozen=True)
class Bead:
    zh_start: int
    zh_end: int
    en: tuple[Paragraph, ...]  # the English units, in order (empty: no English)


class Translation:
    """The English of Chinese spans of one document (see module docstring)."""

    def __init__(self, zh_source: str, en_source: str, beads: list[Bead], ratio: float) -> None:
        self.zh_source, self.en_source, self.beads, self.ratio = zh_source, en_source, beads, ratio
        self._zh_solid, self._en_solid = _solid_counts(zh_source), _solid_counts(en_source)
        self._starts = [b.zh_start for b in beads]
        self._maps: dict[int, list[tuple[int, int]]] = {}

    @classmethod
    def build(cls, zh_source: str, en_source: str, layout: str | None = None) -> Translation:
        zh = units(zh_source, layout)
        en = [u for u in units(en_source) if not _is_junk(u.text)]  # the English layout is its own
        ratio = max(sum(_size(u.text) for u in en), 1) / max(sum(_size(u.text) for u in zh), 1)
        beads = [Bead(zh[i0].start, zh[i1 - 1].end, tuple(en[j0:j1]))
                 for i0, i1, j0, j1 in align_units(zh, en) if i1 > i0]
        return cls(zh_source, en_source, beads, ratio)

    def english(self, start: int, end: int) -> tuple[int, int, str] | None:
        """(en_start, en_end, text) of the English aligned with the Chinese span [start, end),
        None when no English is aligned with it."""
        k = max(bisect.bisect_right(self._starts, start) - 1, 0)
        pieces: list[tuple[int, int]] = []
        while k < len(self.beads) and self.beads[k].zh_start < end:
            bead = self.beads[k]
            if bead.zh_end > start and bead.en:
                a = self._map(k, start) if start > bead.zh_start else bead.en[0].start
                b = self._map(k, end) if end < bead.zh_end else bead.en[-1].end
                if b > a:
                    pieces.append((a, b))
            k += 1
        if not pieces:
            return None
        text = " ".join(" ".join(self.en_source[a:b].split()) for a, b in pieces)
        return pieces[0][0], pieces[-1][1], text

    def _map(self, k: int, x: int) -> int:
        """English offset of a Chinese offset inside bead k: interpolated between the aligned
        sentence boundaries of the bead, then snapped to the nearest English sentence end (or,
        when none is near, clause end, else word end). Distances count non-blank characters, as
        the aligner does, so line breaks (CRLF or LF) and spacing move nothing. A function of x
        alone, so two chunks that share a cut share its English boundary."""
        anchors = self._maps.get(k) or self._sentence_anchors(k)
        self._maps[k] = anchors
        zs = [a for a, _ in anchors]
        i = min(max(bisect.bisect_right(zs, x) - 1, 0), len(anchors) - 2)
        (z0, e0), (z1, e1) = anchors[i], anchors[i + 1]
        zc, ec = self._zh_solid, self._en_solid
        guess = ec[e0] + (ec[e1] - ec[e0]) * (zc[x] - zc[z0]) / max(zc[z1] - zc[z0], 1)
        span = max(ec[anchors[-1][1]] - ec[anchors[0][1]], 1)
        for regex, tolerance in ((_EN_SENT, 0.2), (_EN_CLAUSE, 0.12), (_EN_WORD, 1.0)):
            ends = [e for _, e in anchors] + self._en_ends(k, regex)
            best = min(ends, key=lambda e: (abs(ec[e] - guess), e))
            if abs(ec[best] - guess) <= tolerance * span:
                return best
        return best  # unreachable: the bead's own ends lie within its span

    def _en_ends(self, k: int, regex: re.Pattern[str]) -> list[int]:
        out = []
        for u in self.beads[k].en:
            out += [u.start + b for _, b in _spans(regex, self.en_source[u.start:u.end])]
        return out

    def _sentence_anchors(self, k: int) -> list[tuple[int, int]]:
        """(zh offset, en offset) pairs at the aligned sentence boundaries of bead k, from its
        start to its end."""
        bead = self.beads[k]
        zh = [(bead.zh_start + a, bead.zh_start + b)
              for a, b in _spans(_ZH_SENT, self.zh_source[bead.zh_start:bead.zh_end])]
        en = [(u.start + a, u.start + b) for u in bead.en for a, b in _spans(_EN_SENT, self.en_source[u.start:u.end])]
        zi = [(_size(self.zh_source[a:b]), _numbers(self.zh_source[a:b])) for a, b in zh]
        ei = [(_size(self.en_source[a:b]), _numbers(self.en_source[a:b])) for a, b in en]
        anchors = [(bead.zh_start, bead.en[0].start)]
        for i0, i1, j0, j1 in gale_church(zi, ei, self.ratio)[:-1]:
            if i1 > 0 and j1 > 0:
                anchors.append((zh[i1 - 1][1], en[j1 - 1][1]))
        anchors.append((bead.zh_end, bead.en[-1].end))
        return anchors
