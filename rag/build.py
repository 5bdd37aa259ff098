"""Building an index version (layout: rag/index.py): incremental, locked, swapped atomically.

A build compares each document (its manifest entry, its text and the chunks the code makes of
it) with the previous version and re-embeds only the chunks of added or changed documents; their
old vectors leave the FAISS indexes by id, the others keep their ids. Vectors come through an
embedding cache keyed by (model weights hash, text hash), so even a full rebuild (`--force`) only
embeds texts never seen with this model. BM25 and the columns are rebuilt from the stored
tokens (no re-tokenizing). The new version is written to `.NAME.building-*`, verified (every
checksum and count, through the reader's own code) and only then swapped in (rag.buildlock).
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rag import answer_types, buildlock
from rag import vectors as vec
from rag.chunks import CHUNKER_VERSION, chunk_corpus
from rag.columns import Columns
from rag.config import Settings
from rag.corpus import corpus_hash, read_source
from rag.errors import IndexLoadError
from rag.index import FORMAT_VERSION, artifacts, load, read_config
from rag.lexical import BM25, EnglishAnalyzer, Tokenizer
from rag.records import Chunk, Document
from rag.sentences import (ENGLISH_SENTENCES, ENGLISH_SPLITTER_VERSION, SPLITTER_VERSION, split_english,
                           split_sentences)
from rag.store import ChunkRow, StoreWriter

NULL_SAMPLE = 2048  # chunks in the null sample (all of them in a smaller corpus)
CACHE_FILE = ".embeddings.sqlite"  # in the index base directory, shared by every index name
# What must match for a build to start from the previous version instead of from scratch.
REUSABLE = ("format_version", "model_hash", "model_id", "dimension", "tokenizer", "tokenizer_en",
            "sentence_splitter", "sentence_splitter_en", "answer_types")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("unrag", "faiss-cpu", "bm25s", "PyStemmer", "jieba", "openvino", "torch"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def expected_config(corpus_dir: Path | None, chunks: Sequence[Chunk], tokenizer: Tokenizer, encoder: Any,
                    factory: str, corpus: str | None = None) -> dict[str, Any]:
    """What decides whether an index is current: the corpus, the chunks the code makes of it
    (so a chunker change without a version bump is still seen), the tokenizers, the sentence
    splitter, the answer-type patterns, the model and the FAISS index type."""
    h = hashlib.sha256()
    for c in chunks:
        h.update(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return {
        "format_version": FORMAT_VERSION,
        "model_id": str(encoder.model_id),
        "model_hash": getattr(encoder, "weights_hash", None),
        "dimension": int(encoder.dimension),
        "chunker_version": CHUNKER_VERSION,
        "chunks_hash": h.hexdigest(),
        "tokenizer": tokenizer.signature(),
        "tokenizer_en": EnglishAnalyzer().signature(),
        "sentence_splitter": SPLITTER_VERSION,
        "sentence_splitter_en": ENGLISH_SPLITTER_VERSION,
        "answer_types": answer_types.signature(),
        "corpus_hash": corpus if corpus is not None else corpus_hash(corpus_dir),
        "faiss_factory": factory,
    }


def is_current(config: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    return config is not None and all(config.get(k) == v for k, v in expected.items())


def build(corpus_dir: Path, path: Path, encoder: Any, *, factory: str | None = None,
          force: bool = False, progress: bool = False, settings: Settings | None = None,
          notify: Callable[[str], None] | None = None) -> tuple[Path, bool]:
    """Build index `path` from the corpus unless it is current; returns (path, built?).
    `factory`: a FAISS factory string, or "auto" (by size; the default, or the existing
    index's choice). `force`: rebuild from scratch (the embedding cache still applies)."""
    settings = settings or Settings()
    path = Path(path)
    with buildlock.BuildLock(path, wait=settings.build_wait, notify=notify):
        buildlock.clean_stale(path)
        documents, chunks = chunk_corpus(corpus_dir)
        sources = {d.id: read_source(corpus_dir, d) for d in documents}
        previous = _previous_config(path)
        factory = factory or (previous or {}).get("faiss_factory") or "auto"
        expected = expected_config(corpus_dir, chunks, Tokenizer(), encoder, factory)
        if not force and is_current(previous, expected):
            _export(path, settings, force=False, notify=notify)
            return path, False
        base = None
        if not force and previous and all(previous.get(k) == expected[k] for k in REUSABLE):
            base = buildlock.current_version(path)
        cache = vec.EmbeddingCache(path.parent / CACHE_FILE, str(expected["model_hash"] or expected["model_id"]),
                                   expected["dimension"])
        try:
            embed = vec.CachedEmbedder(encoder, cache, progress=progress)
            write_version(path, documents, chunks, sources, embed, expected, base=base, notify=notify)
        finally:
            cache.close()
        _export(path, settings, force=True, notify=notify)
        return path, True


def _export(path: Path, settings: Settings, *, force: bool, notify: Callable[[str], None] | None) -> None:
    """With RAG_STORE=milvus / --store milvus: the current version's collections in Milvus
    (rag.milvus_export; skipped when they are there with every row, unless `force`)."""
    if settings.store != "milvus":
        return
    from rag import milvus_export
    done = milvus_export.export(path, settings.milvus_uri, force=force)
    if notify and done["written"]:
        notify(f"milvus: {sum(done['collections'].values())} rows in {len(done['collections'])} "
               f"collections at {done['uri']}")


def _previous_config(path: Path) -> dict[str, Any] | None:
    try:
        return read_config(path)
    except IndexLoadError:  # unreadable: build from scratch
        return None


# ------------------------------------------------------------------ one version

@dataclass
class Plan:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: int = 0


def digest(doc: Document, source: str, chunks: Sequence[Chunk]) -> str:
    h = hashlib.sha256(json.dumps(doc.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
    h.update(b"\x1e" + source.encode("utf-8") + b"\x1e")
    for c in chunks:
        h.update(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return h.hexdigest()


def write_version(path: Path, documents: Sequence[Document], chunks: Sequence[Chunk],
                  sources: dict[str, str], embed: vec.Embed, expected: dict[str, Any], *,
                  base: Path | None = None, notify: Callable[[str], None] | None = None,
                  prepare: Callable[[Chunk], ChunkRow] | None = None) -> dict[str, Any]:
    """Write, verify and publish a new version of index `path` (call under the build lock).
    `base`: the previous version to start from. Returns the new config."""
    t0 = time.perf_counter()
    tmp = buildlock.building_dir(path)
    try:
        by_doc: dict[str, list[Chunk]] = {d.id: [] for d in documents}
        for c in chunks:
            by_doc[c.doc_id].append(c)
        writer = StoreWriter(tmp / "store.sqlite", base / "store.sqlite" if base else None)
        plan = _plan(writer.digests(), documents, by_doc, sources)
        removed = writer.remove(plan.changed + plan.removed)
        new = _store(writer, documents, plan, by_doc, sources, prepare or Preparer())
        writer.order([d.id for d in documents])
        counts = writer.finish()
        columns = Columns.from_store(tmp / "store.sqlite")
        columns.save(tmp / "columns")
        old = {"dense": removed[0], "sentences": removed[1], "dense_en": removed[0],
               "sentences_en": english_ids(removed[0])}
        factories = {kind: _vectors(kind, tmp, base, old[kind], new[kind], embed, expected) for kind in VECTOR_KINDS}
        bm25, bm25_en, bm25_en_sentence = _lexical(tmp)
        _null_sample(tmp, columns, factories)
        counts |= {"live": len(columns.order), "dense": _ntotal(tmp, "dense", factories),
                   "sentence_vectors": _ntotal(tmp, "sentences", factories),
                   "dense_en": _ntotal(tmp, "dense_en", factories),
                   "sentences_en": _ntotal(tmp, "sentences_en", factories), "bm25": bm25, "bm25_en": bm25_en,
                   "bm25_en_sentence": bm25_en_sentence,
                   "english": int(np.count_nonzero(columns.en))}
        config = expected | {
            "name": path.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - t0, 1),
            "n_documents": counts["documents"], "n_chunks": counts["chunks"],
            "n_sentences": counts["sentences"],
            "factories": factories,
            "incremental": base is not None,
            "changes": {"added": plan.added, "changed": plan.changed, "removed": plan.removed,
                        "kept": plan.kept},
            "embedded": getattr(embed, "embedded", None), "reused": getattr(embed, "reused", None),
            "counts": counts,
            "versions": _versions(),
        }
        config["artifacts"] = artifacts(tmp)
        (tmp / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1), "utf-8")
        load(tmp, verify=True).close()  # what readers will see, checked before anyone can
        buildlock.publish(path, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    buildlock.prune(path)
    if notify:
        notify(summary(config))
    return config


VECTOR_KINDS = ("dense", "sentences", "dense_en", "sentences_en")  # <kind>.faiss


def _store(writer: StoreWriter, documents: Sequence[Document], plan: Plan, by_doc: dict[str, list[Chunk]],
           sources: dict[str, str], prepare: Callable[[Chunk], ChunkRow]) -> dict[str, list[tuple[int, str]]]:
    """Add the plan's added and changed documents to the store; returns, per vector kind, the
    (FAISS id, text) pairs to embed: chunks, their sentences, their English and its sentences."""
    new: dict[str, list[tuple[int, str]]] = {kind: [] for kind in VECTOR_KINDS}
    for doc in documents:
        if doc.id not in plan.added and doc.id not in plan.changed:
            continue
        rows = [prepare(c) for c in by_doc[doc.id]]
        added = writer.add(doc, sources[doc.id], digest(doc, sources[doc.id], by_doc[doc.id]), rows)
        new["dense"] += [(i, r.chunk.text) for i, r in zip(added.chunk_ids, rows)]
        new["sentences"] += list(zip(added.sentence_ids, (s for r in rows for s in r.sentences)))
        new["dense_en"] += [(i, r.chunk.text_en) for i, r in zip(added.chunk_ids, rows) if r.tokens_en is not None]
        new["sentences_en"] += [(cid * ENGLISH_SENTENCES + j, t) for cid, r in zip(added.chunk_ids, rows)
                                for j, t in enumerate(r.sentences_en)]
    return new


def english_ids(chunk_ids: Sequence[int]) -> list[int]:
    """Every English sentence id these chunks may have."""
    return [cid * ENGLISH_SENTENCES + j for cid in chunk_ids for j in range(ENGLISH_SENTENCES)]


def summary(config: dict[str, Any]) -> str:
    ch = config["changes"]
    parts = [f"{len(ch[k])} {k}" + (f" ({', '.join(ch[k][:5])}{', …' if len(ch[k]) > 5 else ''})" if ch[k] else "")
             for k in ("added", "changed", "removed")]
    return (f"documents: {', '.join(parts)}, {ch['kept']} unchanged; "
            f"texts embedded {config.get('embedded')}, from cache {config.get('reused')}")


def _plan(stored: dict[str, str], documents: Sequence[Document], by_doc: dict[str, list[Chunk]],
          sources: dict[str, str]) -> Plan:
    plan = Plan()
    for doc in documents:
        if doc.id not in stored:
            plan.added.append(doc.id)
        elif stored[doc.id] != digest(doc, sources[doc.id], by_doc[doc.id]):
            plan.changed.append(doc.id)
        else:
            plan.kept += 1
    wanted = {d.id for d in documents}
    plan.removed = [d for d in stored if d not in wanted]
    return plan


class Preparer:
    """A chunk -> what the store keeps of it: jieba and English tokens, answer-type bits,
    sentences. Memoized by text (a build of tiled or repeated texts tokenizes each once)."""

    def __init__(self) -> None:
        self.tokenizer = Tokenizer()
        self.english = EnglishAnalyzer()
        self._memo: dict[str, Any] = {}

    def _text(self, text: str) -> tuple:
        if text not in self._memo:
            self._memo[text] = (self.tokenizer.tokenize(text), answer_types.holds_bits(text),
                                [s.strip() for s in split_sentences(text)])
        return self._memo[text]

    def _english(self, text: str) -> list[str]:
        key = "\x00en" + text
        if key not in self._memo:
            self._memo[key] = self.english.tokenize(text)
        return self._memo[key]

    def __call__(self, chunk: Chunk) -> ChunkRow:
        tokens, holds, sentences = self._text(chunk.text)
        tokens_en = self._english(chunk.text_en) if chunk.text_en else None
        sentences_en = split_english(chunk.text_en) if chunk.text_en else []
        return ChunkRow(chunk, tokens, tokens_en, holds, sentences, sentences_en)


# ------------------------------------------------------------------ artifacts

def _vectors(kind: str, tmp: Path, base: Path | None, removed: Sequence[int],
             new: list[tuple[int, str]], embed: vec.Embed, expected: dict[str, Any]) -> str | None:
    """Write <kind>.faiss: the previous version's index minus the removed ids plus the new ones,
    or a fresh index when there is none or the size calls for another type. Returns the factory
    (None: nothing to index)."""
    ids = np.array([i for i, _ in new], dtype=np.int64)
    vectors = embed([t for _, t in new]) if new else np.zeros((0, expected["dimension"]), np.float32)
    removed = np.asarray(removed, dtype=np.int64)
    old_factory = _old_factory(base, kind)
    old = vec.read(base / f"{kind}.faiss", old_factory, mmap=False) if base and old_factory else None
    if old is not None and not vec.remove(old, removed):  # a type that cannot remove: start over
        ids, vectors, old = *_merge(old, removed, ids, vectors), None
    total = len(ids) + (old.ntotal if old is not None else 0)
    if total == 0:
        return None
    setting = expected["faiss_factory"]
    factory = vec.auto_factory(total) if setting == "auto" else setting
    if old is not None and factory != old_factory:  # grown or shrunk into another type
        ids, vectors, old = *_merge(old, removed, ids, vectors), None
    index = old if old is not None else vec.new_index(expected["dimension"], factory,
                                                      vec.training_sample(vectors, factory))
    vec.add(index, ids, vectors)
    vec.write(index, tmp / f"{kind}.faiss")
    return factory


def _merge(old: Any, removed: np.ndarray, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The old index's vectors (less the removed ids) followed by the new ones."""
    view = vec.VectorIndex(old, Path("previous"))
    keep = np.setdiff1d(view.all_ids(), removed)
    return np.concatenate([keep, ids]), np.concatenate([view.vectors(keep), vectors]).astype(np.float32)


def _old_factory(base: Path | None, kind: str) -> str | None:
    if base is None:
        return None
    try:
        return json.loads((base / "config.json").read_text("utf-8"))["factories"].get(kind)
    except (OSError, KeyError, ValueError) as e:
        raise IndexLoadError(f"{base / 'config.json'}: unreadable ({e}): build with `rag index --force`") from e


def _ntotal(tmp: Path, kind: str, factories: dict[str, str | None]) -> int:
    factory = factories.get(kind)
    return int(vec.read(tmp / f"{kind}.faiss", factory).ntotal) if factory else 0


def _lexical(tmp: Path) -> tuple[int, int, int]:
    """bm25/ over every chunk's jieba tokens; bm25_en/ over the English ones and
    bm25_en_sentence/ over each English sentence, ids chunk id * 16 + j as in sentences_en (if any)."""
    db = sqlite3.connect(tmp / "store.sqlite")
    try:
        zh = db.execute("SELECT id, tokens FROM chunks ORDER BY id").fetchall()
        en = db.execute("SELECT id, tokens_en, json_extract(record, '$.text_en') FROM chunks "
                        "WHERE en = 1 ORDER BY id").fetchall()
    finally:
        db.close()
    BM25(Tokenizer()).fit_tokens([t.split() for _, t in zh], [i for i, _ in zh]).save(tmp / "bm25")
    if not en:
        return len(zh), 0, 0
    analyzer = EnglishAnalyzer()
    BM25(analyzer).fit_tokens([t.split() for _, t, _ in en], [i for i, _, _ in en]).save(tmp / "bm25_en")
    memo: dict[str, list[list[str]]] = {}
    ids, sentences = [], []
    for cid, _, text in en:
        if text not in memo:
            memo[text] = [analyzer.tokenize(s) for s in split_english(text)]
        ids += [cid * ENGLISH_SENTENCES + j for j in range(len(memo[text]))]
        sentences += memo[text]
    BM25(analyzer).fit_tokens(sentences, ids).save(tmp / "bm25_en_sentence")
    return len(zh), len(en), len(ids)


def _null_sample(tmp: Path, columns: Columns, factories: dict[str, str | None]) -> None:
    live = np.asarray(columns.order)
    rng = np.random.default_rng(0)
    sample = np.sort(live if len(live) <= NULL_SAMPLE else rng.choice(live, NULL_SAMPLE, replace=False))
    dense = vec.VectorIndex(vec.read(tmp / "dense.faiss", factories["dense"]), tmp / "dense.faiss")
    sents = vec.VectorIndex(vec.read(tmp / "sentences.faiss", factories["sentences"]), tmp / "sentences.faiss")
    sentence_ids, owners = columns.sentence_ids(sample)
    owner_rows = np.searchsorted(sample, owners)
    np.savez(tmp / "null.npz", chunks=dense.vectors(sample), sentences=sents.vectors(sentence_ids),
             owner=owner_rows)
