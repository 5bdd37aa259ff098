"""Dense vectors: FAISS indexes keyed by stable ids, memory-mapped at load, searched for the top
candidates with the filter inside the search; and the embedding cache the builds share.

Index type by size (`auto_factory`, measured in README "Scale"): exact inner product ("Flat",
wrapped in IDMap2 for stable ids) up to FLAT_MAX vectors, else an inverted file with 8-bit codes of
each vector's residual to its centroid ("IVF<nlist>,SQ8", nlist about 2·sqrt(n) rounded to a power
of two) whose lists carry the ids themselves and a hashtable direct map for reading vectors back by
id. The lists are memory-mapped and a service touches most of them in time, so their size is
resident memory: 8-bit codes halve it against half precision (1M passages: 5.0 -> 3.7 GB peak RSS)
and keep 0.99 of the exact top 10 on the real vectors (bench/quantization.py). Their range is
learnt once and widened (SQ8_MARGIN) for the vectors later builds add. An index built with SQfp16
keeps loading; the next build converts it. HNSW was measured
too: slower to build, lower recall here, no removal, and poor under restrictive filters.

A filter is a boolean mask over ids (`Allowed`); it becomes a FAISS IDSelectorBitmap, so rows
outside it are never scored. An IVF search visits `nprobe` lists, widened as the filter narrows
(nprobe / selectivity, up to every list: then only the allowed rows are scored, exactly).
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.errors import IndexCorruptError, IndexLoadError, InputError

FLAT_MAX = 20_000  # vectors up to which search is exact (a few ms on 2 cores)
SQ8_MARGIN = 0.2  # 8-bit codes: the trained range of each dimension widened by this share each side,
# so vectors added by later builds (no retraining) are not clipped (bench/quantization.py)
DEFAULT_NPROBE = 64  # IVF lists visited for an unfiltered search (README "Scale": recall vs time)


def auto_factory(n: int) -> str:
    """The FAISS factory string for an index of n vectors."""
    if n <= FLAT_MAX:
        return "Flat"
    nlist = 1 << round(math.log2(2 * math.sqrt(n)))
    return f"IVF{nlist},SQ8"


def is_ivf(factory: str) -> bool:
    return factory.startswith("IVF") or ",IVF" in factory


@dataclass(frozen=True, eq=False)
class Allowed:
    """The rows a search may return: a boolean mask indexed by id, and how many are set."""

    mask: np.ndarray
    count: int

    @classmethod
    def of(cls, mask: np.ndarray) -> Allowed:
        return cls(mask, int(np.count_nonzero(mask)))

    @cached_property
    def bits(self) -> np.ndarray:
        return np.packbits(self.mask, bitorder="little")

    def selector(self) -> Any:
        """A FAISS selector over this mask (valid while this object lives)."""
        return faiss.IDSelectorBitmap(len(self.mask), faiss.swig_ptr(self.bits))


def dot(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """matrix @ query on a request's path, without BLAS. OpenBLAS runs any matrix-vector product
    above ~9k elements on every core, and its threads then spin for a while: on a busy 2-core
    machine that made the null-sample statistic 0.5 -> 12 ms and the rest of a search about 2x
    slower (measured with bench/scale.py). einsum's own loop is one thread and costs ~0.3 ms for
    3,500 x 384."""
    return np.einsum("ij,j->i", matrix, np.asarray(query, dtype=matrix.dtype).reshape(-1))


def new_index(dim: int, factory: str, sample: np.ndarray, margin: float = SQ8_MARGIN) -> Any:
    """An empty index that takes explicit ids; trained on `sample` when the type needs it (an
    8-bit quantizer's range widened by `margin`)."""
    ivf_type = is_ivf(factory)
    try:
        index = faiss.index_factory(dim, factory if ivf_type else f"IDMap2,{factory}",
                                    faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        _widen_8_bit_range(index, margin)
        if not index.is_trained:
            index.train(np.ascontiguousarray(sample, dtype=np.float32))
    except RuntimeError as e:
        raise InputError(f"FAISS factory {factory!r} cannot index {len(sample)} vectors of "
                         f"dimension {dim}: {_first_line(e)}") from e
    return index


def _widen_8_bit_range(index: Any, margin: float) -> None:
    """An 8-bit scalar quantizer learns each dimension's range once, from the training sample;
    widen it so that later additions keep their values."""
    ivf = faiss.try_extract_index_ivf(index)
    inner = faiss.downcast_index(ivf if ivf is not None else getattr(faiss.downcast_index(index), "index", index))
    sq = getattr(inner, "sq", None)
    if sq is not None and sq.qtype == faiss.ScalarQuantizer.QT_8bit:
        sq.rangestat_arg = margin


def training_sample(vectors: np.ndarray, factory: str, seed: int = 0) -> np.ndarray:
    """A deterministic sample for k-means: 64 points per list is plenty (FAISS wants 39)."""
    nlist = int(factory[3:].split(",")[0]) if factory.startswith("IVF") else 1
    n = min(len(vectors), 64 * nlist)
    if n == len(vectors):
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), n, replace=False))
    return vectors[rows]


def add(index: Any, ids: np.ndarray, vectors: np.ndarray, batch: int = 65536) -> None:
    for start in range(0, len(ids), batch):
        index.add_with_ids(np.ascontiguousarray(vectors[start:start + batch], dtype=np.float32),
                           np.ascontiguousarray(ids[start:start + batch], dtype=np.int64))


def remove(index: Any, ids: np.ndarray) -> bool:
    """Remove these ids; False when this index type cannot remove (then rebuild it)."""
    if not len(ids):
        return True
    try:
        index.remove_ids(faiss.IDSelectorArray(np.ascontiguousarray(ids, dtype=np.int64)))
    except RuntimeError:
        return False
    return True


def write(index: Any, path: Path) -> None:
    faiss.write_index(index, str(path))


def read(path: Path, factory: str, *, mmap: bool = True) -> Any:
    """Read an index; memory-mapped by default (IVF lists, or the flat codes)."""
    flags = 0
    if mmap:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if is_ivf(factory) else faiss.IO_FLAG_MMAP_IFC
    try:
        index = faiss.read_index(str(path), flags)
    except RuntimeError as e:
        raise IndexCorruptError(f"{path}: unreadable FAISS index ({_first_line(e)}): "
                                "rebuild it with `rag index --force`") from e
    _no_prefetch(index)
    return index


def _no_prefetch(index: Any) -> None:
    """A memory-mapped IVF reads its lists through OnDiskInvertedLists, which starts 32 prefetch
    threads on every search: at 100k vectors that made a search 4-15x slower than the same lists
    in RAM (measured, README "Scale"). The pages are in the OS cache; no prefetch is needed."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return
    lists = faiss.downcast_InvertedLists(ivf.invlists)
    if hasattr(lists, "prefetch_nthread"):
        lists.prefetch_nthread = 0


def _first_line(error: Exception) -> str:
    lines = [x.strip() for x in str(error).splitlines() if x.strip()]
    message = lines[-1] if lines else type(error).__name__
    return message.split("Error: ", 1)[-1][:200]


@dataclass
class VectorIndex:
    """A loaded FAISS index: top-k search over ids inside an optional filter, vectors by id."""

    index: Any
    path: Path
    nprobe: int = DEFAULT_NPROBE
    _ivf: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ivf = faiss.try_extract_index_ivf(self.index)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int, allowed: Allowed | None = None, *,
               live: int | None = None, exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the k best rows, best first. `live`: how many rows the index holds
        (for the filter's selectivity); `exhaustive`: visit every list (exact)."""
        k = min(int(k), self.ntotal)
        if k <= 0 or (allowed is not None and allowed.count == 0):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        sel = allowed.selector() if allowed is not None else None
        if self._ivf is not None:
            params = faiss.SearchParametersIVF(sel=sel, nprobe=self._nprobe(allowed, live, exhaustive))
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        try:
            scores, ids = self.index.search(query, k, params=params)
        except RuntimeError as e:
            raise IndexCorruptError(f"{self.path}: search failed ({_first_line(e)}): "
                                    "rebuild it with `rag index --force`") from e
        ok = ids[0] >= 0
        return ids[0][ok], scores[0][ok]

    def _nprobe(self, allowed: Allowed | None, live: int | None, exhaustive: bool) -> int:
        nlist = int(self._ivf.nlist)
        if exhaustive:
            return nlist
        share = 1.0 if allowed is None else allowed.count / max(live or self.ntotal, 1)
        return max(1, min(nlist, math.ceil(self.nprobe / max(share, 1e-9))))

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these ids (float32; quantized types decoded)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.index.d), dtype=np.float32)
        try:
            return self.index.reconstruct_batch(ids)
        except RuntimeError as e:
            raise IndexCorruptError(f"{self.path}: cannot read vectors back ({_first_line(e)}): "
                                    "rebuild it with `rag index --force`") from e

    def all_ids(self) -> np.ndarray:
        """Every id the index holds (for rebuilding it as another type)."""
        if self._ivf is None:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self._ivf.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                 for i in range(self._ivf.nlist) if lists.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


# ------------------------------------------------------------------ the embedding cache

def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EmbeddingCache:
    """Passage vectors by (model weights hash, text hash) in one SQLite file beside the indexes,
    shared by every index name and build: a changed corpus re-embeds only the texts it has not
    seen with this model."""

    def __init__(self, path: Path, model_key: str, dimension: int) -> None:
        self.path = Path(path)
        self.model_key = model_key
        self.dimension = dimension
        try:
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                             "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID")
        except sqlite3.DatabaseError as e:
            raise IndexLoadError(f"{self.path}: unusable embedding cache ({e}): delete the file "
                                 "(it only saves time) and build again") from e

    def lookup(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        size = self.dimension * 4
        for start in range(0, len(keys), 500):
            part = list(keys[start:start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                                    [self.model_key, *part])
            for key, blob in rows:
                if len(blob) == size:
                    found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, items: dict[bytes, np.ndarray]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                 [(self.model_key, k, np.asarray(v, dtype=np.float32).tobytes())
                                  for k, v in items.items()])

    def close(self) -> None:
        self._db.close()


@dataclass
class CachedEmbedder:
    """texts -> passage vectors through the cache; counts what it embedded and what it reused."""

    encoder: Any
    cache: EmbeddingCache | None = None
    progress: bool = False
    embedded: int = 0
    reused: int = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        dim = int(self.encoder.dimension)
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        known = self.cache.lookup(list(dict.fromkeys(keys))) if self.cache else {}
        todo = {k: t for k, t in zip(keys, texts) if k not in known}
        if todo:
            vectors = np.asarray(self.encoder.encode_passages(list(todo.values()), progress=self.progress),
                                 dtype=np.float32)
            new = dict(zip(todo, vectors))
            if self.cache:
                self.cache.store(new)
            known |= new
        self.embedded += len(todo)
        self.reused += len(texts) - len(todo)
        return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)


Embed = Callable[[Sequence[str]], np.ndarray]
