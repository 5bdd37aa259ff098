"""The records that cross stage boundaries: Document -> Paragraph -> Turn -> Chunk -> Passage -> Answer.

Every record is a frozen dataclass. `to_dict()` gives the stable JSON shape that the CLI, the
HTTP API and evaluation harnesses read: field names and order are part of the contract.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import quote

UNDOCS_URL = "https://undocs.org/zh/{symbol}"


@dataclass(frozen=True)
class Document:
    """One manifest entry. `symbol` stays None when the manifest has none: never invent one."""

    id: str
    symbol: str | None
    type: str  # a kind of rag.kinds.KINDS: meeting_record | summary_record | resolution | letter | ...
    organ: str | None
    date: str  # ISO date, YYYY-MM-DD
    title_zh: str
    title_en: str | None
    author: str | None
    file: str  # file name inside the corpus directory
    language: str = "zh"
    meeting: int | None = None
    notes: str | None = None
    translations: tuple[tuple[str, str], ...] = ()  # (language, file name in the corpus dir), sorted
    layout: str | None = None  # pdf_wrapped | paragraphs | segments; None: detected
    source_file: str | None = None  # the original PDF/Word file it was added from
    source_sha256: str | None = None

    @property
    def url(self) -> str | None:
        return UNDOCS_URL.format(symbol=quote(self.symbol, safe="/()")) if self.symbol else None

    def translation(self, language: str) -> str | None:
        """The file name of the official translation into `language`, if the manifest names one."""
        return dict(self.translations).get(language)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"translations": dict(self.translations), "url": self.url}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        """The inverse of to_dict (the derived `url` is dropped)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in names}
        if isinstance(values.get("translations"), dict):
            values["translations"] = tuple(sorted(values["translations"].items()))
        elif values.get("translations") is not None:
            values["translations"] = tuple(sorted(tuple(p) for p in values["translations"]))
        return cls(**values)


@dataclass(frozen=True)
class SpeakerInfo:
    name: str | None  # e.g. 戴兵, 古特雷斯; None when the record gives no name
    affiliation: str | None  # country or organ: 中国, 美利坚合众国, 秘书长, 安全理事会
    role: str | None  # 主席 | 秘书长 | member | council | signatory | ...
    language: str | None  # 以英语发言, or 中文 when no language tag is written
    capacity: str | None  # "president" | "national" | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of the source as reflowed: `text` has no hard wraps; [start, end) are
    character offsets (Python str indices) into the source file text."""

    text: str
    start: int
    end: int
    line: int  # 1-based line number of the paragraph's first line in the source file
    number: str | None = None  # the document's own paragraph number ("13"), when it has one


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    symbol: str | None
    doc_type: str
    speaker: str | None
    speaker_info: SpeakerInfo | None
    turn: int | None
    paragraph: str
    start: int
    end: int
    text: str
    role: str = "body"  # body | heading | front_matter (headings, title blocks, agenda lines)
    text_en: str | None = None  # the official English of the same span, when the document has one
    en_start: int | None = None  # [en_start, en_end): offsets of text_en in the English file
    en_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "symbol": self.symbol,
            "doc_type": self.doc_type,
            "speaker": self.speaker,
            "speaker_info": self.speaker_info.to_dict() if self.speaker_info else None,
            "turn": self.turn,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "role": self.role,
            "text_en": self.text_en,
            "en_start": self.en_start,
            "en_end": self.en_end,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        info = d.get("speaker_info")
        return cls(
            id=d["id"],
            doc_id=d["doc_id"],
            symbol=d["symbol"],
            doc_type=d["doc_type"],
            speaker=d["speaker"],
            speaker_info=SpeakerInfo(**info) if info else None,
            turn=d["turn"],
            paragraph=d["paragraph"],
            start=d["start"],
            end=d["end"],
            text=d["text"],
            role=d.get("role", "body"),
            text_en=d.get("text_en"),
            en_start=d.get("en_start"),
            en_end=d.get("en_end"),
        )


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Deterministic id: hash of doc id + offsets + text."""
    h = hashlib.sha256(f"{doc_id}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()
    return h[:16]


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved: with its score, 1-based rank and the document's title, date, url."""

    chunk: Chunk
    score: float
    rank: int
    title: str
    date: str
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        d = self.chunk.to_dict()
        d.pop("id")
        return d | {"score": round(float(self.score), 6), "rank": self.rank, "title": self.title,
                    "date": self.date, "url": self.url}


@dataclass(frozen=True)
class Filters:
    """Applied before ranking. Empty tuples mean 'no restriction'."""

    doc_ids: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()  # matched against the speaker label, name or affiliation
    doc_types: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def is_empty(self) -> bool:
        return self == Filters()


@dataclass(frozen=True)
class SearchResult:
    query: str
    passages: tuple[Passage, ...]
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "results": [p.to_dict() for p in self.passages],
                "diagnostics": self.diagnostics}


@dataclass(frozen=True)
class Answer:
    """`citations[i]` is the passage that the marker `[i+1]` in `answer` refers to."""

    question: str
    answer: str
    answerable: bool
    citations: tuple[Passage, ...]
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answerable": self.answerable,
            "citations": [{"id": i} | p.to_dict() for i, p in enumerate(self.citations, 1)],
            "diagnostics": self.diagnostics,
        }
