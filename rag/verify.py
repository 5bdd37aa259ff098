"""Citation verification: does a quote stand in a document, in whose turn, where?

    verifier = Verifier(corpus)                 # corpus: rag.protocols.SourceCorpus (FakeQA, rag.catalog.Catalog)
    verifier.verify(Claim("S/PV.8838", "中方建议……", speaker="中国")).to_dict()
    claims_of(item)                             # a claim, a list of them, or a whole /v1/ask answer -> [Claim]

Rules (README "For evaluation harnesses"):
- `found`: the quote stands in the document after width and whitespace normalisation (each side
  NFKC, every whitespace character dropped: rag.text.squash), so PDF line wraps and full-width
  forms do not matter; `exact`: it also stands byte for byte in the source file.
- `start`/`end`: offsets in the source file of the match, first character to one past the last
  (the offsets chunks carry); `paragraph`, `speaker`: of the chunk holding the start; `speakers`:
  of every chunk it covers; `crosses_turns`: it covers chunks of more than one turn (two
  speakers, or a speaker and text outside any turn).
- `speaker_matches` (only when a speaker is given): every turn the match covers belongs to that
  speaker, compared through the same entity tables as query routing (rag.entities.speaker_matches:
  肯尼亚 = Kenya = 基马尼 for 基马尼先生（肯尼亚）), or the label itself.
- A quote without Chinese characters is looked up in the official English of the chunks
  (`text_en`) when the document has one; then `language` is "en" and `start`/`end` index the
  English file (`en_start`/`en_end` of the chunks).
- When not found: `closest`, the passage most like the quote (difflib ratio over the normalised
  text, 0..1) with the differing characters as opcodes.
An unknown document gives found=false with `error` naming the documents held; nothing is guessed.
"""

from __future__ import annotations

import difflib
import json
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rag.entities import Gazetteer, load_entities, speaker_matches
from rag.errors import InputError
from rag.lexical import has_cjk
from rag.protocols import SourceCorpus
from rag.query import DocLookup, parse_query
from rag.records import Chunk, Document
from rag.text import squash

MAX_QUOTE_CHARS = 5000
CLOSEST_CANDIDATES = 12  # chunks compared in full with difflib, after a cheap bigram pre-ranking


@dataclass(frozen=True)
class Claim:
    doc: str  # a document id or any written form of its symbol
    quote: str
    speaker: str | None = None
    paragraph: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "item") -> Claim:
        if not isinstance(d, dict):
            raise InputError(f"{where}: expected an object with doc and quote, got {type(d).__name__}")
        unknown = set(d) - {"doc", "quote", "speaker", "paragraph"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; "
                             "expected doc, quote, speaker, paragraph")
        for name in ("doc", "quote"):
            if not isinstance(d.get(name), str) or not d[name].strip():
                raise InputError(f"{where}.{name}: a non-empty string is required")
        for name in ("speaker", "paragraph"):
            if d.get(name) is not None and not isinstance(d[name], str):
                raise InputError(f"{where}.{name}: expected a string or null")
        for name in ("doc", "quote", "speaker", "paragraph"):
            bad = next((ch for ch in d.get(name) or "" if ch == "\x00" or "\ud800" <= ch <= "\udfff"), None)
            if bad is not None:
                raise InputError(f"{where}.{name}: invalid Unicode (U+{ord(bad):04X}); send valid UTF-8 text")
        if len(d["quote"]) > MAX_QUOTE_CHARS:
            raise InputError(f"{where}.quote: {len(d['quote'])} characters; the limit is {MAX_QUOTE_CHARS}")
        return cls(d["doc"], d["quote"], d.get("speaker") or None, d.get("paragraph") or None)


@dataclass(frozen=True)
class Closest:
    """The passage most like a quote that was not found."""

    text: str  # the passage (source text) most like the quote
    speaker: str | None
    paragraph: str | None
    start: int
    end: int
    similarity: float  # difflib ratio of the normalised quote and passage, 0..1
    differences: tuple[dict[str, str], ...]  # {op: replace|delete|insert, quote: ..., source: ...}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"differences": list(self.differences)}


@dataclass(frozen=True)
class Verification:
    doc: str  # as given
    quote: str  # as given
    found: bool
    exact: bool
    doc_id: str | None
    symbol: str | None
    language: str | None  # zh (the document's text) | en (its official English)
    speaker: str | None  # of the turn holding the quote's start
    speakers: tuple[str | None, ...]  # of every turn the quote covers, in order
    speaker_given: str | None
    speaker_matches: bool | None  # None when no speaker was given or nothing was found
    paragraph: str | None
    paragraph_matches: bool | None  # None when no paragraph was given or nothing was found
    start: int | None
    end: int | None
    crosses_turns: bool
    closest: Closest | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["speakers"] = list(self.speakers)
        d["closest"] = self.closest.to_dict() if self.closest else None
        return d


@dataclass(frozen=True)
class _Folded:
    """A text with widths normalised and whitespace dropped, each character mapped back to the
    offset of the character it came from."""

    text: str
    offsets: tuple[int, ...]


def fold(text: str, base: int = 0) -> tuple[str, list[int]]:
    """(NFKC text without whitespace, offset in `text` (+ base) of each of its characters)."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch:
            if not c.isspace():
                out.append(c)
                offsets.append(base + i)
    return "".join(out), offsets


class Verifier:
    def __init__(self, corpus: SourceCorpus, gazetteer: Gazetteer | None = None, cache_size: int = 32):
        self.corpus = corpus
        self._gaz = gazetteer
        self._by_key = {}  # squashed id and symbol -> document (the first that claims it)
        for d in corpus.documents:
            for key in (squash(d.id), squash(d.symbol or "")):
                if key:
                    self._by_key.setdefault(key, d)
        self._lookup = DocLookup.of(corpus.documents)
        self._folded: OrderedDict[tuple[str, str], _Folded] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gaz is None:
            self._gaz = load_entities()
        return self._gaz

    def verify_all(self, claims: Sequence[Claim]) -> list[Verification]:
        return [self.verify(c) for c in claims]

    def result_of(self, item: Any) -> dict[str, Any]:
        """One line of `rag verify`'s output: the verification of a claim, or {results, summary}
        for a list of claims or an answer."""
        results = self.verify_all(claims_of(item))
        if isinstance(item, dict) and "citations" not in item:
            return results[0].to_dict()
        return {"results": [r.to_dict() for r in results], "summary": summary(results)}

    def verify(self, claim: Claim) -> Verification:
        quote = squash(claim.quote)
        if not quote:
            raise InputError("quote is empty")
        doc = self.find(claim.doc)
        if doc is None:
            known = ", ".join(d.symbol or d.id for d in self.corpus.documents)
            return _missing(claim, f"unknown document {claim.doc!r}; known: {known}")
        chunks = self.corpus.chunks_of(doc.id)
        language = "en" if not has_cjk(claim.quote) and any(c.text_en for c in chunks) else "zh"
        folded = self._fold(doc, language, chunks)
        spans = self._occurrences(claim, folded, quote, chunks, language)
        if not spans:
            return self._not_found(claim, doc, language, folded, quote, chunks)
        start, end, covered = spans[0]
        exact = (self.corpus.source_text(doc.id)[start:end] == claim.quote.strip() if language == "zh"
                 else any(claim.quote.strip() in (c.text_en or "") for c in covered))
        first = covered[0] if covered else None
        turns = list(dict.fromkeys((c.turn, c.speaker) for c in covered))
        return Verification(
            doc=claim.doc, quote=claim.quote, found=True, exact=exact, doc_id=doc.id, symbol=doc.symbol,
            language=language, speaker=first.speaker if first else None, speakers=tuple(s for _, s in turns),
            speaker_given=claim.speaker,
            speaker_matches=self._speaker_matches(claim.speaker, covered) if claim.speaker else None,
            paragraph=first.paragraph if first else None,
            paragraph_matches=(first is not None and first.paragraph == claim.paragraph.strip())
            if claim.paragraph else None,
            start=start, end=end, crosses_turns=len(turns) > 1)

    def _occurrences(self, claim: Claim, folded: _Folded, quote: str, chunks: Sequence[Chunk],
                     language: str) -> list[tuple[int, int, list[Chunk]]]:
        """Every place the quote stands, as (start, end, chunks covering it), the places that fit
        the claim first: the given paragraph and speaker (a sentence such as `通过议程` or `谢谢主席
        先生` stands in several places; the claim is about one of them)."""
        spans, at = [], folded.text.find(quote)
        while at >= 0:
            start, end = folded.offsets[at], folded.offsets[at + len(quote) - 1] + 1
            spans.append((start, end, _covering(chunks, start, end, language)))
            at = folded.text.find(quote, at + 1)

        def misfit(span: tuple[int, int, list[Chunk]]) -> tuple[bool, bool]:
            covered = span[2]
            paragraph = bool(claim.paragraph) and not (covered and covered[0].paragraph == claim.paragraph.strip())
            speaker = bool(claim.speaker) and not self._speaker_matches(claim.speaker, covered)
            return paragraph, speaker
        return sorted(spans, key=misfit)

    def find(self, written: str) -> Document | None:
        """The document with this id or symbol in any written form (S/RES/2518(2020), Ｓ／PV.8838,
        resolution 2518 (2020), 第8838次会议); None when it names none or several."""
        key = squash(written)
        if not key:
            return None
        if key in self._by_key:
            return self._by_key[key]
        hits = parse_query(written, self._lookup, (), self.gazetteer, people=()).doc_ids
        return self._by_key.get(squash(hits[0])) if len(hits) == 1 else None

    def _speaker_matches(self, given: str, covered: Sequence[Chunk]) -> bool:
        if not covered:
            return False
        for c in covered:
            if c.speaker is None:
                return False
            if squash(c.speaker) == squash(given):
                continue
            if not speaker_matches(c.speaker_info or c.speaker, given, self.gazetteer):
                return False
        return True

    def _fold(self, doc: Document, language: str, chunks: Sequence[Chunk]) -> _Folded:
        key = (doc.id, language)
        with self._lock:
            if key in self._folded:
                self._folded.move_to_end(key)
                return self._folded[key]
        if language == "zh":
            text, offsets = fold(self.corpus.source_text(doc.id))
            folded = _Folded(text, tuple(offsets))
        else:
            folded = _fold_english(chunks)
        with self._lock:
            self._folded[key] = folded
            if len(self._folded) > self._cache_size:
                self._folded.popitem(last=False)
        return folded

    def _not_found(self, claim: Claim, doc: Document, language: str, folded: _Folded, quote: str,
                   chunks: Sequence[Chunk]) -> Verification:
        closest = _closest(quote, chunks, language, self.corpus.source_text(doc.id) if language == "zh" else None)
        return Verification(
            doc=claim.doc, quote=claim.quote, found=False, exact=False, doc_id=doc.id, symbol=doc.symbol,
            language=language, speaker=None, speakers=(), speaker_given=claim.speaker, speaker_matches=None,
            paragraph=None, paragraph_matches=None, start=None, end=None, crosses_turns=False, closest=closest)


def _missing(claim: Claim, error: str) -> Verification:
    return Verification(doc=claim.doc, quote=claim.quote, found=False, exact=False, doc_id=None, symbol=None,
                        language=None, speaker=None, speakers=(), speaker_given=claim.speaker,
                        speaker_matches=None, paragraph=None, paragraph_matches=None, start=None, end=None,
                        crosses_turns=False, error=error)


def _fold_english(chunks: Sequence[Chunk]) -> _Folded:
    """The chunks' official English, folded and joined in reading order; offsets index the English
    file where a chunk's text_en is its verbatim span (length en_end - en_start), else the chunk's
    English span start."""
    parts: list[str] = []
    offsets: list[int] = []
    for c in chunks:
        if not c.text_en or c.en_start is None:
            continue
        verbatim = c.en_end is not None and c.en_end - c.en_start == len(c.text_en)
        text, offs = fold(c.text_en, c.en_start)
        if not verbatim:
            offs = [c.en_start] * len(offs)
        parts.append(text)
        offsets.extend(offs)
    return _Folded("".join(parts), tuple(offsets))


def _span(c: Chunk, language: str) -> tuple[int, int] | None:
    if language == "zh":
        return c.start, c.end
    return (c.en_start, c.en_end) if c.en_start is not None and c.en_end is not None else None


def _covering(chunks: Sequence[Chunk], start: int, end: int, language: str) -> list[Chunk]:
    """The chunks whose span overlaps [start, end), in reading order."""
    out = []
    for c in chunks:
        span = _span(c, language)
        if span and span[0] < end and start < span[1]:
            out.append(c)
    return sorted(out, key=lambda c: _span(c, language))


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


def _closest(quote: str, chunks: Sequence[Chunk], language: str, source: str | None) -> Closest | None:
    """The chunk window most like the quote: bigram overlap picks candidates, difflib aligns the
    quote inside each and scores the aligned window."""
    wanted = _bigrams(quote)
    texts = [(c, squash(c.text if language == "zh" else c.text_en or "")) for c in chunks]
    ranked = sorted((t for t in texts if t[1]), key=lambda t: -len(wanted & _bigrams(t[1])))[:CLOSEST_CANDIDATES]
    best: tuple[float, Chunk, str] | None = None
    for c, text in ranked:
        window = _aligned_window(quote, text)
        ratio = difflib.SequenceMatcher(None, quote, window, autojunk=False).ratio()
        if best is None or ratio > best[0]:
            best = (ratio, c, window)
    if best is None:
        return None
    ratio, c, window = best
    ops = difflib.SequenceMatcher(None, quote, window, autojunk=False).get_opcodes()
    differences = tuple({"op": op, "quote": quote[i1:i2], "source": window[j1:j2]}
                        for op, i1, i2, j1, j2 in ops if op != "equal")
    start, end = _span(c, language) or (0, 0)
    if source is not None:  # narrow the span to the aligned window when it is found in the chunk
        folded, offsets = fold(source[c.start:c.end], c.start)
        at = folded.find(window)
        if at >= 0 and window:
            start, end = offsets[at], offsets[at + len(window) - 1] + 1
    text = source[start:end] if source is not None else window
    return Closest(text=text, speaker=c.speaker, paragraph=c.paragraph, start=start, end=end,
                   similarity=round(ratio, 3), differences=differences)


def _aligned_window(quote: str, text: str) -> str:
    """The stretch of `text`, as long as the quote, aligned on their longest common block."""
    block = difflib.SequenceMatcher(None, text, quote, autojunk=False).find_longest_match(0, len(text), 0, len(quote))
    lo = max(0, block.a - block.b)
    return text[lo:lo + len(quote)]


def claims_of(item: Any, where: str = "body") -> list[Claim]:
    """The claims in a request: one {doc, quote, speaker?, paragraph?}, a list of them, or a whole
    /v1/ask answer ({question, answer, citations: [...]}: each citation's passage text is checked
    against its document, speaker and paragraph)."""
    if isinstance(item, list):
        if not item:
            raise InputError(f"{where}: the list is empty")
        return [Claim.from_dict(x, f"{where}[{i}]") for i, x in enumerate(item)]
    if isinstance(item, dict) and "citations" in item:
        cites = item["citations"]
        if not isinstance(cites, list):
            raise InputError(f"{where}.citations: expected a list")
        out = []
        for i, c in enumerate(cites):
            if not isinstance(c, dict) or not isinstance(c.get("text"), str):
                raise InputError(f"{where}.citations[{i}]: expected a citation with doc_id and text")
            doc = c.get("doc_id") or c.get("symbol")
            if not isinstance(doc, str) or not doc.strip():
                raise InputError(f"{where}.citations[{i}]: doc_id is missing")
            out.append(Claim.from_dict({"doc": doc, "quote": c["text"], "speaker": c.get("speaker"),
                                        "paragraph": c.get("paragraph")}, f"{where}.citations[{i}]"))
        return out
    return [Claim.from_dict(item, where)]


def read_items(text: str, name: str) -> list[Any]:
    """The items of a JSON-lines text, every one checked (claims_of) before any is verified; an
    error names `name:line`. Blank lines are not items."""
    items = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from e
        claims_of(item, f"{name}:{lineno}")
        items.append(item)
    if not items:
        raise InputError(f"{name}: no items (one JSON object per line)")
    return items


def summary(results: Sequence[Verification]) -> dict[str, int]:
    return {"total": len(results), "found": sum(r.found for r in results), "exact": sum(r.exact for r in results),
            "speaker_mismatches": sum(r.speaker_matches is False for r in results),
            "crosses_turns": sum(r.crosses_turns for r in results),
            "unknown_documents": sum(r.doc_id is None for r in results)}
