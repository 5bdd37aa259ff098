"""The corpus directory: `manifest.json` + one UTF-8 text file per document.

Validation happens here, at the edge: every error names the file and the line or field.
Nothing is skipped silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from rag.errors import CorpusError
from rag.records import Document

MANIFEST = "manifest.json"
REQUIRED = ("id", "symbol", "file", "type", "organ", "date", "title_zh", "title_en")
OPTIONAL_STR = ("author", "language", "notes")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _entry(i: int, raw: Any, where: str) -> Document:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: documents[{i}] is not an object")
    label = f"{where}: documents[{i}]" + (f" ({raw['id']})" if isinstance(raw.get("id"), str) else "")
    for key in REQUIRED:
        if key not in raw:
            raise CorpusError(f"{label}: missing required field '{key}'")
        value = raw[key]
        if key == "symbol" and value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"{label}: field '{key}' must be a non-empty string")
    for key in OPTIONAL_STR:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise CorpusError(f"{label}: field '{key}' must be a string or null")
    if not DATE_RE.match(raw["date"]):
        raise CorpusError(f"{label}: field 'date' must be YYYY-MM-DD, got {raw['date']!r}")
    if raw.get("meeting") is not None and not isinstance(raw["meeting"], int):
        raise CorpusError(f"{label}: field 'meeting' must be an integer or null")
    if Path(raw["file"]).name != raw["file"]:
        raise CorpusError(f"{label}: field 'file' must be a plain file name, got {raw['file']!r}")
    return Document(
        id=raw["id"], symbol=raw["symbol"], type=raw["type"], organ=raw["organ"], date=raw["date"],
        title_zh=raw["title_zh"], title_en=raw["title_en"], author=raw.get("author"), file=raw["file"],
        language=raw.get("language") or "zh", meeting=raw.get("meeting"), notes=raw.get("notes"),
    )


def load_manifest(corpus_dir: Path) -> list[Document]:
    """Validated manifest entries, in manifest order."""
    corpus_dir = Path(corpus_dir)
    path = corpus_dir / MANIFEST
    if not path.is_file():
        raise CorpusError(f"{path}: manifest not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: not valid UTF-8 ({e.reason})") from e
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path}: line {e.lineno}: invalid JSON ({e.msg})") from e
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise CorpusError(f"{path}: field 'documents' (a list) is missing")
    docs = [_entry(i, raw, str(path)) for i, raw in enumerate(data["documents"])]
    _check_unique(docs, path)
    for doc in docs:
        if not (corpus_dir / doc.file).is_file():
            raise CorpusError(f"{corpus_dir / doc.file}: file listed in {path} (id {doc.id}) does not exist")
    listed = {doc.file for doc in docs}
    for txt in sorted(corpus_dir.glob("*.txt")):
        if txt.name not in listed:
            raise CorpusError(f"{txt}: file has no entry in {path}")
    return docs


def _check_unique(docs: list[Document], path: Path) -> None:
    for field in ("id", "file"):
        seen: set[str] = set()
        for doc in docs:
            value = getattr(doc, field)
            if value in seen:
                raise CorpusError(f"{path}: duplicate {field} {value!r}")
            seen.add(value)


def read_source(corpus_dir: Path, doc: Document) -> str:
    """The document's text, decoded strictly as UTF-8 (no newline translation: offsets index it)."""
    path = Path(corpus_dir) / doc.file
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e.strerror})") from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CorpusError(f"{path}: line {line}: invalid UTF-8 byte 0x{data[e.start]:02x} "
                          f"at byte offset {e.start}") from e


def corpus_hash(corpus_dir: Path) -> str:
    """sha256 over the manifest and every listed file (name and bytes), in file-name order."""
    corpus_dir = Path(corpus_dir)
    h = hashlib.sha256()
    h.update((corpus_dir / MANIFEST).read_bytes())
    for doc in sorted(load_manifest(corpus_dir), key=lambda d: d.file):
        h.update(b"\x00" + doc.file.encode() + b"\x00")
        h.update((corpus_dir / doc.file).read_bytes())
    return h.hexdigest()
