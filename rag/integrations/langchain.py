"""A LangChain retriever over any rag.protocols.Searcher (the pipeline, or a fake in tests).

    retriever = RagRetriever(searcher=pipeline, top_k=5, filters=Filters(speakers=("中国",)))
    chain = {"context": retriever | format_documents, "question": RunnablePassthrough()} | prompt | llm

Each LangChain Document's page_content is the passage text; its metadata carries every other
field of the passage (`rag search --json`): doc_id, symbol, doc_type, speaker, speaker_info,
turn, paragraph, start, end (character offsets into the source), score, rank, title, date, url.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.config import Settings
from rag.records import Filters, Passage


def passage_to_document(passage: Passage) -> Document:
    metadata = passage.to_dict()
    text = metadata.pop("text")
    return Document(page_content=text, metadata=metadata, id=passage.chunk.id)


def format_documents(documents: Sequence[Document]) -> str:
    """Numbered sources for a prompt: `[n] symbol, speaker (¶paragraph): text`, n = 1-based rank."""
    lines = []
    for n, doc in enumerate(documents, 1):
        meta = doc.metadata
        source = ", ".join(s for s in (meta.get("symbol") or meta.get("doc_id"), meta.get("speaker")) if s)
        lines.append(f"[{n}] {source} (¶{meta.get('paragraph')}): {doc.page_content}")
    return "\n".join(lines)


class RagRetriever(BaseRetriever):
    """Speaker-aware hybrid retrieval as a LangChain retriever; `searcher` is a rag.protocols.Searcher."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any
    top_k: int = Field(5, ge=1, le=Settings.max_top_k)  # the one limit (RAG_MAX_TOP_K's default)
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        result = self.searcher.search(query, top_k=self.top_k, filters=self.filters)
        return [passage_to_document(p) for p in result.passages]
