"""Read-only views of the loaded corpus: documents, one document's turns in order, who speaks where.

Built once from `qa.documents` and `qa.chunks` when the index has loaded; requests only read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from rag.records import Chunk, Document
from rag.text import squash


class Catalog:
    def __init__(self, documents: Sequence[Document], chunks: Sequence[Chunk]):
        self._docs = {d.id: d for d in documents}
        by_doc: dict[str, list[Chunk]] = {d.id: [] for d in documents}
        for c in chunks:
            if c.doc_id not in by_doc:
                raise ValueError(f"chunk {c.id} belongs to document {c.doc_id!r}, "
                                 f"which is not among the index's documents")
            by_doc[c.doc_id].append(c)
        self._chunks = {doc_id: sorted(cs, key=lambda c: (c.start, c.end)) for doc_id, cs in by_doc.items()}
        self.doc_types = sorted({d.type for d in documents})
        self.symbols = sorted({d.symbol for d in documents if d.symbol})

    @property
    def doc_ids(self) -> list[str]:
        return list(self._docs)

    def chunk_count(self) -> int:
        return sum(len(cs) for cs in self._chunks.values())

    def _summary(self, doc: Document) -> dict[str, Any]:
        chunks = self._chunks[doc.id]
        speakers = list(dict.fromkeys(c.speaker for c in chunks if c.speaker))
        return doc.to_dict() | {"chunk_count": len(chunks), "speakers": speakers}

    def documents(self) -> list[dict[str, Any]]:
        return [self._summary(d) for d in self._docs.values()]

    def find(self, doc_id: str) -> Document | None:
        if doc_id in self._docs:
            return self._docs[doc_id]
        key = squash(doc_id)  # S/RES/2518(2020), Ｓ／PV.8838: the written forms of a held symbol
        return next((d for d in self._docs.values()
                     if key in (squash(d.id), squash(d.symbol or ""))), None)

    def document(self, doc: Document) -> dict[str, Any]:
        """Metadata plus the document's turns in reading order, each with its chunks in order.
        Documents without speaker turns (resolutions, letters) have turns with `turn: null`."""
        turns = []
        for (turn, speaker), group in groupby(self._chunks[doc.id], key=lambda c: (c.turn, c.speaker)):
            chunks = list(group)
            info = chunks[0].speaker_info
            turns.append({
                "turn": turn,
                "speaker": speaker,
                "speaker_info": info.to_dict() if info else None,
                "start": chunks[0].start,
                "end": max(c.end for c in chunks),
                "chunks": [{"id": c.id, "paragraph": c.paragraph, "start": c.start, "end": c.end,
                            "text": c.text} for c in chunks],
            })
        return self._summary(doc) | {"turns": turns}

    def speakers(self) -> list[dict[str, Any]]:
        """Every speaker label, in order of first appearance, with the documents and turns it speaks in."""
        table: dict[str, dict[str, Any]] = {}
        for doc in self._docs.values():
            for c in self._chunks[doc.id]:
                if not c.speaker:
                    continue
                entry = table.setdefault(c.speaker, {
                    "speaker": c.speaker,
                    "speaker_info": c.speaker_info.to_dict() if c.speaker_info else None,
                    "documents": {},
                })
                where = entry["documents"].setdefault(doc.id, {
                    "doc_id": doc.id, "symbol": doc.symbol, "turns": [], "chunk_count": 0})
                if c.turn is not None and c.turn not in where["turns"]:
                    where["turns"].append(c.turn)
                where["chunk_count"] += 1
        return [entry | {"documents": list(entry["documents"].values())} for entry in table.values()]
