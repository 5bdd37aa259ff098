"""What a built index version must be to be served: its config.json read and checked (format,
chunker, model), every artifact's size and sha256 against what the build recorded, and the row
counts of every part against each other. Any mismatch is one IndexCorruptError / IndexLoadError
line naming the file and what to run (rag.index loads; rag.build records)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rag import buildlock
from rag.chunks import CHUNKER_VERSION
from rag.errors import IndexCorruptError, IndexLoadError

FORMAT_VERSION = 4  # 3: the store keeps the English sentence keys (sentences_en); 4: bm25_en_sentence
CHEAP_BYTES = 16 << 20  # artifacts up to this size are checksummed at every load


def read_config(path: Path) -> dict[str, Any] | None:
    """The current version's config.json; None when there is no index."""
    version = buildlock.current_version(Path(path))
    if version is None:
        return None
    return read_json(version / "config.json")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexLoadError(f"no index at {path.parent}: build it with `rag index`") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexCorruptError(f"{path}: unreadable ({' '.join(str(e).split())}): rebuild it with "
                                "`rag index --force`") from e
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{path}: not a JSON object: rebuild it with `rag index --force`")
    return data


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def artifacts(directory: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file of a version (config.json and the reader lock aside)."""
    out = {}
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory).as_posix()
        if p.is_file() and rel not in ("config.json", buildlock.READER_LOCK):
            out[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    return out


def check_files(directory: Path, config: dict[str, Any], *, checksums: bool = False) -> None:
    """Every artifact the build recorded is there with its size (and checksum: always for small
    files, for all with `checksums`)."""
    recorded = config_key(config, "artifacts", directory)
    for rel, want in recorded.items():
        path = directory / rel
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(f"{path}: missing: rebuild the index with `rag index --force`") from None
        if size != want["size"]:
            raise IndexCorruptError(f"{path}: {size} bytes, but the build wrote {want['size']}: "
                                    "rebuild the index with `rag index --force`")
        if (checksums or size <= CHEAP_BYTES) and sha256_file(path) != want["sha256"]:
            raise IndexCorruptError(f"{path}: contents differ from what the build wrote (sha256): "
                                    "rebuild the index with `rag index --force`")


def config_key(config: dict[str, Any], key: str, directory: Path) -> Any:
    if key not in config:
        raise IndexCorruptError(f"{directory / 'config.json'}: no {key!r}: rebuild the index with "
                                "`rag index --force`")
    return config[key]


def check_counts(index: Any) -> None:
    """The rows each part holds agree with each other and with what the build recorded."""
    want = config_key(index.config, "counts", index.path)
    have = {
        "documents": index.store.count("documents"),
        "sources": index.store.count("sources"),
        "chunks": index.store.count("chunks"),
        "sentences": index.store.count("sentences"),
        "speakers": index.store.count("speakers"),
        "live": index.live_count,
        "dense": index.dense.ntotal,
        "sentence_vectors": index.sentences.ntotal,
        "dense_en": index.dense_en.ntotal if index.dense_en else 0,
        "sentences_en": index.sentences_en.ntotal if index.sentences_en else 0,
        "bm25": len(index.bm25),
        "bm25_en": len(index.bm25_en) if index.bm25_en else 0,
        "bm25_en_sentence": len(index.bm25_en_sentence) if index.bm25_en_sentence else 0,
        "english": int(np.count_nonzero(index.columns.en)),
    }
    files = {"documents": "store.sqlite", "sources": "store.sqlite", "chunks": "store.sqlite",
             "sentences": "store.sqlite", "speakers": "store.sqlite", "live": "columns/order.npy",
             "dense": "dense.faiss", "sentence_vectors": "sentences.faiss", "dense_en": "dense_en.faiss",
             "sentences_en": "sentences_en.faiss",
             "bm25": "bm25", "bm25_en": "bm25_en", "bm25_en_sentence": "bm25_en_sentence", "english": "columns/en.npy"}
    for name, n in have.items():
        if want.get(name) != n:
            raise IndexCorruptError(f"{index.path / files[name]}: holds {n} {name.replace('_', ' ')} rows, "
                                    f"but the build recorded {want.get(name)}: rebuild the index with "
                                    "`rag index --force`")
    for name in ("chunks", "live", "dense", "bm25"):
        if have[name] != have["chunks"]:
            raise IndexCorruptError(f"{index.path / files[name]}: {have[name]} rows for "
                                    f"{have['chunks']} chunks: rebuild the index with `rag index --force`")


def check_format(path: Path, config: dict[str, Any]) -> None:
    if config.get("format_version") != FORMAT_VERSION or config.get("chunker_version") != CHUNKER_VERSION:
        raise IndexLoadError(
            f"index {path} was built with format {config.get('format_version')} / chunker "
            f"{config.get('chunker_version')}; this code expects {FORMAT_VERSION} / {CHUNKER_VERSION}: "
            "rebuild it with `rag index`")


def check_model(path: Path, config: dict[str, Any], encoder: Any) -> None:
    want_hash = getattr(encoder, "weights_hash", None)
    same = (config.get("model_hash") == want_hash if want_hash and config.get("model_hash")
            else config.get("model_id") == str(encoder.model_id))
    if not same or config.get("dimension") != int(encoder.dimension):
        raise IndexLoadError(
            f"index {path} was built with model {config.get('model_id')} "
            f"(weights {str(config.get('model_hash'))[:12]}, dim {config.get('dimension')}), "
            f"but the configured model is {encoder.model_id} (weights {str(want_hash)[:12]}, "
            f"dim {encoder.dimension}): rebuild it with `rag index` or set RAG_MODEL back")
