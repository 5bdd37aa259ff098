"""Exporting a built index to Milvus (`rag index --store milvus`; the collections and how they are
searched: rag.milvus_store): one collection per vector set, named per index version, each row
with its id and the scalar fields filters use; the chunks' BM25 weights as a sparse vector.
An export is checked complete (row counts) and skipped when it already is; collections of
versions that no longer exist are dropped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexLoadError
from rag.milvus_store import (BATCH, ROLE_NAMES, Connection, Scalars, _rows, connect, default_uri, is_remote,
                              prefix, scalars)
from rag.store import ROLES


def export(path: Path, uri: str | None = None, *, force: bool = False) -> dict[str, Any]:
    """Write the collections of index `path`'s current version to Milvus (`uri`, default
    milvus-lite in the version directory), unless they are there with every row. Returns what
    it did: {"uri", "collections": {name: rows}, "written": bool}."""
    from rag import index as index_mod

    index = index_mod.load(path)  # FAISS and bm25s, as built
    try:
        uri = uri or default_uri(index.path)
        conn = Connection(connect(uri, create=True), uri)
        try:
            pre, parts = prefix(index.path), scalars(index)
            want = {name: s.count for name, s in parts.items() if s.count}
            written = force or not _complete(conn, pre, want)
            if written:
                _write(conn, pre, index, parts)
                if is_remote(uri):
                    _drop_orphans(conn, index.path)
            return {"uri": uri, "collections": {pre + k: v for k, v in want.items()}, "written": written}
        finally:
            conn.close()
    finally:
        index.close()


def _complete(conn: Connection, pre: str, want: dict[str, int]) -> bool:
    return all(_rows(conn, pre + name) == n for name, n in want.items())


def _schema(client: Any, dim: int, sparse: bool, sentences: bool) -> Any:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    if sparse:
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    if sentences:
        schema.add_field("chunk", DataType.INT64)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("kind", DataType.VARCHAR, max_length=64)
    schema.add_field("date", DataType.VARCHAR, max_length=16)
    schema.add_field("speaker", DataType.INT64)
    schema.add_field("speaker_label", DataType.VARCHAR, max_length=1024)
    schema.add_field("role", DataType.VARCHAR, max_length=32)
    return schema


def _index_params(client: Any, remote: bool, sparse: bool) -> Any:
    params = client.prepare_index_params()
    if remote:
        params.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
    else:
        params.add_index("vector", index_type="FLAT", metric_type="IP")
    if sparse:
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return params


def bm25_weights(bm25: Any) -> dict[int, dict[int, float]]:
    """id -> {term id: that term's BM25 weight in the row}, from bm25s's precomputed matrix
    (one column per term): the document side of the sparse vectors."""
    out: dict[int, dict[int, float]] = {int(i): {} for i in bm25.ids}
    if bm25._bm is None:
        return out
    sc = bm25._bm.scores
    data, rows, indptr = (np.asarray(sc[k]) for k in ("data", "indices", "indptr"))
    terms = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.lexsort((terms, rows))
    bounds = np.searchsorted(rows[order], np.arange(len(bm25.ids) + 1))
    for r, chunk in enumerate(np.asarray(bm25.ids).tolist()):
        part = order[bounds[r]:bounds[r + 1]]
        part = part[data[part] > 0]
        out[chunk] = dict(zip(terms[part].tolist(), data[part].astype(float).tolist()))
    return out


def _write(conn: Connection, pre: str, index: Any, parts: dict[str, Scalars]) -> None:
    client, remote = conn.client, is_remote(conn.uri)
    dim = int(index.config["dimension"])
    docs = {row: d for row, d in index.document_rows()}
    labels = {sid: label for sid, label, _ in index.speakers()}
    sources = {"chunks": index.dense, "sentences": index.sentences, "chunks_en": index.dense_en}
    weights = bm25_weights(index.bm25)
    sent_chunk = np.asarray(index.columns.sent_chunk)
    for name, scal in parts.items():
        full = pre + name
        if client.has_collection(full):
            client.drop_collection(full)
        if not scal.count:
            continue
        sparse, sentences = name == "chunks", name == "sentences"
        client.create_collection(full, schema=_schema(client, dim, sparse, sentences),
                                 index_params=_index_params(client, remote, sparse))
        ids = np.flatnonzero(scal.present)
        for start in range(0, len(ids), BATCH):
            part = ids[start:start + BATCH]
            vectors = sources[name].vectors(part)
            rows = []
            for i, v in zip(part.tolist(), vectors):
                doc = docs[int(scal.doc[i])]
                speaker = int(scal.speaker[i])
                row = {"id": i, "vector": v.tolist(), "doc_id": doc.id, "kind": doc.type, "date": doc.date,
                       "speaker": speaker, "speaker_label": labels.get(speaker) or "",
                       "role": ROLE_NAMES[min(int(scal.role[i]), len(ROLES))]}
                if sparse:
                    row["sparse"] = weights.get(i, {})
                if sentences:
                    row["chunk"] = int(sent_chunk[i])
                rows.append(row)
            client.insert(full, rows)
        client.load_collection(full)
        if _rows(conn, full) != scal.count:
            raise IndexLoadError(f"Milvus at {conn.uri}: {full} holds {_rows(conn, full)} rows after the "
                                 f"export, not {scal.count}: export again with `rag index --store milvus --force`")


def _drop_orphans(conn: Connection, version: Path) -> list[str]:
    """On a shared server: drop the collections of this index's versions that no longer exist
    on disk (pruned builds); versions still on disk may still be served."""
    from rag import buildlock

    name = version.name[1:].split(".v-")[0]
    ours = "unrag_" + re.sub(r"[^0-9A-Za-z]", "_", f"{name}.v-")
    keep = {prefix(v) for v in buildlock.versions(version.parent / name)} | {prefix(version)}
    dropped = [c for c in conn.client.list_collections()
               if c.startswith(ours) and not any(c.startswith(k) for k in keep)]
    for c in dropped:
        conn.client.drop_collection(c)
    return dropped
