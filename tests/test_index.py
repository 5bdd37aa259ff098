"""The index directory's guarantees, on the real corpus with a small fake encoder (no model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag import index as index_mod

REPO = Path(__file__).resolve().parents[1]


class HashEncoder:
    """Deterministic bag-of-characters vectors: enough to exercise FAISS, not to rank well."""
    model_id = "hash-encoder"
    weights_hash = "h" * 64
    dimension = 64

    def encode_passages(self, texts, progress=False):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                out[i, ord(ch) % self.dimension] += 1.0
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)

    encode_queries = encode_passages


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "corpus", tmp_path / "corpus"))


def test_build_writes_config_and_skips_when_nothing_changed(corpus: Path, tmp_path: Path) -> None:
    path, built = index_mod.build(corpus, tmp_path / "idx", HashEncoder())
    assert built
    config = json.loads((path / "config.json").read_text())
    for key in ("model_id", "model_hash", "dimension", "chunker_version", "chunks_hash", "tokenizer",
                "corpus_hash", "created", "versions", "faiss_factory", "n_chunks"):
        assert key in config, key
    assert config["model_hash"] == "h" * 64 and config["dimension"] == 64
    assert not index_mod.build(corpus, path, HashEncoder())[1]
    loaded = index_mod.load(path, HashEncoder())
    assert len(loaded.chunks) == config["n_chunks"] == loaded.dense.ntotal


def test_a_changed_document_makes_the_index_stale(corpus: Path, tmp_path: Path) -> None:
    path, _ = index_mod.build(corpus, tmp_path / "idx", HashEncoder())
    text = next(corpus.glob("002_*.txt"))
    text.write_text(text.read_text("utf-8") + "\n“安全理事会决定继续积极处理此案。”\n", "utf-8")
    assert index_mod.build(corpus, path, HashEncoder())[1]


def test_a_failed_swap_puts_the_previous_index_back(corpus, tmp_path, monkeypatch) -> None:
    path, _ = index_mod.build(corpus, tmp_path / "idx", HashEncoder())
    before = (path / "config.json").read_text()
    real_rename = Path.rename

    def rename(self, target):
        if Path(target) == path and self.name.startswith(".idx.building-"):
            raise OSError("disk full")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        index_mod.build(corpus, path, HashEncoder(), force=True)
    assert (path / "config.json").read_text() == before
    assert index_mod.load(path, HashEncoder()).chunks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "idx"]


def test_a_swap_cut_short_by_a_crash_is_repaired(corpus: Path, tmp_path: Path) -> None:
    path, _ = index_mod.build(corpus, tmp_path / "idx", HashEncoder())
    path.rename(path.with_name(".idx.old"))  # the state a crash between the two renames leaves
    assert not index_mod.build(corpus, path, HashEncoder())[1]  # put back, and still current
    assert index_mod.load(path, HashEncoder()).chunks
    assert not path.with_name(".idx.old").exists()


def test_a_faiss_factory_string_builds_an_approximate_index(corpus: Path, tmp_path: Path) -> None:
    path, _ = index_mod.build(corpus, tmp_path / "idx", HashEncoder(), factory="HNSW16")
    assert not index_mod.build(corpus, path, HashEncoder())[1]  # a later build keeps the type
    loaded = index_mod.load(path, HashEncoder())
    assert loaded.config["faiss_factory"] == "HNSW16"
    q = HashEncoder().encode_queries(["维和人员的安全"])
    _, rows = loaded.dense.search(q, loaded.dense.ntotal)
    assert (rows[0] >= 0).sum() == loaded.dense.ntotal  # searched widely enough to rank every row


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(index_mod.IndexLoadError, match="rag index"):
        index_mod.load(tmp_path / "nothing")
