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
