"""A built index, loaded: the chunk store (SQLite), FAISS indexes (memory-mapped), BM25 (bm25s,
memory-mapped), per-chunk columns and the null sample, checked against what the build recorded.

index/<name> -> .<name>.v-…/   (rag.buildlock: versions, the build lock, the atomic swap)
  config.json       what decides whether the index is current, plus the build's record: each
                    artifact's size and sha256, the row counts, what changed
  store.sqlite      documents, source texts, speakers, chunks, sentence keys (rag.store)
  dense.faiss       chunk vectors ("passage: " + text), FAISS id = chunk id
  sentences.faiss   one vector per sentence, FAISS id = sentence id
  dense_en.faiss    English vectors ("passage: " + text_en) of the chunks with a translation
  sentences_en.faiss  one vector per sentence of that English, FAISS id = chunk id * 16 + j
  bm25/, bm25_en/   jieba BM25 over the chunks, English BM25 over text_en (rag.lexical)
  bm25_en_sentence/ English BM25 over each sentence of text_en, id = chunk id * 16 + j
  columns/*.npy     per-chunk columns (rag.columns)
  null.npz          the null sample: a fixed sample of chunks with their sentence vectors, for
                    the abstention statistic (a question's score against unrelated passages)

Loading always checks every artifact's size and the row counts, and the checksum of the small
ones; `load(..., verify=True)` (the build, `rag serve` at start, `rag index --check`) checks every
checksum. Any mismatch or read error is one IndexCorruptError / IndexLoadError line naming the
file and what to run (the checks: rag.integrity). Building lives in rag.build.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from rag import buildlock
from rag.columns import Columns
from rag.errors import ConfigError, IndexCorruptError, IndexLoadError
from rag.lexical import BM25, EnglishAnalyzer, Tokenizer
from rag.protocols import VectorSearch
from rag.records import Chunk, Document, SpeakerInfo
from rag.store import ROLES, ChunkStore, sentence_key
from rag.sentences import ENGLISH_SENTENCES
from rag.text import nfkc
from rag.vectors import DEFAULT_NPROBE, Allowed, VectorIndex
from rag import vectors as vec
from rag.integrity import (FORMAT_VERSION, artifacts, check_counts, check_files, check_format, check_model,
                           config_key, read_config, read_json)

__all__ = ["FORMAT_VERSION", "Index", "NullSample", "artifacts", "build", "check", "load", "read_config"]


class ChunkList(Sequence):
    """`Index.chunks`: the chunks in reading order, read from the store on demand. For old
    callers and small corpora; nothing on a request's path iterates it."""

    def __init__(self, index: Index) -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index.columns.order)

    def __getitem__(self, i):  # type: ignore[override]
        order = self._index.columns.order
        if isinstance(i, slice):
            return self._index.get_chunks(order[i])
        return self._index.get_chunks([order[i]])[0]

    def __iter__(self) -> Iterator[Chunk]:
        order = self._index.columns.order
        for start in range(0, len(order), 2000):
            yield from self._index.get_chunks(order[start:start + 2000])


@dataclass
class NullSample:
    """A fixed sample of the index's chunks (all of them in a small corpus) with their sentence
    vectors: a question's best-passage scores over it give the mean and spread that the
    abstention z-score compares the top candidate with (README "Abstention")."""

    chunks: np.ndarray  # (m, d)
    sentences: np.ndarray  # (s, d)
    owner: np.ndarray  # (s,) row of `chunks` each sentence belongs to

    def __post_init__(self) -> None:
        # sentences are grouped by chunk: each chunk's best is a max over one segment
        self._owners, self._starts = np.unique(self.owner, return_index=True)

    def stats(self, query: np.ndarray) -> tuple[float, float]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        best = vec.dot(self.chunks, q)
        if len(self.owner):
            best[self._owners] = np.maximum(best[self._owners],
                                            np.maximum.reduceat(vec.dot(self.sentences, q), self._starts))
        return float(best.mean()), float(best.std() or 1e-6)

    @classmethod
    def load(cls, path: Path) -> NullSample:
        try:
            with np.load(path) as data:
                return cls(data["chunks"], data["sentences"], data["owner"])
        except Exception as e:  # numpy raises OSError, ValueError, KeyError, SyntaxError, TokenError…
            raise IndexCorruptError(f"{path}: unreadable null sample ({' '.join(str(e).split())}): rebuild it with "
                                    "`rag index --force`") from e


@dataclass
class Index:
    path: Path  # the version directory
    config: dict[str, Any]
    store: ChunkStore
    columns: Columns
    dense: VectorSearch  # rag.vectors.VectorIndex (FAISS); ids = chunk ids
    sentences: VectorSearch  # ids = sentence ids (columns.sent_chunk maps them to chunks)
    dense_en: VectorSearch | None  # English vectors of the chunks with a translation
    sentences_en: VectorSearch | None  # their English sentences; id // ENGLISH_SENTENCES = chunk id
    bm25: BM25
    bm25_en: BM25 | None
    null: NullSample
    bm25_en_sentence: BM25 | None = None
    reader_lock: IO[str] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _once(self, name: str, make: Any) -> Any:
        """A value computed on first use, once, whichever thread asks first."""
        if name not in self._cache:
            with self._lock:
                if name not in self._cache:
                    self._cache[name] = make()
        return self._cache[name]

    def memo(self, key: Any, make: Any, limit: int = 4096) -> Any:
        """A bounded memo for per-value work (a filter value's speakers, a filter's documents)."""
        memo = self._once("memo", OrderedDict)
        with self._lock:
            if key in memo:
                memo.move_to_end(key)
                return memo[key]
        value = make()
        with self._lock:
            memo[key] = value
            while len(memo) > limit:
                memo.popitem(last=False)
        return value

    # ------------------------------------------------------------------ the corpus
    @property
    def tokenizer(self) -> Tokenizer:
        return self.bm25.tokenizer  # type: ignore[return-value]

    @property
    def documents(self) -> tuple[Document, ...]:
        return self._once("documents", lambda: tuple(d for _, d in self._doc_rows()))

    def _doc_rows(self) -> list[tuple[int, Document]]:
        return self._once("doc_rows", self.store.documents)

    def document_rows(self) -> list[tuple[int, Document]]:
        """(row, document) in manifest order; the row is what `columns.doc` holds."""
        return self._doc_rows()

    def _row_of(self) -> dict[str, int]:
        return self._once("row_of", lambda: {d.id: row for row, d in self._doc_rows()})

    def document(self, doc_id: str) -> Document | None:
        row = self._row_of().get(doc_id)
        return None if row is None else self._docs_by_row()[row]

    def _docs_by_row(self) -> dict[int, Document]:
        return self._once("docs_by_row", lambda: dict(self._doc_rows()))

    def document_of_row(self, row: int) -> Document:
        return self._docs_by_row()[int(row)]

    @property
    def chunks(self) -> ChunkList:
        return ChunkList(self)

    def get_chunks(self, ids: Sequence[int]) -> list[Chunk]:
        return self.store.chunks([int(i) for i in ids])

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order ([] for an unknown id)."""
        row = self._row_of().get(doc_id)
        return [] if row is None else self.get_chunks(self.store.chunk_ids_of(row))

    def chunk_counts(self) -> dict[str, int]:
        """document id -> number of chunks."""
        def make() -> dict[str, int]:
            counts = self.store.chunk_counts()
            return {d.id: counts.get(row, 0) for row, d in self._doc_rows()}
        return self._once("chunk_counts", make)

    def speakers(self) -> list[tuple[int, str, SpeakerInfo | None]]:
        """The distinct speakers: (id, label, info)."""
        return self._once("speakers", self.store.speakers)

    def speaker_turns(self) -> list[tuple[str, SpeakerInfo | None, str, int | None, int]]:
        """(label, info, document id, turn, chunks) for every speaker's turns, in reading order."""
        def make() -> list[tuple[str, SpeakerInfo | None, str, int | None, int]]:
            speakers = {sid: (label, info) for sid, label, info in self.speakers()}
            docs = self._docs_by_row()
            return [(*speakers[sid], docs[row].id, turn, n) for sid, row, turn, n in self.store.speaker_turns()]
        return self._once("speaker_turns", make)

    def speaker_infos(self) -> list[SpeakerInfo | str]:
        """Each distinct speaker as query understanding wants it (its info, else its label)."""
        return self._once("speaker_infos", lambda: list(dict.fromkeys(
            info or label for _, label, info in self.speakers())))

    def speakers_of(self, doc_id: str | None = None) -> list[str]:
        """Speaker labels of a document in order of first appearance (of every document: None)."""
        labels = {sid: label for sid, label, _ in self.speakers()}
        by_doc = self._once("speakers_by_doc", self.store.speakers_by_document)
        rows = [r for r, _ in self._doc_rows()] if doc_id is None else [self._row_of().get(doc_id)]
        return list(dict.fromkeys(labels[s] for r in rows for s in by_doc.get(r, [])))

    def source_text(self, doc_id: str) -> str:
        """The document's text as stored in the corpus (chunk offsets index it)."""
        row = self._row_of().get(doc_id)
        if row is None:
            raise KeyError(doc_id)
        return self.store.source_text(row)

    def names(self, names: Iterable[str]) -> bool:
        """Does some chunk's text contain one of these names (full- and half-width forms alike)?
        (BM25 finds the chunks holding the name's tokens; the text decides.) Asked on every
        question that names a body: remembered per set of names."""
        wanted = frozenset(filter(None, names))
        return self.memo(("names", wanted), lambda: any(map(self._names_one, sorted(wanted))))

    def _names_one(self, name: str) -> bool:
        hits = self.bm25.search(name, 20)
        return any(nfkc(name) in nfkc(c.text) for c in self.get_chunks([row for row, _ in hits]))

    # ------------------------------------------------------------------ retrieval helpers
    @property
    def live_count(self) -> int:
        return len(self.columns.order)

    def body(self) -> Allowed:
        """The chunks ranked by default: live, role body."""
        return self._once("body", lambda: Allowed.of(self.columns.live & (self.columns.role == ROLES.index("body"))))

    def everything(self) -> Allowed:
        return self._once("everything", lambda: Allowed.of(np.asarray(self.columns.live, dtype=bool)))

    def sentence_filter(self, allowed: Allowed) -> Allowed:
        """The sentences of the allowed chunks."""
        make = lambda: Allowed.of(np.asarray(allowed.mask, dtype=bool)[self.columns.sent_chunk])  # noqa: E731
        if allowed is self.body():
            return self._once("body_sentences", make)
        return make()

    def sentence_en_filter(self, allowed: Allowed) -> Allowed:
        """The English sentence ids of the allowed chunks (ids chunk * ENGLISH_SENTENCES + j)."""
        make = lambda: Allowed.of(np.repeat(np.asarray(allowed.mask, dtype=bool), ENGLISH_SENTENCES))  # noqa: E731
        if allowed is self.body():
            return self._once("body_sentences_en", make)
        return make()

    def sentence_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these sentence texts (stripped), Chinese or official English, for the
        ones the index holds."""
        keys = {sentence_key(t): t for t in texts}
        out: dict[str, np.ndarray] = {}
        for table, vectors in (("sentences_en", self.sentences_en), ("sentences", self.sentences)):
            ids = self.store.sentence_ids(list(keys), table) if vectors is not None else {}
            if ids:
                out |= {keys[k]: v for k, v in zip(ids, vectors.vectors(list(ids.values())))}
        return out

    def close(self) -> None:
        for part in (self.dense, self.bm25):  # another store's connection (rag.milvus_store)
            getattr(part, "close", lambda: None)()
        self.store.close()
        if self.reader_lock is not None:
            self.reader_lock.close()
            self.reader_lock = None


# ------------------------------------------------------------------ loading

def load(path: Path, encoder: Any | None = None, *, verify: bool = False,
         nprobe: int = DEFAULT_NPROBE, store: str = "faiss", milvus_uri: str | None = None) -> Index:
    """Load the index at `path` (a name's symlink or a version directory); with `encoder`,
    refuse one built by another model; with `verify`, check every checksum. `store`: faiss, or
    milvus (vector and BM25 search through the collections `rag index --store milvus` exported
    to `milvus_uri`, default milvus-lite in the version; rag.milvus_store)."""
    version, reader_lock = buildlock.open_for_reading(Path(path))
    try:
        config = read_json(version / "config.json")
        check_format(version, config)
        if encoder is not None:
            check_model(version, config, encoder)
        check_files(version, config, checksums=verify)
        index = _open(version, config, nprobe)
        index.reader_lock = reader_lock
        check_counts(index)
        return _with_store(index, store, milvus_uri)
    except BaseException:
        if reader_lock is not None:
            reader_lock.close()
        raise


def _open(version: Path, config: dict[str, Any], nprobe: int) -> Index:
    factories = config_key(config, "factories", version)

    def vectors(name: str) -> VectorIndex | None:
        factory = factories.get(name)
        if factory is None:
            return None
        return VectorIndex(vec.read(version / f"{name}.faiss", factory), version / f"{name}.faiss", nprobe)

    dense, sentences = vectors("dense"), vectors("sentences")
    if dense is None or sentences is None:
        raise IndexCorruptError(f"{version / 'config.json'}: no dense or sentence index recorded: "
                                "rebuild it with `rag index --force`")
    return Index(path=version, config=config, store=ChunkStore(version / "store.sqlite"),
                 columns=Columns.load(version / "columns"), dense=dense, sentences=sentences,
                 dense_en=vectors("dense_en"), sentences_en=vectors("sentences_en"), bm25=_bm25(version / "bm25", Tokenizer()),
                 bm25_en=_bm25(version / "bm25_en", EnglishAnalyzer()) if (version / "bm25_en").is_dir() else None,
                 null=NullSample.load(version / "null.npz"),
                 bm25_en_sentence=_bm25(version / "bm25_en_sentence", EnglishAnalyzer())
                 if (version / "bm25_en_sentence").is_dir() else None)


def _with_store(index: Index, store: str, milvus_uri: str | None) -> Index:
    if store == "faiss":
        return index
    if store != "milvus":
        raise ConfigError(f"RAG_STORE={store!r}: expected faiss or milvus")
    try:
        from rag import milvus_store
    except ImportError as e:
        raise IndexLoadError(f"--store milvus needs pymilvus and milvus-lite ({e}): "
                             "pip install 'unrag[milvus]'") from e
    return milvus_store.attach(index, milvus_uri)


def _bm25(directory: Path, analyzer: Any) -> BM25:
    try:
        return BM25.load(directory, analyzer)
    except ValueError as e:
        raise IndexLoadError(f"{directory}: {' '.join(str(e).split())}") from e
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"{directory}: unreadable BM25 index ({' '.join(str(e).split())}): "
                                "rebuild it with `rag index --force`") from e


def check(path: Path, encoder: Any | None = None) -> dict[str, Any]:
    """`rag index --check`: load with every checksum and count verified, read every chunk's
    seal; returns a summary, raises IndexCorruptError on the first problem."""
    index = load(path, encoder, verify=True)
    try:
        n = sum(1 for _ in index.chunks)
        return {"index": str(index.path), "ok": True, "documents": len(index.documents), "chunks": n,
                "artifacts": len(index.config["artifacts"])}
    finally:
        index.close()


def build(*args: Any, **kwargs: Any) -> tuple[Path, bool]:
    """See rag.build.build (kept here for callers of `rag.index.build`)."""
    from rag.build import build as _build
    return _build(*args, **kwargs)
