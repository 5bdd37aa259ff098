"""Query understanding: which documents, document kinds and speakers a question names.

Pure functions over the question text, the manifest Documents and the speakers of the corpus.
Entity names come from data tables (rag/data/member_states.tsv, rag/data/organs.tsv), never from
literals in code. See `parse_query` for the rules.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.lexical import DATA, has_cjk
from rag.records import Document, Filters, SpeakerInfo

STATES_FILE = DATA / "member_states.tsv"
ORGANS_FILE = DATA / "organs.tsv"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# ---------------------------------------------------------------- entity tables

@dataclass(frozen=True)
class Entity:
    canonical: str  # the name the Chinese records use: 中国, 美利坚合众国, 联合王国, 秘书长
    zh_short: str
    en: str
    kind: str  # state | observer | organ | role | office | organization | person
    aliases: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()  # English adjectives; count only before a delegation noun

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.canonical, self.zh_short, self.en, *self.aliases)))


def _split(cell: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in cell.split(";") if a.strip())


def _rows(path: Path, columns: int) -> Iterable[tuple[int, list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != columns or not cells[0].strip() or not cells[1].strip():
            raise ValueError(f"{path}:{n}: expected {columns} tab-separated cells with a Chinese and "
                             f"an English name, got {len(cells)}: {line!r}")
        yield n, [c.strip() for c in cells]


@functools.lru_cache(maxsize=4)
def load_entities(states: Path = STATES_FILE, organs: Path = ORGANS_FILE) -> Gazetteer:
    """Member and observer states (zh_short, en_short, aliases, zh_record, demonyms) and UN
    organs/offices/roles (zh, en, aliases, kind). Cached: the tables are immutable data."""
    out = []
    observers = {"Holy See", "State of Palestine"}
    for _, (zh, en, aliases, record, demonyms) in _rows(states, 5):
        kind = "observer" if en in observers else "state"
        out.append(Entity(record or zh, zh, en, kind, _split(aliases), _split(demonyms)))
    for _, (zh, en, aliases, kind) in _rows(organs, 4):
        out.append(Entity(zh, zh, en, kind, _split(aliases)))
    return Gazetteer(out)


class Gazetteer:
    """The entities and, for any of their names, every other name of the same entity."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self.entities = tuple(entities)
        self._index: dict[str, frozenset[str]] = {}
        for ent in self.entities:
            names = frozenset(_nfkc(n).casefold() for n in ent.names())
            for n in names:
                self._index[n] = self._index.get(n, frozenset()) | names

    def __iter__(self):
        return iter(self.entities)

    def __len__(self) -> int:
        return len(self.entities)

    def aliases(self, name: str) -> frozenset[str]:
        """Casefolded names equivalent to `name` (itself included)."""
        key = _nfkc(name).strip().casefold()
        return self._index.get(key, frozenset()) | {key}


# ---------------------------------------------------------------- speakers

# Text spans that contain an entity name but name no speaker. Longest match wins, so these
# shadow the shorter names inside them (中国 in 发展中国家, 印度 in 印度洋, 主席 in 主席声明).
NOT_SPEAKERS_ZH = ("联合国", "发展中国家", "中国家", "印度洋", "主席声明", "北美", "南美", "欧美", "拉美",
                   "中美洲", "马里稳定团", "中非稳定团", "联刚稳定团", "联海稳定团", "南苏丹特派团")
NOT_SPEAKERS_RE = (
    # the Council as the setting, not the speaker: 安理会会议, 安理会第8838次会议, Council meeting
    # (a routed symbol such as 第8838次会议 is blanked to "#" before names are looked up)
    re.compile(r"(?:安理会|安全理事会)\s*(?:第\s*\d+\s*次|#+)?\s*(?:会议|辩论|公开辩论|高级别公开辩论)?"
               r"(?<=[议论#])"),
    re.compile(r"\b(?:the\s+)?(?:Security\s+)?Council(?:'s)?\s+(?:meeting|debate|open debate)s?\b", re.I),
    re.compile(r"\bstatement\s+by\s+the\s+President(?:\s+of\s+the\s+(?:Security\s+)?Council)?\b", re.I),
    re.compile(r"\bPresidential\s+statement\b", re.I),
    re.compile(r"\bUnited\s+Nations\b", re.I),
    re.compile(r"\bin\s+(?:Chinese|English|French|Russian|Spanish|Arabic)\b", re.I),
)
# A name right after these cues is an addressee or the setting (决议请秘书长…, 给秘书长的信,
# 在安理会…, requests the Secretary-General, addressed to the President), not a speaker.
ADDRESSEE_ZH = re.compile(r"(?:请|要求|呼吁|敦促|促请|吁请|鼓励|邀请|责成|授权|给|致|向)\s*$")
ADDRESSEE_EN = re.compile(
    r"\b(?:requests?|requested|asks?|asked|calls?\s+(?:up)?on|called\s+(?:up)?on|urges?|urged|"
    r"encourages?|encouraged|invites?|invited|directs?|directed|addressed\s+to|submitted\s+to|"
    r"sent\s+to|letter\s+to|reports?\s+to|reported\s+to)\s+(?:the\s+)?$", re.I)
# A name after these is the setting (在安理会…, in the Council) unless its speech follows
# (在秘书长的发言中, in China's statement).
SETTING_ZH = re.compile(r"(?<![现正存实所])在\s*$")
SETTING_EN = re.compile(r"\b(?:in|at|before)\s+(?:the\s+)?$", re.I)
SPEECH_AFTER = re.compile(r"^\s*(?:的\s*)?(?:发言|讲话|通报|致辞|声明|意见|立场|观点)|^(?:'|’)s?\s+(?:statement|"
                          r"remarks|briefing|speech|intervention|view|position|words)", re.I)
DELEGATION_NOUNS = (r"delegations?|delegates?|representatives?|ambassadors?|government|side|"
                    r"minister|foreign\s+minister|envoy|statement|position|view|proposals?")


@dataclass(frozen=True)
class SpeakerRef:
    """A speaker named in a question, resolved to its canonical name."""

    canonical: str  # 中国, 美利坚合众国, 联合王国, 秘书长, 主席, or a person's name (戴兵)
    en: str
    kind: str
    surface: str  # the words of the question
    present: bool  # does any speaker of the corpus match it?
    matches: tuple[str, ...] = ()  # the corpus speakers (labels/affiliations) that match


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    entity: Entity | None  # None: a blocker (names no speaker)


def _spans(text: str, entities: Sequence[Entity]) -> list[_Span]:
    """Every candidate name span of the text (Chinese by substring, English on word boundaries)."""
    found: list[_Span] = []
    for ent in entities:
        for name in ent.names():
            found.extend(_find(text, name, ent))
        for dem in ent.demonyms:
            pat = rf"(?<![A-Za-z]){re.escape(dem)}\s+(?:{DELEGATION_NOUNS})\b"
            found.extend(_Span(m.start(), m.end(), ent) for m in re.finditer(pat, text, re.I))
    for word in NOT_SPEAKERS_ZH:
        found.extend(_find(text, word, None))
    for pat in NOT_SPEAKERS_RE:
        found.extend(_Span(m.start(), m.end(), None) for m in pat.finditer(text))
    return found


def _find(text: str, name: str, ent: Entity | None) -> list[_Span]:
    name = _nfkc(name)
    if has_cjk(name):
        return [_Span(m.start(), m.end(), ent) for m in re.finditer(re.escape(name), text)]
    acronym = name.replace(".", "").isupper() and len(name) <= 5
    pat = rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])"
    return [_Span(m.start(), m.end(), ent) for m in re.finditer(pat, text, 0 if acronym else re.I)]


def _longest(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping spans, longest first; at equal length a blocker wins over a name."""
    chosen: list[_Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.entity is not None, s.start)):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def _is_addressee(text: str, span: _Span) -> bool:
    before = text[max(0, span.start - 30):span.start]
    if re.search(r"according\s+to\s+(?:the\s+)?$", before, re.I):
        return False
    if ADDRESSEE_ZH.search(before) or ADDRESSEE_EN.search(before):
        return True
    if SETTING_ZH.search(before) or SETTING_EN.search(before):
        return not SPEECH_AFTER.search(text[span.end:span.end + 20])
    return False


def mentioned_entities(question: str, entities: Sequence[Entity]) -> tuple[list[tuple[Entity, str]], list[Entity]]:
    """(speakers as (entity, surface), addressees) named in the question, in order of mention."""
    text = _nfkc(question)
    speakers: list[tuple[Entity, str]] = []
    others: list[Entity] = []
    for span in _longest(_spans(text, entities)):
        if span.entity is None:
            continue
        if _is_addressee(text, span):
            others.append(span.entity)
        elif span.entity.canonical not in {e.canonical for e, _ in speakers}:
            speakers.append((span.entity, text[span.start:span.end]))
    return speakers, others


def _label_parts(label: str) -> list[str]:
    """'戴兵先生（中国）' -> ['戴兵', '中国']; '印度 (主席以本国身份发言)' -> ['印度']; '主席(以英语发言)' -> ['主席']."""
    label = _nfkc(label)
    parts = [p for p in re.findall(r"\(([^()]*)\)", label) if "发言" not in p]
    head = re.sub(r"\([^()]*\)", "", label).strip()
    head = re.sub(r"(?:先生|女士|阁下|夫人|博士)$", "", head).strip()
    return [p.strip() for p in [head, *parts] if p.strip()]


def _speaker_names(speaker: SpeakerInfo | str) -> list[str]:
    if isinstance(speaker, SpeakerInfo):
        return [_nfkc(s).strip() for s in (speaker.affiliation, speaker.name, speaker.role) if s]
    return _label_parts(speaker)


def speaker_matches(speaker: SpeakerInfo | str, canonical: str, gazetteer: Gazetteer | None = None) -> bool:
    """Does this corpus speaker (a SpeakerInfo or a label such as '戴兵先生（中国）') match the
    name? Names compare through the entity tables both ways (英国 ~ 联合王国 ~ UK ~ 大不列颠及北爱尔兰联合王国)."""
    wanted = (gazetteer or load_entities()).aliases(canonical)
    return any(name.casefold() in wanted for name in _speaker_names(speaker))


# ---------------------------------------------------------------- documents

@dataclass(frozen=True)
class _Ref:
    kind: str  # res | pv | sym
    number: int | None
    year: int | None
    symbol: str | None  # normalized full symbol for kind "sym"
    start: int
    end: int

    def display(self) -> str:
        if self.kind == "res":
            return f"S/RES/{self.number}" + (f" ({self.year})" if self.year else "")
        if self.kind == "pv":
            return f"S/PV.{self.number}"
        return self.symbol or ""


_YEAR = r"(?:\s*\(\s*((?:19|20)\d\d)\s*\))?"
REF_PATTERNS = (
    ("res", re.compile(r"(?<![A-Za-z0-9/])S\s*/\s*RES\s*/\s*(\d+)" + _YEAR, re.I)),
    ("pv", re.compile(r"(?<![A-Za-z0-9/])S\s*/\s*PV\s*\.\s*(\d+)()", re.I)),
    ("sym", re.compile(r"(?<![A-Za-z0-9/])((?:[SAE])\s*/\s*(?:[A-Za-z]+\s*[./]\s*)*\d+(?:\s*/\s*\d+)*"
                       r"(?:\s*\(\s*(?:19|20)\d\d\s*\))?)")),
    ("res", re.compile(r"第\s*(\d+)" + _YEAR + r"\s*号\s*决议")),
    ("res", re.compile(r"\bresolutions?\s+(?:No\.\s*)?(\d+)" + _YEAR, re.I)),
    ("pv", re.compile(r"第\s*(\d+)\s*次\s*会议()")),
    ("pv", re.compile(r"\b(\d+)\s*(?:st|nd|rd|th)\s+meeting()", re.I)),
    ("pv", re.compile(r"\bmeeting\s+(?:No\.\s*)?(\d+)()", re.I)),
    ("res", re.compile(r"(?<![\d/.])(\d{3,4})\s*\(\s*((?:19|20)\d\d)\s*\)")),
)


def _norm_symbol(raw: str) -> str:
    s = re.sub(r"\s+", "", _nfkc(raw)).upper()
    return re.sub(r"\((\d{4})\)$", r" (\1)", s)


def find_refs(question: str) -> list[_Ref]:
    """Document references in the question, earliest pattern first, never overlapping."""
    text = _nfkc(question)
    refs: list[_Ref] = []
    for kind, pat in REF_PATTERNS:
        for m in pat.finditer(text):
            if any(m.start() < r.end and r.start < m.end() for r in refs):
                continue
            if kind == "sym":
                refs.append(_Ref("sym", None, None, _norm_symbol(m.group(1)), m.start(), m.end()))
            else:
                year = int(m.group(2)) if m.group(2) else None
                refs.append(_Ref(kind, int(m.group(1)), year, None, m.start(), m.end()))
    return sorted(refs, key=lambda r: r.start)


def _doc_matches(ref: _Ref, doc: Document) -> bool:
    symbols = {_norm_symbol(s) for s in (doc.symbol, doc.id) if s}
    if ref.kind == "sym":
        return ref.symbol in symbols
    if ref.kind == "pv":
        return doc.meeting == ref.number or f"S/PV.{ref.number}" in symbols
    for s in symbols:
        m = re.fullmatch(r"S/RES/(\d+)(?: \((\d{4})\))?", s)
        if m and int(m.group(1)) == ref.number and (ref.year is None or m.group(2) in (None, str(ref.year))):
            return True
    return False


# ---------------------------------------------------------------- document kinds

DOC_TYPE_PATTERNS = (
    ("presidential_statement", re.compile(r"主席声明|presidential\s+statements?|statements?\s+by\s+the\s+"
                                          r"President|\bPRST\b", re.I)),
    ("resolution", re.compile(r"决议|\bresolutions?\b", re.I)),
    ("letter", re.compile(r"信函|信件|书信|来信|封信|(?:该|此|这|的)信(?![息任心号用誉念仰赖托守使奉服贷])|"
                          r"概念说明|讲习班|\bletters?\b|\bconcept\s+notes?\b|\bworkshops?\b", re.I)),
    ("meeting_record", re.compile(r"会议|辩论|\bmeetings?\b|\bdebates?\b", re.I)),
)


def find_doc_types(text: str) -> tuple[str, ...]:
    """Kinds of document named by free-standing words. Every kind named is kept (a filter over
    their union): a question naming a resolution and a debate may be about either."""
    found = []
    for kind, pat in DOC_TYPE_PATTERNS:
        m = pat.search(text)
        if m:
            found.append(kind)
            text = pat.sub(" ", text) if kind == "presidential_statement" else text
    return tuple(found)


# ---------------------------------------------------------------- the intent

@dataclass(frozen=True)
class QueryIntent:
    question: str
    lang: str  # zh | en
    doc_ids: tuple[str, ...] = ()
    unknown_symbols: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    speakers: tuple[SpeakerRef, ...] = ()
    missing_speakers: tuple[str, ...] = ()
    addressees: tuple[str, ...] = field(default=())  # named, but as addressee or setting

    @property
    def speaker_names(self) -> tuple[str, ...]:
        """Canonical names of the named speakers that occur in the corpus."""
        return tuple(s.canonical for s in self.speakers if s.present)

    def to_filters(self, doc_types: bool = True) -> Filters:
        return Filters(doc_ids=self.doc_ids, speakers=self.speaker_names,
                       doc_types=self.doc_types if doc_types else ())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_query(question: str, documents: Sequence[Document], speakers: Sequence[SpeakerInfo | str],
                gazetteer: Gazetteer | None = None) -> QueryIntent:
    """What the question names.

    - doc_ids: manifest documents named by symbol in any written form; a named symbol the corpus
      does not hold goes to unknown_symbols and is never mapped to another document.
    - doc_types: kinds named by free-standing words; words inside a symbol reference
      (第2518号决议, 第8838次会议) are not counted: the routed document already says its kind.
    - speakers: states, organs, roles and corpus person names, longest match first, English on
      word boundaries, demonyms (Chinese, American) only before a delegation noun; a name after an
      addressee cue (决议请秘书长, 给秘书长的信, requests the Secretary-General) is not a speaker.
      Each is present when a corpus speaker matches it (`speaker_matches`), else it is missing.
    """
    gaz = gazetteer or load_entities()
    text = _nfkc(question)
    refs = find_refs(text)
    doc_ids: list[str] = []
    unknown: list[str] = []
    for ref in refs:
        hits = [d.id for d in documents if _doc_matches(ref, d)]
        if hits:
            doc_ids.extend(hits)
        else:
            unknown.append(ref.display())
    for doc in documents:
        if len(doc.id) > 8 and doc.id in text:
            doc_ids.append(doc.id)
    rest = "".join("#" if any(r.start <= i < r.end for r in refs) else c for i, c in enumerate(text))

    found, others = mentioned_entities(rest, [*gaz.entities, *_people(speakers, gaz)])
    refs_out = []
    for ent, surface in found:
        matches = tuple(dict.fromkeys(_label(s) for s in speakers if speaker_matches(s, ent.canonical, gaz)))
        refs_out.append(SpeakerRef(ent.canonical, ent.en, ent.kind, surface, bool(matches), matches))
    return QueryIntent(
        question=question,
        lang="zh" if has_cjk(question) else "en",
        doc_ids=tuple(dict.fromkeys(doc_ids)),
        unknown_symbols=tuple(dict.fromkeys(unknown)),
        doc_types=find_doc_types(rest),
        speakers=tuple(refs_out),
        missing_speakers=tuple(r.canonical for r in refs_out if not r.present),
        addressees=tuple(dict.fromkeys(e.canonical for e in others)),
    )


def _label(speaker: SpeakerInfo | str) -> str:
    if isinstance(speaker, str):
        return speaker
    return speaker.affiliation or speaker.name or speaker.role or "?"


def _people(speakers: Sequence[SpeakerInfo | str], gaz: Gazetteer) -> list[Entity]:
    """Person names of the corpus speakers (戴兵) that the tables do not already know."""
    names = []
    for s in speakers:
        name = s.name if isinstance(s, SpeakerInfo) else (_label_parts(s) or [None])[0]
        if name and len(name) >= 2 and has_cjk(name) and gaz.aliases(name) == {name.casefold()}:
            names.append(name)
    return [Entity(n, n, n, "person") for n in dict.fromkeys(names)]
