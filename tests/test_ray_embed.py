"""Batch embedding on Ray Data (rag/ray_embed.py): the vectors equal the local encoder's, in input
order; `rag index --ray auto` builds an index that loads with the local encoder. One local Ray
(`ray.init(num_cpus=2)`) serves the module: starting Ray costs seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.embed import Embedder
from rag.errors import ModelError
from rag.model_store import resolve_model
from rag.ray_embed import PassageActor, RayEncoder

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


def test_validates_without_connecting(tmp_path):
    with pytest.raises(ValueError, match="cpus_per_actor"):
        RayEncoder(str(tmp_path), cpus_per_actor=0)
    encoder = RayEncoder(str(tmp_path), "ray://head:10001")
    assert "ray://head:10001" in repr(encoder) and encoder.info["ray"] == "ray://head:10001"
    with pytest.raises(TypeError, match="sequence of strings"):
        encoder.encode_passages("one string")


@pytest.fixture(scope="module")
def model() -> str:
    return resolve_model(None)


@pytest.mark.integration
def test_actor_refuses_other_weights(model):
    with pytest.raises(ModelError, match="differ from the driver's"):
        PassageActor(model, "auto", "auto", 1, "0" * 64)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.integration
def test_ray_vectors_equal_local_vectors_in_input_order(local_ray, model):
    from rag.chunks import chunk_corpus

    texts = [c.text for c in chunk_corpus(CORPUS)[1]][::7]  # about 40 real chunks, mixed lengths
    encoder = RayEncoder(model, "auto", batch_size=8)
    vectors = encoder.encode_passages(texts)
    local = Embedder(model, runtime=encoder.local.runtime).encode_passages(texts)
    assert vectors.shape == local.shape == (len(texts), 384) and len(texts) >= 36
    assert (vectors * local).sum(axis=1).min() >= 0.9999
    assert encoder.weights_hash == Embedder(model).weights_hash
    assert encoder.encode_passages([]).shape == (0, 384)
    encoder.close()
    assert local_ray.is_initialized()  # a Ray the caller started stays up


@pytest.mark.integration
def test_rag_index_with_ray(local_ray, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.cli import main
    from rag.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["id"] == "S/PRST/2021/11"]
    (corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    shutil.copy(CORPUS / manifest["documents"][0]["file"], corpus)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "indexes"))
    done = CliRunner().invoke(main, ["index", "--corpus", str(corpus), "--name", "viaray", "--ray", "auto"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.strip().splitlines()[-1])["built"] is True
    pipeline = Pipeline.load(tmp_path / "indexes" / "viaray")  # the local encoder, the same identity
    top = pipeline.search("简易爆炸装置构成的威胁", 3).passages
    assert top and "简易爆炸装置" in top[0].chunk.text
