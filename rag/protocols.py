"""Interfaces between stages, as typing.Protocol. Faces (CLI, service, LangChain retriever,
evaluation) depend on these, never on concrete classes, so tests can pass small fakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rag.records import Answer, Chunk, Document, Filters, SearchResult


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    model_id: str
    dimension: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


class Searcher(Protocol):
    def search(self, query: str, top_k: int = 5, filters: Filters | None = None) -> SearchResult: ...


class QA(Searcher, Protocol):
    """What the CLI, the HTTP service and the page need: search, ask, and the corpus they cover."""

    documents: Sequence[Document]
    chunks: Sequence[Chunk]
    info: dict[str, Any]  # the index's config.json

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            mode: str = "extractive") -> Answer: ...


class SourceCorpus(Protocol):
    """What citation verification (rag.verify) and the document views need: the documents, the
    chunks of one document in reading order, and the document's source text (the file as stored:
    chunk offsets index it)."""

    documents: Sequence[Document]

    def chunks_of(self, doc_id: str) -> Sequence[Chunk]: ...

    def source_text(self, doc_id: str) -> str: ...


# The retrieval seam (rag.retrieve): the candidate sources behind one retriever. FAISS and bm25s
# implement them today (rag.vectors.VectorIndex, rag.lexical.BM25); another store (Milvus) plugs
# in by implementing the same calls over the same stable chunk ids.

class VectorSearch(Protocol):
    """A vector index keyed by stable ids (chunk ids, or sentence ids for sentences)."""

    @property
    def ntotal(self) -> int: ...

    def search(self, query: np.ndarray, k: int, allowed: Any = None, *, live: int | None = None,
               exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the k best rows, best first, only among `allowed` (a rag.vectors.Allowed:
        a boolean mask over ids and its count) when given; `exhaustive`: exact over every row."""
        ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these ids."""
        ...


class LexicalSearch(Protocol):
    """A lexical index returning (id, score) with score > 0, best first, inside a boolean mask."""

    def search(self, query: str, k: int = 10, allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...

    def search_tokens(self, tokens: Sequence[str], k: int = 10,
                      allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...
