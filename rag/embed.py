"""Encoders: `Embedder`, the rag.protocols.Encoder that indexing and queries use, over one of two
runtimes of the same weights (the model folders come from rag/model_store.py):

    openvino  the folder's OpenVINO IR (`rag model` exports it) + its tokenizer + pooling + L2 norm
    torch     sentence-transformers on torch (any sentence-transformers folder)

`runtime` (RAG_ENCODER) is "auto" (OpenVINO when it loads, else torch with a logged reason),
"openvino" or "torch". Both use a GPU when one is present. The model identity an index records
(model_id, weights_hash, dimension) is the same for both, so an index built with one loads with
the other; the runtime shows in `repr()` and `info`.

    Embedder(model)               -> cheap; loads lazily, offline, once, on first use
    encoder_for(spec, settings)   -> Embedder of resolve_model(spec) with the settings' runtime
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.model_store import (E5_PROMPTS, Layout, model_folder, openvino_ir, pooled_dimension, read_layout,
                             resolve_model, weights_sha256)

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "openvino", "torch")
DEVICES = ("auto", "cpu", "gpu")
PRECISIONS = ("auto", "f32")  # auto: the runtime's default for the device (bf16 on CPUs with native bf16)


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def encoder_for(model: str | None = None, settings: Settings | None = None) -> Embedder:
    """The Encoder the entry points use: `model` (else RAG_MODEL, else the bundled folder) on the
    runtime and precision the settings name (RAG_ENCODER, RAG_ENCODER_PRECISION)."""
    settings = settings or Settings.from_env()
    return Embedder(resolve_model(model, settings), runtime=settings.encoder,
                    precision=settings.encoder_precision)


def check_texts(texts: Sequence[str], kind: str) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"encode_{kind}s expects a sequence of strings, got one string")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"encode_{kind}s: item {i} is {type(text).__name__}, not str")
    return items


class Embedder:
    """rag.protocols.Encoder over a sentence-transformers model (a local folder or a cached name).

    Construction is cheap; the model loads offline, once, on first use (thread-safe). Queries get
    the folder's `query` prompt and passages its `passage` prompt (e5's `query: ` / `passage: `
    when none is configured). Texts are sorted by length and encoded in batches padded to their
    longest (`batch_size`, default the runtime's: 8 on a CPU, 64 on a GPU). Vectors are float32,
    L2-normalised, one row per text, in input order."""

    def __init__(self, model: str, batch_size: int | None = None, runtime: str = "auto",
                 device: str = "auto", precision: str = "auto", threads: int | None = None):
        if not model:
            raise ValueError("Embedder: empty model path or name")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"Embedder: batch_size must be >= 1, got {batch_size}")
        for name, value, allowed in (("RAG_ENCODER", runtime, RUNTIMES), ("device", device, DEVICES),
                                     ("RAG_ENCODER_PRECISION", precision, PRECISIONS)):
            if value not in allowed:
                raise ConfigError(f"{name}={value!r}: must be one of {', '.join(allowed)}")
        self.model_id = str(model)
        self.batch_size = batch_size
        self.runtime, self.device, self.precision, self.threads = runtime, device, precision, threads
        self._backend: Any = None
        self._weights_hash: str | None = None
        self._lock = threading.Lock()  # first use from several threads (the service) loads once

    def __repr__(self) -> str:
        size = self.batch_size or "auto"
        return f"Embedder({self.model_id!r}, runtime={self.info['runtime']}, batch_size={size})"

    @property
    def info(self) -> dict[str, Any]:
        """What runs: `runtime` is the requested one until the model is loaded, then e.g.
        "openvino CPU bf16" or "torch cpu f32"."""
        runtime = self._backend.describe() if self._backend is not None else f"{self.runtime} (not loaded)"
        return {"model_id": self.model_id, "runtime": runtime}

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Any:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = self._load()
        return self._backend

    def _load(self) -> Any:
        folder = model_folder(self.model_id)
        if self.runtime != "torch":
            try:
                return OpenVINOBackend(folder, self.device, self.precision, self.threads)
            except ModelError as err:
                if self.runtime == "openvino":
                    raise
                log.warning("OpenVINO runtime not used for %s (%s): falling back to torch", folder, err)
        return TorchBackend(folder, self.device, self.threads)

    @property
    def dimension(self) -> int:
        """The vector size; read from a local folder's pooling config when that suffices (no loading)."""
        if self._backend is None and (dim := pooled_dimension(Path(self.model_id))):
            return dim
        return self.backend.dimension

    @property
    def weights_hash(self) -> str:
        """sha256 of the weight files (the same whichever runtime runs them)."""
        if self._weights_hash is None:
            self._weights_hash = weights_sha256(model_folder(self.model_id))
        return self._weights_hash

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(check_texts(texts, "query"), "query", progress=False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(check_texts(texts, "passage"), "passage", progress=progress)

    def _encode(self, items: list[str], kind: str, progress: bool) -> np.ndarray:
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        backend = self.backend
        prompt = backend.prompts[kind]
        self._warn_truncated(items, prompt)
        order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
        out = np.empty((len(items), backend.dimension), dtype=np.float32)
        size = self.batch_size or backend.batch_size
        from tqdm import tqdm

        with tqdm(total=len(items), disable=not progress, desc="embedding", unit="text") as bar:
            for start in range(0, len(order), size):
                rows = order[start:start + size]
                out[rows] = backend.embed([items[i] for i in rows], prompt)
                bar.update(len(rows))
        return out

    def _warn_truncated(self, items: list[str], prompt: str) -> None:
        """Log texts longer than the model's window (the model would only see their start)."""
        limit = self.backend.max_length
        long = [t for t in items if len(prompt) + len(t) > limit - 16]  # tokens <= chars + a few
        if not limit or not long:
            return
        over = [n for n in self.backend.count_tokens([prompt + t for t in long]) if n > limit]
        if over:
            log.warning("%d of %d texts exceed %d tokens (longest %d) and are truncated by %s",
                        len(over), len(items), limit, max(over), self.model_id)


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """sentence-transformers' pooling: the first token (cls) or the mean over unmasked tokens."""
    if mode == "cls":
        return hidden[:, 0]
    weights = mask[..., None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


class OpenVINOBackend:
    """The folder's transformer on the OpenVINO runtime: one compiled model, one infer request per
    calling thread (the service encodes queries from many threads at once, without a lock)."""

    name = "openvino"

    def __init__(self, folder: Path, device: str = "auto", precision: str = "auto",
                 threads: int | None = None):
        layout = read_layout(folder)
        if layout.pooling is None:
            raise ModelError(f"{folder}: only Transformer -> mean or CLS pooling folders run on OpenVINO")
        try:
            import openvino as ov
        except ImportError as err:
            raise ModelError(f"the openvino package is not importable ({err})") from err
        core = ov.Core()
        self.device = _openvino_device(core, device)
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if precision == "f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            self._compiled = core.compile_model(_openvino_model(core, folder, layout), self.device, config)
        except RuntimeError as err:
            raise ModelError(f"{folder}: OpenVINO cannot compile it for {self.device} ({err})") from err
        self.precision = self._compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
        self.batch_size = 8 if self.device == "CPU" else 64  # measured: small batches pad less
        self._output = self._compiled.output(0)
        self.dimension = int(self._output.get_partial_shape()[2].get_length())
        self.prompts, self.max_length, self.pooling = layout.prompts, layout.max_seq_length, layout.pooling
        self._tokenizer = _tokenizer(layout)
        self._counter: Any = None
        self._local = threading.local()

    def describe(self) -> str:
        return f"openvino {self.device} {self.precision}"

    def embed(self, texts: list[str], prompt: str) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._request().infer({"input_ids": ids, "attention_mask": mask})[self._output]
        return normalize(pool(hidden, mask, self.pooling))

    def _request(self) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self._counter is None:  # a copy without truncation and padding (rarely needed)
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(self._tokenizer.to_str())
            counter.no_truncation()
            counter.no_padding()
            self._counter = counter
        return [len(e.ids) for e in self._counter.encode_batch(texts)]


def _openvino_device(core: Any, device: str) -> str:
    gpus = [d for d in core.available_devices if d.startswith("GPU")]
    if device == "gpu" and not gpus:
        raise ModelError(f"no OpenVINO GPU device (devices: {', '.join(core.available_devices)})")
    return gpus[0] if gpus and device != "cpu" else "CPU"


def _openvino_model(core: Any, folder: Path, layout: Layout) -> Any:
    ir = openvino_ir(folder)
    if ir is not None:
        return core.read_model(str(ir))
    log.info("%s has no current OpenVINO IR (`rag model` writes one for the bundled model): "
             "converting in memory", folder)
    from rag.convert import to_openvino

    try:
        return to_openvino(layout)
    except Exception as err:  # tracing an arbitrary model can fail in many ways: fall back
        raise ModelError(f"{folder}: cannot convert to OpenVINO ({type(err).__name__}: {err})") from err


def _tokenizer(layout: Layout) -> Any:
    """The folder's fast tokenizer, truncating to the model's window and padding to the longest."""
    from tokenizers import Tokenizer

    path = layout.transformer_dir / "tokenizer.json"
    if not path.is_file():
        raise ModelError(f"{path}: missing (the OpenVINO runtime needs the fast tokenizer file)")
    tok = Tokenizer.from_file(str(path))
    pad_id = tok.token_to_id(layout.pad_token) if layout.pad_token else None
    if pad_id is None:
        raise ModelError(f"{path}: no padding token {layout.pad_token!r} in the vocabulary")
    tok.enable_truncation(layout.max_seq_length)
    tok.enable_padding(pad_id=pad_id, pad_token=layout.pad_token)
    return tok


class TorchBackend:
    """sentence-transformers on torch (fp32), CUDA when available."""

    name = "torch"

    def __init__(self, folder: Path, device: str = "auto", threads: int | None = None):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights 197/197" on every CLI call says nothing
        torch.set_num_threads(threads or available_cores())
        self.device = "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"
        if device == "gpu" and self.device != "cuda":
            raise ModelError("no CUDA device for the torch runtime")
        self.batch_size = 8 if self.device == "cpu" else 64
        log.info("loading embedding model %s (torch, %s)", folder, self.device)
        try:
            self.model = SentenceTransformer(str(folder), device=self.device, local_files_only=True)
        except OSError as err:
            raise ModelError(f"cannot load embedding model {str(folder)!r} offline ({err})") from err
        self.prompts = {**E5_PROMPTS, **self.model.prompts}
        self.max_length = self.model.max_seq_length or 0
        getter = (getattr(self.model, "get_embedding_dimension", None)
                  or self.model.get_sentence_embedding_dimension)
        self.dimension = int(getter() or 0)
        if not self.dimension:
            raise ModelError(f"{folder}: the model does not report its embedding dimension")

    def describe(self) -> str:
        return f"torch {self.device} f32"

    def embed(self, texts: list[str], prompt: str) -> np.ndarray:
        vectors = self.model.encode(texts, prompt=prompt, batch_size=len(texts), show_progress_bar=False,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.model.tokenizer(texts, verbose=False)["input_ids"]]
