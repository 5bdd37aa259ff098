"""Read-only views of a loaded corpus: documents, one document's turns in order, who speaks where,
and each document's source text (rag.protocols.SourceCorpus). Used by the HTTP service, the MCP
server and citation verification (rag.verify).

    catalog = Catalog(qa, corpus_dir)   # qa: rag.protocols.QA
    catalog.find("S/RES/2518(2020)")    # a Document, from its id or any written form of its symbol
    catalog.document(doc)               # metadata + turns, each with its chunks in order
    catalog.source_text(doc.id)         # the file as stored (chunk offsets index it)

When `qa` offers `chunks_of(doc_id)` and `source_text(doc_id)` (the index does), they are used;
otherwise the chunks are grouped once here and the source is read from `corpus_dir`, checked
against the chunks so that offsets from another version of the file are never reported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from rag.corpus import read_source
from rag.errors import FilterError, IndexLoadError, NotFoundError
from rag.query import DocLookup
from rag.records import Chunk, Document, Filters
from rag.text import squash


class Catalog:
    def __init__(self, qa: Any, corpus_dir: Path | None = None):
        self.documents: tuple[Document, ...] = tuple(qa.documents)
        self._docs = {d.id: d for d in self.documents}
        self._qa = qa
        self._corpus_dir = corpus_dir
        self._chunks: dict[str, list[Chunk]] | None = None
        if not callable(getattr(qa, "chunks_of", None)):
            self._chunks = _group(self.documents, qa.chunks)
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()
        self.lookup = DocLookup.of(self.documents)  # documents by symbol, meeting, resolution number
        self.doc_types = sorted({d.type for d in self.documents})
        self.symbols = sorted({d.symbol for d in self.documents if d.symbol})
        self._summaries = {d.id: self._summary(d) for d in self.documents}  # once, at load
        self._speakers = self._speaker_table()

    @property
    def doc_ids(self) -> list[str]:
        return list(self._docs)

    def chunks_of(self, doc_id: str) -> Sequence[Chunk]:
        if self._chunks is not None:
            return self._chunks[doc_id]
        return sorted(self._qa.chunks_of(doc_id), key=lambda c: (c.start, c.end))

    def chunk_count(self) -> int:
        return sum(d["chunk_count"] for d in self._summaries.values())

    def source_text(self, doc_id: str) -> str:
        """The document's file as stored; from the index when it keeps it, else from the corpus."""
        if callable(getattr(self._qa, "source_text", None)):
            return self._qa.source_text(doc_id)
        with self._lock:
            if doc_id in self._sources:
                return self._sources[doc_id]
        if self._corpus_dir is None:
            raise NotFoundError(f"the source text of {doc_id!r} is not available: no corpus directory was given")
        text = read_source(self._corpus_dir, self._docs[doc_id])
        _check_source(self._corpus_dir / self._docs[doc_id].file, text, self.chunks_of(doc_id))
        with self._lock:
            self._sources[doc_id] = text
        return text

    def check_filters(self, filters: Filters | None, field: str = "filters") -> Filters | None:
        """The filters, or None when they restrict nothing. A document id, symbol or type the index
        does not hold would silently match nothing: FilterError naming the field instead."""
        if filters is None:
            return None
        for name, values, known in (("doc_ids", filters.doc_ids, self.doc_ids), ("symbols", filters.symbols, self.symbols),
                                    ("doc_types", filters.doc_types, self.doc_types)):
            if name == "doc_ids":
                unknown = [v for v in values if self.find(v) is None]
            else:
                keys = {squash(k) for k in known}
                unknown = [v for v in values if squash(v) not in keys]
            if unknown:
                raise FilterError(f"{field}.{name}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
        return None if filters.is_empty() else filters

    def find(self, doc_id: str) -> Document | None:
        """The document with this id, or whose id or symbol has this written form (S/RES/2518(2020),
        Ｓ／PV.8838); None for a blank or unknown one."""
        if doc_id in self._docs:
            return self._docs[doc_id]
        key = squash(doc_id)
        if not key:
            return None
        return next((d for d in self.documents if key in (squash(d.id), squash(d.symbol or ""))), None)

    def _summary(self, doc: Document) -> dict[str, Any]:
        if self._aggregates():  # the index counts in SQL: no chunk record is read at load
            return doc.to_dict() | {"chunk_count": self._qa.chunk_counts().get(doc.id, 0),
                                    "speakers": self._qa.speakers_of(doc.id)}
        chunks = self.chunks_of(doc.id)
        speakers = list(dict.fromkeys(c.speaker for c in chunks if c.speaker))
        return doc.to_dict() | {"chunk_count": len(chunks), "speakers": speakers}

    def _aggregates(self) -> bool:
        return all(callable(getattr(self._qa, name, None))
                   for name in ("chunk_counts", "speakers_of", "speaker_turns"))

    def documents_summary(self) -> list[dict[str, Any]]:
        return list(self._summaries.values())

    def summary(self, doc: Document) -> dict[str, Any]:
        return self._summaries[doc.id]

    def document(self, doc: Document, paragraph: str | None = None) -> dict[str, Any]:
        """Metadata plus the document's turns in reading order, each with its chunks in order.
        Documents without speaker turns (resolutions, letters) have turns with `turn: null`.
        With `paragraph`, only the chunks of that paragraph (404 when it has none)."""
        chunks = list(self.chunks_of(doc.id))
        if paragraph is not None:
            chunks = [c for c in chunks if c.paragraph == paragraph.strip()]
            if not chunks:
                raise NotFoundError(f"{doc.id} has no paragraph {paragraph!r}")
        turns = []
        for (turn, speaker), group in groupby(chunks, key=lambda c: (c.turn, c.speaker)):
            part = list(group)
            info = part[0].speaker_info
            turns.append({
                "turn": turn,
                "speaker": speaker,
                "speaker_info": info.to_dict() if info else None,
                "start": part[0].start,
                "end": max(c.end for c in part),
                "chunks": [{"id": c.id, "paragraph": c.paragraph, "start": c.start, "end": c.end,
                            "text": c.text} for c in part],
            })
        return self.summary(doc) | {"turns": turns}

    def speakers(self, doc: Document | None = None) -> list[dict[str, Any]]:
        """Every speaker label, in order of first appearance, with the documents and turns it
        speaks in; with `doc`, only the speakers of that document."""
        if doc is None:
            return list(self._speakers)
        return [s | {"documents": [d for d in s["documents"] if d["doc_id"] == doc.id]}
                for s in self._speakers if any(d["doc_id"] == doc.id for d in s["documents"])]

    def _turns(self):
        """(label, info, document id, turn, chunks) per speaker turn, in reading order."""
        if self._aggregates():
            yield from self._qa.speaker_turns()
            return
        for doc in self.documents:
            for c in self.chunks_of(doc.id):
                if c.speaker:
                    yield c.speaker, c.speaker_info, doc.id, c.turn, 1

    def _speaker_table(self) -> list[dict[str, Any]]:
        table: dict[str, dict[str, Any]] = {}
        infos: dict[Any, None] = {}
        for label, info, doc_id, turn, n in self._turns():
            infos.setdefault(info or label)
            entry = table.setdefault(label, {
                "speaker": label, "speaker_info": info.to_dict() if info else None, "documents": {}})
            where = entry["documents"].setdefault(doc_id, {
                "doc_id": doc_id, "symbol": self._docs[doc_id].symbol, "turns": [], "chunk_count": 0})
            if turn is not None and turn not in where["turns"]:
                where["turns"].append(turn)
            where["chunk_count"] += n
        self.speaker_infos = tuple(infos)  # every distinct speaker (SpeakerInfo, else the label), for parse_query
        return [entry | {"documents": list(entry["documents"].values())} for entry in table.values()]


def _group(documents: Sequence[Document], chunks: Sequence[Chunk]) -> dict[str, list[Chunk]]:
    by_doc: dict[str, list[Chunk]] = {d.id: [] for d in documents}
    for c in chunks:
        if c.doc_id not in by_doc:
            raise IndexLoadError(f"chunk {c.id} belongs to document {c.doc_id!r}, "
                                 f"which is not among the index's documents")
        by_doc[c.doc_id].append(c)
    return {doc_id: sorted(cs, key=lambda c: (c.start, c.end)) for doc_id, cs in by_doc.items()}


def _check_source(path: Path, text: str, chunks: Sequence[Chunk]) -> None:
    """The chunks' offsets must index this text (whitespace aside): else the file changed since
    the index was built."""
    for c in chunks:
        if squash(text[c.start:c.end]) != squash(c.text):
            raise IndexLoadError(f"{path} changed since the index was built (chunk {c.id} at {c.start}-{c.end} "
                                 "no longer matches): rebuild it with `rag index`")
