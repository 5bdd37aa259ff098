"""The naive baseline that most people would build: LangChain's RecursiveCharacterTextSplitter
(500 characters, 50 overlap) over each raw source text, no speakers, the same encoder, exact
inner-product search (faiss.IndexFlatIP). Used by evaluation to show what the pipeline adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.errors import InputError
from rag.corpus import load_manifest, read_source
from rag.protocols import Encoder
from rag.records import Chunk, Document, Filters, Passage, SearchResult, chunk_id

CHUNK_SIZE = 500
CHUNK_OVERLAP = 50


class NaiveBaseline:
    """search(query, top_k) over naive chunks. Cheap to construct; splits and embeds on first use."""

    def __init__(self, corpus_dir: str | Path, encoder: Encoder,
                 chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.encoder = encoder
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._documents: dict[str, Document] | None = None
        self._chunks: list[Chunk] = []
        self._index = None

    @property
    def chunks(self) -> list[Chunk]:
        self._build()
        return self._chunks

    def search(self, query: str, top_k: int = 5, filters: Filters | None = None) -> SearchResult:
        if filters is not None and not filters.is_empty():
            raise InputError("the naive baseline takes no filters")
        if top_k < 1:
            raise InputError(f"top_k must be >= 1, got {top_k}")
        self._build()
        q = np.ascontiguousarray(self.encoder.encode_queries([query]), dtype=np.float32)
        scores, rows = self._index.search(q, min(top_k, len(self._chunks)))
        passages = []
        for rank, (score, row) in enumerate(zip(scores[0], rows[0]), 1):
            chunk = self._chunks[int(row)]
            doc = self._documents[chunk.doc_id]
            passages.append(Passage(chunk=chunk, score=float(score), rank=rank,
                                    title=doc.title_zh, date=doc.date, url=doc.url))
        return SearchResult(query, tuple(passages), {"mode": "naive"})

    def _build(self) -> None:
        if self._index is not None:
            return
        import faiss  # heavy; only when the baseline is used

        documents = load_manifest(self.corpus_dir)
        chunks = [c for d in documents for c in split_document(
            d, read_source(self.corpus_dir, d), self.chunk_size, self.chunk_overlap)]
        vectors = np.ascontiguousarray(
            self.encoder.encode_passages([c.text for c in chunks]), dtype=np.float32)
        if vectors.shape != (len(chunks), self.encoder.dimension):
            raise ValueError(f"encoder returned shape {vectors.shape}, expected "
                             f"({len(chunks)}, {self.encoder.dimension})")
        index = faiss.IndexFlatIP(self.encoder.dimension)
        index.add(vectors)
        self._documents = {d.id: d for d in documents}
        self._chunks = chunks
        self._index = index


def split_document(doc: Document, text: str, chunk_size: int = CHUNK_SIZE,
                   chunk_overlap: int = CHUNK_OVERLAP) -> list[Chunk]:
    """Raw text -> Chunks with the splitter's start offsets (verified against the text)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                              add_start_index=True)
    chunks = []
    for n, piece in enumerate(splitter.create_documents([text]), 1):
        start = piece.metadata["start_index"]
        end = start + len(piece.page_content)
        if start < 0 or text[start:end] != piece.page_content:
            raise ValueError(f"{doc.file}: the splitter's start index {start} does not locate "
                             f"its chunk {piece.page_content[:30]!r}")
        chunks.append(Chunk(id=chunk_id(doc.id, start, end, piece.page_content), doc_id=doc.id,
                            symbol=doc.symbol, doc_type=doc.type, speaker=None, speaker_info=None,
                            turn=None, paragraph=f"chunk {n}", start=start, end=end,
                            text=piece.page_content))
    return chunks

