"""Milvus as the serving store (`--store milvus`): the built index's vectors and BM25 weights
exported to Milvus collections, searched behind the retriever's own interfaces
(rag.protocols.VectorSearch, the LexicalSearch calls the Retriever makes). FAISS stays the
default; the SQLite store, the columns and the null sample are read from the index version as
always, so chunk records and citations are the same.

Collections (names prefixed per index version, so one Milvus server holds many indexes):
  <prefix>chunks     id = chunk id; `vector` (dense, inner product) and `sparse` (BM25: each
                     jieba term's BM25 weight for that chunk, as bm25s precomputes it; a query is
                     1 per distinct known token, so the inner product is exactly the BM25 score)
  <prefix>sentences  id = sentence id; `vector`, `chunk`
  <prefix>chunks_en  id = chunk id of the chunks with an official English text; `vector`
Every row carries doc_id, kind (doc_type), date, speaker (speaker id, 0 = none), speaker_label
and role, so filters are Milvus expressions (`filter_expression`).

The retriever hands a filter as a boolean mask over ids (rag.vectors.Allowed). `Scalars.plan`
turns it into an expression on role / doc_id / speaker and checks, on the columns, that the
expression selects exactly the mask; when it cannot, a small mask becomes `id in [...]` and a
large one is searched with the nearest superset and over-fetched. Every hit is checked against
the mask: a row outside it is never returned.

Milvus caps a search at 16384 results (MAX_TOPK): an `exhaustive` search is exact up to that.
milvus-lite (the default: `<version>/milvus.db`) serves one process; for `rag serve --workers N`
point RAG_MILVUS_URI at a Milvus server (deploy/README.md).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexCorruptError, IndexLoadError
from rag.store import ROLES

MAX_TOPK = 16384  # Milvus's limit on one search's results
ID_LIST_MAX = 4096  # a mask no field expression matches exactly is sent as `id in [...]` up to this size
BATCH = 2000  # rows per insert
DB_FILE = "milvus.db"  # milvus-lite's file inside the index version (the default RAG_MILVUS_URI)
ROLE_NAMES = (*ROLES, "other")
CONNECT_TIMEOUT = 10.0


def _client_class() -> Any:
    with warnings.catch_warnings():  # milvus-lite imports pkg_resources: its deprecation note is not ours to show
        warnings.simplefilter("ignore")
        from pymilvus import MilvusClient
    for name in ("pymilvus", "pymilvus.milvus_client"):  # its error logs repeat the one line we raise
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return MilvusClient


def is_remote(uri: str) -> bool:
    return bool(re.match(r"^(https?|tcp|grpc)://", uri))


def default_uri(version: Path) -> str:
    return str(Path(version) / DB_FILE)


def prefix(version: Path) -> str:
    """Collection name prefix of one index version: unrag_<name>_v_<stamp>_<rand>_."""
    return "unrag_" + re.sub(r"[^0-9A-Za-z]", "_", Path(version).name.lstrip(".")) + "_"


def connect(uri: str, *, create: bool = False) -> Any:
    """A MilvusClient, or one IndexLoadError line saying what to do."""
    if not is_remote(uri) and not create and not Path(uri).is_file():
        raise IndexLoadError(f"no Milvus collections at {uri}: export them with `rag index --store milvus` "
                             "(or set RAG_MILVUS_URI to your Milvus server)")
    try:
        with warnings.catch_warnings():  # milvus-lite, imported by the first local client, imports pkg_resources
            warnings.simplefilter("ignore")
            return _client_class()(uri=uri, timeout=CONNECT_TIMEOUT)
    except ImportError as e:
        raise IndexLoadError(f"the Milvus store needs pymilvus and milvus-lite ({e}): "
                             "pip install 'unrag[milvus]'") from e
    except Exception as e:  # noqa: BLE001 - pymilvus raises many kinds; all mean the same here
        raise IndexLoadError(f"Milvus at {uri}: unreachable ({_first_line(e)}): start it (deploy/README.md) "
                             "or set RAG_MILVUS_URI") from e


def _first_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    message = re.search(r"message=(.*?)\)>?$", text)  # MilvusException: <MilvusException: (code=2, message=...)>
    return (message.group(1) if message else text)[:200]


# ------------------------------------------------------------------ filters

@dataclass(frozen=True)
class Scalars:
    """One collection's scalar columns, indexed by id (chunk or sentence id): which ids it
    holds, their document row, speaker id and role code. What turns a mask into an expression."""

    present: np.ndarray  # bool
    doc: np.ndarray  # document row
    speaker: np.ndarray  # speaker id, 0 = none
    role: np.ndarray  # rag.store.ROLES code
    doc_ids: dict[int, str]  # document row -> document id
    count: int = field(init=False)
    _memo: dict[int, tuple[np.ndarray, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", int(np.count_nonzero(self.present)))

    def plan(self, mask: np.ndarray | None) -> tuple[str, np.ndarray | None, int]:
        """(expression, check, rows): the Milvus filter for the rows of `mask`, the mask the hits
        must still be checked against (None: the expression is exact), and how many rows it keeps.
        Memoized per mask object (the index's default masks are made once)."""
        if mask is None:
            return self._plan(None)
        hit = self._memo.get(id(mask))
        if hit is not None and hit[0] is mask:
            return hit[1]
        result = self._plan(mask)
        if len(self._memo) >= 16:
            self._memo.pop(next(iter(self._memo)), None)
        self._memo[id(mask)] = (mask, result)  # the mask is held: its id is not reused meanwhile
        return result

    def wanted(self, mask: np.ndarray | None) -> np.ndarray:
        """The ids of this collection that `mask` (a boolean mask over ids) keeps."""
        if mask is None:
            return self.present
        mask = np.asarray(mask, dtype=bool)
        out = np.zeros(len(self.present), dtype=bool)
        n = min(len(mask), len(out))
        out[:n] = mask[:n]
        return out & self.present

    def _plan(self, mask: np.ndarray | None) -> tuple[str, np.ndarray | None, int]:
        want = self.wanted(mask)
        ids = np.flatnonzero(want)
        if mask is None or len(ids) == self.count or not len(ids):
            return "", None, len(ids)
        got = self.present.copy()
        clauses = []
        for name, column, render in (("role", self.role, lambda v: json.dumps(ROLE_NAMES[min(v, len(ROLES))])),
                                     ("doc_id", self.doc, lambda v: json.dumps(self.doc_ids[v], ensure_ascii=False)),
                                     ("speaker", self.speaker, str)):
            values = np.unique(np.asarray(column)[ids])
            keep = np.isin(column, values)
            if (got & ~keep).any():
                clauses.append(f"{name} in [{', '.join(render(int(v)) for v in values)}]")
                got &= keep
        if np.array_equal(got, want):
            return " and ".join(clauses), None, len(ids)
        if len(ids) <= ID_LIST_MAX:
            return f"id in [{', '.join(map(str, ids.tolist()))}]", None, len(ids)
        return " and ".join(clauses), want, len(ids)


def filter_expression(index: Any, filters: Any, *, body_only: bool = True) -> str:
    """A rag.records.Filters as a Milvus expression on doc_id, kind, date and speaker (and role:
    body only, as the retriever ranks by default). Selects what rag.filters.matches selects."""
    from rag.filters import doc_matches, speaker_ids
    from rag.records import Filters

    clauses = ['role == "body"'] if body_only else []
    if filters.doc_ids or filters.symbols:
        named = Filters(doc_ids=filters.doc_ids, symbols=filters.symbols)
        ids = [d.id for d in index.documents if doc_matches(d, named)]
        clauses.append(f"doc_id in {json.dumps(ids, ensure_ascii=False)}")
    if filters.doc_types:
        clauses.append(f"kind in {json.dumps(list(filters.doc_types), ensure_ascii=False)}")
    if filters.date_from:
        clauses.append(f'date >= "{filters.date_from}"')
    if filters.date_to:
        clauses.append(f'date <= "{filters.date_to}"')
    if filters.speakers:
        wanted = sorted(set().union(*(speaker_ids(index, v) for v in filters.speakers)))
        clauses.append(f"speaker in {wanted}")
    return " and ".join(clauses)


# ------------------------------------------------------------------ the connection

class Connection:
    """One MilvusClient shared by an index's collections; closed once."""

    def __init__(self, client: Any, uri: str) -> None:
        self.client = client
        self.uri = uri
        self._lock = threading.Lock()

    def search(self, collection: str, data: list, field_name: str, limit: int, expr: str,
               params: dict[str, Any]) -> list[tuple[int, float]]:
        try:
            hits = self.client.search(collection, data, limit=limit, filter=expr, anns_field=field_name,
                                      search_params=params)
        except Exception as e:  # noqa: BLE001
            raise IndexLoadError(f"Milvus at {self.uri}: search of {collection} failed ({_first_line(e)})") from e
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def close(self) -> None:
        with self._lock:
            if self.client is not None:
                self.client.close()
                self.client = None


def _dense_params(remote: bool, k: int) -> dict[str, Any]:
    return {"metric_type": "IP", "params": {"ef": max(k, 128)} if remote else {}}


@dataclass
class MilvusVectors:
    """rag.protocols.VectorSearch over one Milvus collection (FLAT inner product in milvus-lite)."""

    conn: Connection
    collection: str
    scalars: Scalars
    dimension: int

    @property
    def ntotal(self) -> int:
        return self.scalars.count

    def search(self, query: np.ndarray, k: int, allowed: Any = None, *, live: int | None = None,
               exhaustive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of the k best rows inside `allowed`, best first."""
        k = min(int(k), self.ntotal, MAX_TOPK)
        if k <= 0 or (allowed is not None and allowed.count == 0):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        expr, check, rows = self.scalars.plan(None if allowed is None else allowed.mask)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        vector = [np.asarray(query, dtype=np.float32).reshape(-1).tolist()]
        remote = is_remote(self.conn.uri)
        hits = _overfetch(lambda n: self.conn.search(self.collection, vector, "vector", n, expr,
                                                     _dense_params(remote, n)), k, check)
        return (np.array([i for i, _ in hits], dtype=np.int64),
                np.array([s for _, s in hits], dtype=np.float32))

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these ids, in their order."""
        ids = [int(i) for i in ids]
        found: dict[int, list[float]] = {}
        for start in range(0, len(ids), ID_LIST_MAX):
            part = sorted(set(ids[start:start + ID_LIST_MAX]))
            try:
                rows = self.conn.client.query(self.collection, filter=f"id in {part}", output_fields=["vector"])
            except Exception as e:  # noqa: BLE001
                raise IndexLoadError(f"Milvus at {self.conn.uri}: reading vectors of {self.collection} "
                                     f"failed ({_first_line(e)})") from e
            found.update((int(r["id"]), r["vector"]) for r in rows)
        missing = [i for i in ids if i not in found]
        if missing:
            raise IndexCorruptError(f"Milvus collection {self.collection} lacks ids {missing[:5]}: "
                                    "export it again with `rag index --store milvus --force`")
        return np.array([found[i] for i in ids], dtype=np.float32).reshape(len(ids), self.dimension)

    def close(self) -> None:
        self.conn.close()


def _overfetch(search: Any, k: int, check: np.ndarray | None) -> list[tuple[int, float]]:
    """The k best hits inside `check` (None: every hit counts), asking for more while too many fall outside."""
    n = k
    while True:
        hits = search(n)
        kept = hits if check is None else [(i, s) for i, s in hits if i < len(check) and check[i]]
        if check is None or len(kept) >= k or len(hits) < n or n >= MAX_TOPK:
            return kept[:k]
        n = min(n * 4, MAX_TOPK)


class MilvusLexical:
    """BM25 over the jieba tokens as Milvus sparse vectors (the calls rag.retrieve makes of
    rag.protocols.LexicalSearch). Tokenizing, the vocabulary and `ids_with` stay with the local
    bm25s index (memory-mapped): a query's known tokens become term ids, each with weight 1."""

    def __init__(self, conn: Connection, collection: str, scalars: Scalars, bm25: Any) -> None:
        self.conn = conn
        self.collection = collection
        self.scalars = scalars
        self.local = bm25
        self.tokenizer = bm25.tokenizer
        self.ids = bm25.ids

    def __len__(self) -> int:
        return len(self.local)

    def __getattr__(self, name: str) -> Any:
        """Vocabulary questions (ids_with, document_frequencies, ...) go to the local bm25s index."""
        if name == "local":
            raise AttributeError(name)
        return getattr(self.local, name)

    def search(self, query: str, k: int = 10, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        return self.search_tokens(self.tokenizer.tokenize(query), k, allowed)

    def search_tokens(self, tokens: Sequence[str], k: int = 10,
                      allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) with score > 0, best first, ties by id; `allowed` a boolean mask over
        ids or an array of allowed ids."""
        bm = self.local._bm
        terms = bm.get_tokens_ids(list(dict.fromkeys(tokens))) if bm is not None else []
        k = min(int(k), self.scalars.count)
        if not terms or k <= 0:
            return []
        expr, check, rows = self.scalars.plan(_as_mask(allowed, len(self.scalars.present)))
        if not rows:
            return []
        limit = min(k + 16, MAX_TOPK)  # a few more, so that ties at the k-th score sort by id as bm25s does
        query = [{int(t): 1.0 for t in terms}]
        params = {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}
        hits = _overfetch(lambda n: self.conn.search(self.collection, query, "sparse", n, expr, params),
                          limit, check)
        hits = [(i, s) for i, s in hits if s > 0]
        hits.sort(key=lambda h: (-round(h[1], 5), h[0]))
        return hits[:k]

    def close(self) -> None:
        self.conn.close()


def _as_mask(allowed: np.ndarray | None, size: int) -> np.ndarray | None:
    if allowed is None:
        return None
    allowed = np.asarray(allowed)
    if allowed.dtype == bool:
        return allowed
    mask = np.zeros(max(size, int(allowed.max(initial=-1)) + 1), dtype=bool)
    mask[allowed.astype(np.int64)] = True
    return mask


# ------------------------------------------------------------------ attach (export: rag.milvus_export)

def scalars(index: Any) -> dict[str, Scalars]:
    """The scalar columns of each collection of this index (from its chunk columns)."""
    cols = index.columns
    live = np.asarray(cols.live, dtype=bool)
    doc_ids = {row: d.id for row, d in index.document_rows()}
    sent_chunk = np.asarray(cols.sent_chunk)
    chunk = dict(doc=np.asarray(cols.doc), speaker=np.asarray(cols.speaker), role=np.asarray(cols.role))
    sentence = {k: v[sent_chunk] for k, v in chunk.items()}
    return {"chunks": Scalars(live, doc_ids=doc_ids, **chunk),
            "sentences": Scalars(live[sent_chunk] & (sent_chunk > 0), doc_ids=doc_ids, **sentence),
            "chunks_en": Scalars(live & np.asarray(cols.en, dtype=bool), doc_ids=doc_ids, **chunk)}


def _rows(conn: Connection, name: str) -> int | None:
    if not conn.client.has_collection(name):
        return None
    conn.client.load_collection(name)
    return int(conn.client.query(name, filter="", output_fields=["count(*)"])[0]["count(*)"])


def attach(index: Any, uri: str | None = None) -> Any:
    """Swap the index's dense, sentence, English and BM25 search for the Milvus collections
    exported from it (the store, columns and null sample stay). One IndexLoadError line when
    Milvus is missing, unreachable or holds another export."""
    uri = uri or default_uri(index.path)
    conn = Connection(connect(uri), uri)
    try:
        pre, parts = prefix(index.path), scalars(index)
        for name, scal in parts.items():
            have = _rows(conn, pre + name) if scal.count else None
            if scal.count and have != scal.count:
                raise IndexLoadError(f"Milvus at {uri}: collection {pre + name} "
                                     f"{'is missing' if have is None else f'holds {have} rows, not {scal.count}'}: "
                                     "export it with `rag index --store milvus`")
        dim = int(index.config["dimension"])
        index.dense = MilvusVectors(conn, pre + "chunks", parts["chunks"], dim)
        index.sentences = MilvusVectors(conn, pre + "sentences", parts["sentences"], dim)
        if index.dense_en is not None and parts["chunks_en"].count:
            index.dense_en = MilvusVectors(conn, pre + "chunks_en", parts["chunks_en"], dim)
        index.bm25 = MilvusLexical(conn, pre + "chunks", parts["chunks"], index.bm25)
    except BaseException as e:
        conn.close()
        if isinstance(e, IndexLoadError) or not isinstance(e, Exception):
            raise
        raise IndexLoadError(f"Milvus at {uri}: {_first_line(e)}") from e
    return index
