"""The index directory: FAISS (chunks and their sentences) + BM25 state + chunk records + config.json.

index/<name>/
  config.json      model id and weights hash, dimension, chunker version, corpus hash, versions
  documents.json   the manifest's Document records
  chunks.jsonl     one Chunk record per line (row i of the FAISS index is line i)
  dense.faiss      chunk vectors ("passage: " + text)
  sentences.faiss  one vector per sentence of every chunk; sentences.json maps rows to chunks
  bm25.json        the lexical index state

A build writes a temporary sibling directory and swaps it in with renames, so a failed or
interrupted build leaves the previous index intact. Loading with another model or chunker fails.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.chunks import CHUNKER_VERSION, chunk_corpus
from rag.corpus import corpus_hash
from rag.errors import IndexLoadError
from rag.lexical import BM25, Tokenizer
from rag.records import Chunk, Document
from rag.sentences import SPLITTER_VERSION, split_sentences

FORMAT_VERSION = 1
DEFAULT_FACTORY = "Flat"  # exact inner product; e.g. "HNSW32" or "IVF64,Flat" for large corpora


@dataclass(frozen=True)
class Index:
    path: Path
    config: dict[str, Any]
    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    dense: Any  # faiss.Index over chunks
    sentences: Any  # faiss.Index over sentences
    sentence_chunk: np.ndarray  # row -> chunk row
    bm25: BM25


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("unrag", "faiss-cpu", "sentence-transformers", "transformers", "torch", "jieba"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def expected_config(corpus_dir: Path, chunks: list[Chunk], tokenizer: Tokenizer, encoder: Any,
                    factory: str) -> dict[str, Any]:
    """What decides whether an index is current: the corpus, the chunks the code makes of it
    (so a chunker change without a version bump is still seen), the tokenizer's dictionary, the
    sentence splitter, the model and the FAISS index type."""
    records = "\n".join(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True) for c in chunks)
    return {
        "format_version": FORMAT_VERSION,
        "model_id": str(encoder.model_id),
        "model_hash": getattr(encoder, "weights_hash", None),
        "dimension": int(encoder.dimension),
        "chunker_version": CHUNKER_VERSION,
        "chunks_hash": hashlib.sha256(records.encode("utf-8")).hexdigest(),
        "tokenizer": tokenizer.signature(),
        "sentence_splitter": SPLITTER_VERSION,
        "corpus_hash": corpus_hash(corpus_dir),
        "faiss_factory": factory,
    }


def read_config(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def is_current(path: Path, expected: dict[str, Any]) -> bool:
    config = read_config(path)
    return config is not None and all(config.get(k) == v for k, v in expected.items())


def _exhaustive(index: Any) -> Any:
    """Approximate index types search as widely as they can: the retriever ranks every allowed
    row, and a corpus of a few thousand passages costs nothing to scan."""
    space = faiss.ParameterSpace()
    for name, value in (("nprobe", 1 << 16), ("efSearch", 1 << 12)):
        try:
            space.set_index_parameter(index, name, value)
        except RuntimeError:  # this index type has no such parameter
            pass
    return index


def _faiss_index(vectors: np.ndarray, factory: str) -> Any:
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    return index


def build(corpus_dir: Path, path: Path, encoder: Any, *, factory: str | None = None,
          force: bool = False, progress: bool = False) -> tuple[Path, bool]:
    """Build the index at `path` unless it is current. Returns (path, built?). Without a
    `factory`, the existing index's FAISS type is kept (else the default, exact inner product)."""
    _repair(path)
    factory = factory or (read_config(path) or {}).get("faiss_factory") or DEFAULT_FACTORY
    documents, chunks = chunk_corpus(corpus_dir)
    tokenizer = Tokenizer()
    expected = expected_config(corpus_dir, chunks, tokenizer, encoder, factory)
    if not force and is_current(path, expected):
        return path, False
    t0 = time.perf_counter()
    dense = encoder.encode_passages([c.text for c in chunks], progress=progress)
    sent_texts, sent_chunk = [], []
    for row, c in enumerate(chunks):
        for s in split_sentences(c.text):
            sent_texts.append(s.strip())
            sent_chunk.append(row)
    sent_vecs = encoder.encode_passages(sent_texts, progress=progress)
    bm25 = BM25(tokenizer).fit([c.text for c in chunks])
    config = expected | {
        "name": path.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.perf_counter() - t0, 1),
        "n_documents": len(documents),
        "n_chunks": len(chunks),
        "n_sentences": len(sent_texts),
        "versions": _versions(),
    }
    _write_atomically(path, config, documents, chunks, _faiss_index(dense, factory),
                      _faiss_index(sent_vecs, factory), np.asarray(sent_chunk), bm25)
    return path, True


def _write_atomically(path: Path, config, documents, chunks, dense, sentences, sent_chunk, bm25):
    """Write everything to a temporary sibling, then swap it in. If the swap itself fails, the
    previous index is put back; a swap interrupted by a crash is repaired by the next build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = _repair(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        _write_files(tmp, config, documents, chunks, dense, sentences, sent_chunk, bm25)
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            path.rename(old)
        try:
            tmp.rename(path)
        except BaseException:
            if old.exists() and not path.exists():
                old.rename(path)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _repair(path: Path) -> Path:
    """Put back an index whose swap died between its two renames; return the '.old' path."""
    old = path.with_name(f".{path.name}.old")
    if old.exists() and not path.exists():
        old.rename(path)
    return old


def _write_files(tmp: Path, config, documents, chunks, dense, sentences, sent_chunk, bm25) -> None:
    (tmp / "documents.json").write_text(
        json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=1), "utf-8")
    with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    faiss.write_index(dense, str(tmp / "dense.faiss"))
    faiss.write_index(sentences, str(tmp / "sentences.faiss"))
    (tmp / "sentences.json").write_text(json.dumps(sent_chunk.tolist()), "utf-8")
    (tmp / "bm25.json").write_text(json.dumps(bm25.to_state(), ensure_ascii=False), "utf-8")
    (tmp / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), "utf-8")


def load(path: Path, encoder: Any | None = None) -> Index:
    """Load an index directory; with `encoder`, refuse one built by another model."""
    config = read_config(path)
    if config is None:
        raise IndexLoadError(f"no index at {path}: build it with `rag index`")
    if config.get("format_version") != FORMAT_VERSION or config.get("chunker_version") != CHUNKER_VERSION:
        raise IndexLoadError(
            f"index {path} was built with format {config.get('format_version')} / chunker "
            f"{config.get('chunker_version')}; this code expects {FORMAT_VERSION} / {CHUNKER_VERSION}: "
            "rebuild it with `rag index`")
    if encoder is not None:
        _check_model(path, config, encoder)
    documents = tuple(Document.from_dict(d)
                      for d in json.loads((path / "documents.json").read_text("utf-8")))
    with (path / "chunks.jsonl").open(encoding="utf-8") as f:
        chunks = tuple(Chunk.from_dict(json.loads(line)) for line in f)
    bm25 = BM25.from_state(json.loads((path / "bm25.json").read_text("utf-8")), Tokenizer())
    return Index(path=path, config=config, documents=documents, chunks=chunks,
                 dense=_exhaustive(faiss.read_index(str(path / "dense.faiss"))),
                 sentences=_exhaustive(faiss.read_index(str(path / "sentences.faiss"))),
                 sentence_chunk=np.asarray(json.loads((path / "sentences.json").read_text("utf-8"))),
                 bm25=bm25)


def _check_model(path: Path, config: dict[str, Any], encoder: Any) -> None:
    want_hash = getattr(encoder, "weights_hash", None)
    same = (config.get("model_hash") == want_hash if want_hash and config.get("model_hash")
            else config.get("model_id") == str(encoder.model_id))
    if not same or config.get("dimension") != int(encoder.dimension):
        raise IndexLoadError(
            f"index {path} was built with model {config.get('model_id')} "
            f"(weights {str(config.get('model_hash'))[:12]}, dim {config.get('dimension')}), "
            f"but the configured model is {encoder.model_id} (weights {str(want_hash)[:12]}, "
            f"dim {encoder.dimension}): rebuild it with `rag index` or set RAG_MODEL back")
