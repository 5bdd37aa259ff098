"""The corpus directory: `manifest.json` + one UTF-8 text file per document (+ its translations).

Validation happens here, at the edge: every error names the file and the line or field.
Nothing is skipped silently. The manifest contract (docs/ingestion.md):

- required: `id`, `symbol` (present; null stays null), `file`, `type` (or its synonym `kind`: one
  of rag.kinds.KINDS), `date` (a real calendar date YYYY-MM-DD), `title_zh`; `organ` too for the
  kinds that speak for their organ (resolution, decision, draft_resolution, presidential_statement);
- optional: `title_en`, `author`, `organ`, `language`, `meeting` (an integer), `notes`,
  `translations` ({"en": "<file>"}, a plain file name in the corpus directory), `layout`
  (pdf_wrapped | paragraphs | segments), `source_file`, `source_sha256` (64 hex digits); any
  other key is ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from rag.errors import CorpusError
from rag.kinds import KINDS, ORGAN_KINDS
from rag.records import Document
from rag.reflow import LAYOUTS
from rag.text import invalid_text

MANIFEST = "manifest.json"
REQUIRED_STR = ("id", "file", "date", "title_zh")
OPTIONAL_STR = ("title_en", "author", "organ", "language", "notes", "source_file")
TRANSLATION_LANGUAGES = ("en",)
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value (keys and values of objects, items of lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _check_strings(raw: dict[str, Any], label: str) -> None:
    for key, value in raw.items():
        for v in (key, *_strings(value)):
            if why := invalid_text(v):
                raise CorpusError(f"{label}: field {key.encode('utf-8', 'backslashreplace').decode()!r} {why}")


def _kind(raw: dict[str, Any], label: str) -> str:
    given = {k: raw[k] for k in ("type", "kind") if k in raw}
    if not given:
        raise CorpusError(f"{label}: missing required field 'type' (or 'kind')")
    if len(given) == 2 and given["type"] != given["kind"]:
        raise CorpusError(f"{label}: fields 'type' ({given['type']!r}) and 'kind' ({given['kind']!r}) differ")
    kind = next(iter(given.values()))
    if kind not in KINDS:
        raise CorpusError(f"{label}: field 'type' {kind!r} is not a document kind; the kinds are: {', '.join(KINDS)}")
    return kind


def _date(value: str, label: str) -> str:
    try:
        if not DATE_RE.fullmatch(value):
            raise ValueError("not YYYY-MM-DD")
        dt.date.fromisoformat(value)
    except ValueError as e:
        raise CorpusError(f"{label}: field 'date' must be a calendar date YYYY-MM-DD, got {value!r} ({e})") from e
    return value


def _plain_name(value: Any, field: str, label: str) -> str:
    if not isinstance(value, str) or not value.strip() or Path(value).name != value or value in (".", ".."):
        raise CorpusError(f"{label}: field {field!r} must be a plain file name in the corpus directory, got {value!r}")
    return value


def _translations(raw: dict[str, Any], label: str) -> tuple[tuple[str, str], ...]:
    value = raw.get("translations")
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise CorpusError(f"{label}: field 'translations' must be an object like {{\"en\": \"<file>\"}}")
    for lang, name in value.items():
        if lang not in TRANSLATION_LANGUAGES:
            raise CorpusError(f"{label}: field 'translations' has language {lang!r}; supported: "
                              f"{', '.join(TRANSLATION_LANGUAGES)}")
        _plain_name(name, f"translations.{lang}", label)
    return tuple(sorted(value.items()))


def _entry(i: int, raw: Any, where: str) -> Document:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: documents[{i}] is not an object")
    ident = raw.get("id")
    label = f"{where}: documents[{i}]" + (f" ({ident})" if isinstance(ident, str) and not invalid_text(ident) else "")
    _check_strings(raw, label)
    for key in (*REQUIRED_STR, "symbol"):
        if key not in raw:
            raise CorpusError(f"{label}: missing required field '{key}'")
    kind = _kind(raw, label)
    required = REQUIRED_STR + (("organ",) if kind in ORGAN_KINDS else ())
    for key in required + ("symbol",):
        value = raw.get(key)
        if key == "symbol" and value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            why = "is required for a " + kind if key == "organ" and value is None else "must be a non-empty string"
            raise CorpusError(f"{label}: field '{key}' {why}")
    for key in OPTIONAL_STR:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise CorpusError(f"{label}: field '{key}' must be a string or null")
    meeting = raw.get("meeting")
    if meeting is not None and (isinstance(meeting, bool) or not isinstance(meeting, int)):
        raise CorpusError(f"{label}: field 'meeting' must be an integer or null, got {meeting!r}")
    layout = raw.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise CorpusError(f"{label}: field 'layout' {layout!r} is not one of: {', '.join(LAYOUTS)}")
    sha = raw.get("source_sha256")
    if sha is not None and not (isinstance(sha, str) and SHA256_RE.fullmatch(sha)):
        raise CorpusError(f"{label}: field 'source_sha256' must be 64 lowercase hex digits")
    return Document(
        id=raw["id"], symbol=raw["symbol"], type=kind, organ=raw.get("organ"), date=_date(raw["date"], label),
        title_zh=raw["title_zh"], title_en=raw.get("title_en"), author=raw.get("author"),
        file=_plain_name(raw["file"], "file", label), language=raw.get("language") or "zh", meeting=meeting,
        notes=raw.get("notes"), translations=_translations(raw, label), layout=layout,
        source_file=raw.get("source_file"), source_sha256=sha,
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
        for lang, name in doc.translations:
            if not (corpus_dir / name).is_file():
                raise CorpusError(f"{corpus_dir / name}: translation file listed in {path} (id {doc.id}, field "
                                  f"'translations.{lang}') does not exist")
    listed = {doc.file for doc in docs} | {name for doc in docs for _, name in doc.translations}
    for txt in sorted(corpus_dir.glob("*.txt")):
        if txt.name not in listed:
            raise CorpusError(f"{txt}: file has no entry in {path}")
    return docs


def _check_unique(docs: list[Document], path: Path) -> None:
    ids: set[str] = set()
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.id in ids:
            raise CorpusError(f"{path}: duplicate id {doc.id!r}")
        ids.add(doc.id)
        for name in (doc.file, *(n for _, n in doc.translations)):
            if name in seen:
                raise CorpusError(f"{path}: duplicate file {name!r} (ids {seen[name]!r} and {doc.id!r})")
            seen[name] = doc.id


def read_text(path: Path) -> str:
    """A corpus file decoded strictly as UTF-8 (no newline translation: offsets index it);
    CorpusError naming the file and line for invalid UTF-8 and for a file with no text."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read ({e.strerror})") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CorpusError(f"{path}: line {line}: invalid UTF-8 byte 0x{data[e.start]:02x} "
                          f"at byte offset {e.start}") from e
    if not text.replace("\ufeff", "").strip():
        raise CorpusError(f"{path}: the file is empty (no text after removing whitespace)")
    return text


def read_source(corpus_dir: Path, doc: Document) -> str:
    """The document's text, as stored (see read_text)."""
    return read_text(Path(corpus_dir) / doc.file)


def read_translation(corpus_dir: Path, doc: Document, language: str = "en") -> str | None:
    """The official translation's text as stored, or None when the manifest names none."""
    name = doc.translation(language)
    return read_text(Path(corpus_dir) / name) if name else None


def corpus_hash(corpus_dir: Path) -> str:
    """sha256 over the manifest and every listed file, translations included (name and bytes),
    in file-name order."""
    corpus_dir = Path(corpus_dir)
    h = hashlib.sha256()
    h.update((corpus_dir / MANIFEST).read_bytes())
    docs = load_manifest(corpus_dir)
    for name in sorted({d.file for d in docs} | {n for d in docs for _, n in d.translations}):
        h.update(b"\x00" + name.encode() + b"\x00")
        h.update((corpus_dir / name).read_bytes())
    return h.hexdigest()
