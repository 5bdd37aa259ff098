"""Query understanding: which documents, document kinds and speakers a question names.

Pure functions over the question text, the manifest Documents and the speakers of the corpus.
Entity names come from data tables through rag.entities, never from literals in code. See
`parse_query` for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.entities import (Entity, Gazetteer, Matcher, entity_matchers, label_parts, load_entities,
                          person_names, speaker_matches)
from rag.mentions import mentioned_entities
from rag.question_kinds import DOC_TYPE_PATTERNS, asks_structure, find_doc_types
from rag.lexical import has_cjk
from rag.records import Document, Filters, SpeakerInfo
from rag.text import SYMBOL_RE, canonical_symbol, nfkc

__all__ = ["DOC_TYPE_PATTERNS", "Entity", "Gazetteer", "QueryIntent", "SpeakerRef", "asks_structure",
           "find_doc_types", "find_refs", "load_entities", "parse_query", "speaker_matches"]


@dataclass(frozen=True)
class SpeakerRef:
    """A speaker named in a question, resolved to its canonical name."""

    canonical: str  # 中国, 美利坚合众国, 联合王国, 秘书长, 主席, or a person's name (戴兵)
    en: str
    kind: str
    surface: str  # the words of the question
    present: bool  # does any speaker of the corpus match it?
    matches: tuple[str, ...] = ()  # the corpus speakers (labels/affiliations) that match


# ---------------------------------------------------------------- documents

@dataclass(frozen=True)
class _Ref:
    kind: str  # res | sres (numbered by session) | pv | mtg | sym
    number: int | None
    year: int | None
    symbol: str | None  # normalized full symbol ("sym"); as written ("sres", a "res" not written S/RES/…)
    start: int
    end: int

    def display(self) -> str:
        """How a message names it: a full symbol only where the question gave one (a resolution
        numbered by session, `resolution 2023/1`, is shown as written: its organ is unknown)."""
        if self.kind == "res":
            return self.symbol or f"S/RES/{self.number}" + (f" ({self.year})" if self.year else "")
        if self.kind == "pv":
            return f"S/PV.{self.number}"
        return self.symbol or ""

    @property
    def session_number(self) -> str | None:
        """`2023/18` of a resolution numbered by session."""
        m = re.search(r"\d+\s*/\s*\d+", self.symbol or "") if self.kind == "sres" else None
        return re.sub(r"\s", "", m.group()) if m else None

    def same(self, other: _Ref) -> bool:
        """Do both name the same document? (A resolution without its year names it in any year.)"""
        if self.kind != other.kind:
            return False
        if self.kind == "res":
            return self.number == other.number and (None in (self.year, other.year) or self.year == other.year)
        if self.kind in ("pv", "mtg"):
            return self.number == other.number
        if self.kind == "sres":
            return self.session_number == other.session_number
        return self.symbol == other.symbol


_YEAR = r"(?:\s*\(\s*((?:19|20)\d\d)\s*\))?"
REF_PATTERNS = (
    ("res", re.compile(r"(?<![A-Za-z0-9/])S\s*/\s*RES\s*/\s*(\d+)" + _YEAR, re.I)),
    ("pv", re.compile(r"(?<![A-Za-z0-9/])S\s*/\s*PV\s*\.\s*(\d+)()", re.I)),
    ("sym", SYMBOL_RE),
    # a resolution numbered by session (ECOSOC 2023/18, General Assembly 77/247): no organ prefix
    ("sres", re.compile(r"第\s*(\d{1,4}\s*/\s*\d{1,4})\s*号\s*决议")),
    ("sres", re.compile(r"\bresolutions?\s+(?:No\.\s*)?(\d{1,4}\s*/\s*\d{1,4})\b", re.I)),
    ("res", re.compile(r"第\s*(\d+)" + _YEAR + r"\s*号\s*决议")),
    ("res", re.compile(r"\bresolutions?\s+(?:No\.\s*)?(\d+)" + _YEAR, re.I)),
    # Security Council meetings are numbered in the thousands: 第3次会议 is no symbol
    ("pv", re.compile(r"第\s*(\d{4,})\s*次\s*会议()")),
    # a meeting numbered below 1000 (a committee's 第413次会议): routed to the document recording
    # that meeting when the corpus holds one, never reported as a missing symbol
    ("mtg", re.compile(r"第\s*(\d{1,3})\s*次\s*会议()")),
    ("mtg", re.compile(r"\b(\d{1,3})\s*(?:st|nd|rd|th)\s+meeting()", re.I)),
    ("pv", re.compile(r"\b(\d{4,})\s*(?:st|nd|rd|th)\s+meeting()", re.I)),
    ("pv", re.compile(r"\bmeeting\s+(?:No\.\s*)?(\d{4,})()", re.I)),
    ("res", re.compile(r"(?<![\d/.])(\d{3,4})\s*\(\s*((?:19|20)\d\d)\s*\)")),
)


def find_refs(question: str) -> list[_Ref]:
    """Document references in the question, earliest pattern first, never overlapping."""
    text = nfkc(question)
    refs: list[_Ref] = []
    for kind, pat in REF_PATTERNS:
        for m in pat.finditer(text):
            if any(m.start() < r.end and r.start < m.end() for r in refs):
                continue
            if kind == "sym":
                refs.append(_Ref("sym", None, None, canonical_symbol(m.group()), m.start(), m.end()))
            elif kind == "sres":
                refs.append(_Ref("sres", None, None, " ".join(m.group().split()), m.start(), m.end()))
            else:
                year = int(m.group(2)) if m.group(2) else None
                # a resolution not written as S/RES/… is shown as written: `大会第2200号决议`
                # or `resolution 2200` may be another organ's, and its symbol is not ours to invent
                surface = None if kind != "res" or "/" in m.group() else " ".join(m.group().split())
                refs.append(_Ref(kind, int(m.group(1)), year, surface, m.start(), m.end()))
    return sorted(refs, key=lambda r: r.start)


def scoring_text(intent: QueryIntent, consumed_speakers: Sequence[str] = ()) -> str:
    """The question with the parts already routed blanked out: document references (routed to
    their document) and the named speakers in `consumed_speakers` (filtered or boosted). What is
    left is what the passage itself must say, so a document's title or a passage that merely
    names the speaker no longer outranks the passage that answers."""
    text = nfkc(intent.question)
    if intent.doc_ids:
        for ref in reversed(find_refs(text)):
            text = text[:ref.start] + " " + text[ref.end:]
    for ref in intent.speakers:
        if ref.canonical in consumed_speakers and ref.surface:
            text = text.replace(ref.surface, " ", 1)
    text += "".join(f" {term}" for pattern, term in MEETING_TIMES if pattern.search(text))
    return " ".join(text.split()) or intent.question


# When a meeting began or ended is in the record's own words: 上午10时15分开会。 上午11时35分散会。
MEETING_TIMES = ((re.compile(r"(?:几点|何时|什么时候|什么时间)\s*(?:开始|开幕)"), "开会"),
                 (re.compile(r"(?:几点|何时|什么时候|什么时间)\s*(?:结束|闭幕|休会)"), "散会"))


_RES_SYMBOL = re.compile(r"S/RES/(\d+)(?: \((\d{4})\))?")
_SESSION_RES_SYMBOL = re.compile(r"[A-Z]+/RES/(\d+/\d+)")


@dataclass(frozen=True)
class DocLookup:
    """The documents by what a question may call them, built once per index (Retriever memoizes
    it), so naming a document costs a dictionary lookup, not a pass over every document: the
    canonical symbol (and id), the meeting number, the resolution number with its year, and the
    long ids a question may write out. Hits keep manifest order."""

    by_symbol: dict[str, tuple[int, ...]]
    by_meeting: dict[int, tuple[int, ...]]
    by_resolution: dict[int, tuple[tuple[int, int | None], ...]]  # number -> (position, year)
    by_session: dict[str, tuple[int, ...]]  # `2023/18` -> positions (E/RES/2023/18)
    ids: tuple[str, ...]
    long_ids: tuple[str, ...]

    @classmethod
    def of(cls, documents: Sequence[Document]) -> DocLookup:
        by_symbol: dict[str, list[int]] = {}
        by_meeting: dict[int, list[int]] = {}
        by_resolution: dict[int, list[tuple[int, int | None]]] = {}
        by_session: dict[str, list[int]] = {}
        for i, doc in enumerate(documents):
            for symbol in dict.fromkeys(canonical_symbol(s) for s in (doc.symbol, doc.id) if s):
                by_symbol.setdefault(symbol, []).append(i)
                m = _RES_SYMBOL.fullmatch(symbol)
                if m:
                    by_resolution.setdefault(int(m.group(1)), []).append((i, int(m.group(2)) if m.group(2) else None))
                m = _SESSION_RES_SYMBOL.fullmatch(symbol)
                if m:
                    by_session.setdefault(m.group(1), []).append(i)
            if doc.meeting is not None:
                by_meeting.setdefault(doc.meeting, []).append(i)
        ids = tuple(d.id for d in documents)
        freeze = lambda d: {k: tuple(dict.fromkeys(v)) for k, v in d.items()}  # noqa: E731
        return cls(freeze(by_symbol), freeze(by_meeting), freeze(by_resolution), freeze(by_session), ids,
                   tuple(i for i in ids if len(i) > 8))

    def find(self, ref: _Ref) -> list[str]:
        """Ids of the documents a reference names, in manifest order."""
        if ref.kind == "sym":
            hits = set(self.by_symbol.get(ref.symbol or "", ()))
        elif ref.kind == "sres":
            hits = set(self.by_session.get(ref.session_number or "", ()))
        elif ref.kind in ("pv", "mtg"):
            hits = set(self.by_meeting.get(ref.number or 0, ()))
            if ref.kind == "pv":
                hits |= set(self.by_symbol.get(f"S/PV.{ref.number}", ()))
        else:
            hits = {i for i, year in self.by_resolution.get(ref.number or 0, ())
                    if ref.year is None or year in (None, ref.year)}
        return [self.ids[i] for i in sorted(hits)]


# ---------------------------------------------------------------- the intent

# A speaker of these kinds who does not speak in the corpus makes the question unanswerable
# ("What did Brazil say?"). An organ or a role that speaks nowhere is not refused: it is the topic
# or the setting of many questions ("the General Assembly", "the chair").
REFUSABLE_KINDS = ("state", "observer", "person", "office", "organization")

@dataclass(frozen=True)
class QueryIntent:
    question: str
    lang: str  # zh | en
    doc_ids: tuple[str, ...] = ()
    unknown_symbols: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    speakers: tuple[SpeakerRef, ...] = ()
    missing_speakers: tuple[str, ...] = ()
    non_speakers: tuple[str, ...] = field(default=())  # named as addressee, setting or reported content
    structural: bool = False  # asks about headings / front matter (asks_structure)

    @property
    def speaker_names(self) -> tuple[str, ...]:
        """Canonical names of the named speakers that occur in the corpus."""
        return tuple(s.canonical for s in self.speakers if s.present)

    def to_filters(self, doc_types: bool = True) -> Filters:
        return Filters(doc_ids=self.doc_ids, speakers=self.speaker_names,
                       doc_types=self.doc_types if doc_types else ())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_query(question: str, documents: Sequence[Document] | DocLookup,
                speakers: Sequence[SpeakerInfo | str], gazetteer: Gazetteer | None = None,
                people: Sequence[Matcher] | None = None) -> QueryIntent:
    """What the question names.

    - doc_ids: manifest documents named by symbol in any written form; a named symbol the corpus
      does not hold goes to unknown_symbols and is never mapped to another document.
    - doc_types: kinds named by free-standing words; words inside a symbol reference
      (第2518号决议, 第8838次会议) are not counted: the routed document already says its kind.
    - speakers: states, organs, roles and corpus person names, longest match first, English on
      word boundaries, demonyms (Chinese, American) only before a delegation noun; a name after an
      addressee, object, topic or setting cue (rag.mentions: 决议请秘书长, 决议欢迎秘书长…, 对巴勒斯坦问题,
      在安理会) is not a speaker. Each is present when a corpus speaker matches it
      (`speaker_matches`); a state, person, office or organization that is not is missing.
    """
    gaz = gazetteer or load_entities()
    text = nfkc(question)
    refs = find_refs(text)
    doc_ids: list[str] = []
    unknown: list[str] = []
    lookup = documents if isinstance(documents, DocLookup) else DocLookup.of(documents)
    for ref in refs:
        hits = lookup.find(ref)
        if hits:
            doc_ids.extend(hits)
        elif ref.kind != "mtg":
            unknown.append(ref.display())
    doc_ids.extend(i for i in lookup.long_ids if i in text)
    rest = "".join("#" if any(r.start <= i < r.end for r in refs) else c for i, c in enumerate(text))

    people = person_matchers(speakers, gaz) if people is None else people
    found, others = mentioned_entities(rest, [*gaz.matchers, *gaz.blockers, *people])
    refs_out = []
    for ent, surface in found:
        matches = _matching_labels(speakers, ent.canonical, gaz)
        written = tuple(m for m in matches if len(m) > len(surface) and _inside(surface, m, rest))
        if written:  # `第一工作组主席的文件`: the question writes out one chair's label, not any chair
            refs_out.append(SpeakerRef(written[0], ent.en, ent.kind, surface, True, written))
            continue
        refs_out.append(SpeakerRef(ent.canonical, ent.en, ent.kind, surface, bool(matches), matches))
    return QueryIntent(
        question=question,
        lang="zh" if has_cjk(question) else "en",
        doc_ids=tuple(dict.fromkeys(doc_ids)),
        unknown_symbols=tuple(dict.fromkeys(unknown)),
        doc_types=find_doc_types(rest),
        speakers=tuple(refs_out),
        missing_speakers=tuple(r.canonical for r in refs_out if not r.present and r.kind in REFUSABLE_KINDS),
        non_speakers=tuple(dict.fromkeys(e.canonical for e in others)),
        structural=asks_structure(question),
    )


def _matching_labels(speakers: Sequence[SpeakerInfo | str], name: str, gaz: Gazetteer) -> tuple[str, ...]:
    """The labels of the corpus speakers a name matches: the one it spells out exactly when no table
    holds it (an author's label, 第一工作组主席), else every speaker it matches through the tables
    (主席: every chair; 安全理事会: the Council and its president)."""
    labels = tuple(dict.fromkeys(_label(s) for s in speakers))
    if name in labels and gaz.entity(name) is None:  # as rag.filters.speaker_ids
        return (name,)
    return tuple(dict.fromkeys(_label(s) for s in speakers if speaker_matches(s, name, gaz)))


def _inside(surface: str, label: str, text: str) -> bool:
    """Does every occurrence of `surface` in `text` lie inside an occurrence of `label`? (主席 in
    `第一工作组主席的文件`, but not in `主席对第一工作组主席的文件…`.)"""
    spans = [(m.start(), m.end()) for m in re.finditer(re.escape(label), text)]
    hits = [m.start() for m in re.finditer(re.escape(surface), text)]
    return bool(spans and hits) and all(any(a <= i and i + len(surface) <= b for a, b in spans) for i in hits)


def _label(speaker: SpeakerInfo | str) -> str:
    if isinstance(speaker, str):
        return speaker
    return speaker.affiliation or speaker.name or speaker.role or "?"


def person_matchers(speakers: Sequence[SpeakerInfo | str], gaz: Gazetteer) -> list[Matcher]:
    """Matchers of the corpus speakers' person names (see _people): built once per index by the
    retriever, passed to parse_query."""
    return [m for e in _people(speakers, gaz) for m in entity_matchers(e)]


def _people(speakers: Sequence[SpeakerInfo | str], gaz: Gazetteer) -> list[Entity]:
    """Person names of the corpus speakers that the tables do not already know: Chinese names of
    two characters or more (戴兵), Latin names of three letters or more written with a capital
    (Mansour, Pedroso Cuesta)."""
    names = []
    for s in speakers:
        name = s.name if isinstance(s, SpeakerInfo) else (label_parts(s) or [""])[0]
        for n in person_names(name or ""):
            usable = len(n) >= 2 if has_cjk(n) else (len(n) >= 3 and n[0].isupper() and n.isascii())
            if usable and gaz.keys(n) == {n.casefold()}:
                names.append(n)
    return [Entity(n, n, n, "person") for n in dict.fromkeys(names)]
