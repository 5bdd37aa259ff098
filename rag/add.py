"""`rag add` and `POST /v1/documents`: a .txt, PDF or Word file into corpus/ with its manifest entry.

    result = add_files(corpus_dir, [path], given, {"en": english}, dry_run=False)
    result.to_dict()   # per file: what was detected, given, still missing, the entry, written or not
    result.error       # the RagError that stopped it (nothing was written), or None

    plan(path, given, translations) -> Plan     # extract, detect, merge: nothing written
    commit(corpus_dir, plans)                   # check, then write atomically (all or nothing)

Values given explicitly (the command line, the upload form) override what the document states
(rag/metadata.py). A failed check writes nothing: the new files are written to temporary names
and renamed, the manifest last; any failure before that removes what was renamed. The manifest
keeps its formatting and order; the new entries are appended. Before anything is written the new
entries are read and chunked by the corpus reader itself (rag.corpus / rag.chunks) in a scratch
directory, so an entry it would reject never reaches corpus/.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.corpus import TRANSLATION_LANGUAGES as TRANSLATION_LANGS
from rag.errors import CorpusError, InputError, RagError
from rag.extract import extract
from rag.kinds import KINDS, ORGAN_KINDS
from rag.metadata import Found, clean_symbol, detect, detect_title_en, organ_value
from rag.reflow import LAYOUTS
from rag.text import squash

MANIFEST = "manifest.json"
FIELDS = ("id", "symbol", "kind", "organ", "date", "author", "title_zh", "title_en", "layout")  # the flags


@dataclass
class Plan:
    """One document to add: its text, what it states about itself, and what was given."""

    source: Path
    source_name: str  # the original file name (an upload's name, not its temporary path)
    text: str
    layout: str | None
    sha256: str
    detected: dict[str, Found]
    given: dict[str, Any]
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (source name, text)
    detected_en: Found | None = None
    files: dict[str, str] = field(default_factory=dict)  # role ("zh", "en") -> file name in corpus/
    written: bool = False

    def value(self, name: str) -> Any:
        if self.given.get(name) not in (None, ""):
            return self.given[name]
        found = self.detected.get(name) or (self.detected_en if name == "title_en" else None)
        return found.value if found else None

    def entry(self) -> dict[str, Any]:
        """The manifest entry (keys in the manifest's usual order; absent optional values left out)."""
        symbol = self.value("symbol")
        entry: dict[str, Any] = {
            "id": self.value("id") or _default_id(self.source_name, symbol, self.value("date")),
            "symbol": clean_symbol(symbol) if symbol else None,
            "file": self.files.get("zh"), "type": self.value("kind"),
            "organ": organ_value(self.value("organ")) if self.value("organ") else None,
            "date": self.value("date"), "language": "zh", "author": self.value("author"),
            "title_zh": self.value("title_zh"), "title_en": self.value("title_en"),
            "meeting": self.value("meeting"), "layout": self.value("layout") or self.layout,
            "translations": {lang: self.files.get(lang) for lang in self.translations} or None,
            "source_file": self.source_name, "source_sha256": self.sha256,
        }
        return {k: v for k, v in entry.items() if v is not None or k == "symbol"}

    def missing(self) -> list[str]:
        """Required fields neither detected nor given."""
        entry = self.entry()
        need = ["id", "kind", "date", "title_zh"] + (["organ"] if entry.get("type") in ORGAN_KINDS else [])
        return [name for name in need if entry.get("type" if name == "kind" else name) in (None, "")]

    def report(self) -> dict[str, Any]:
        optional = ("symbol", "organ", "author", "title_en", "meeting")
        return {
            "source": self.source_name,
            "detected": {k: {"value": f.value, "from": f.evidence} for k, f in self.detected.items()}
            | ({"title_en": {"value": self.detected_en.value, "from": self.detected_en.evidence}}
               if self.detected_en else {}),
            "given": {k: v for k, v in self.given.items() if v not in (None, "")},
            "missing": self.missing(),
            "not_stated": [k for k in optional if self.entry().get(k) is None],
            "entry": self.entry(),
            "written": self.written,
        }


# ---------------------------------------------------------------- plan

def plan(path: Path, given: Mapping[str, Any] | None = None, translations: Mapping[str, Path] | None = None,
         *, source_name: str | None = None, translation_names: Mapping[str, str] | None = None) -> Plan:
    """Extract and detect; merge with the given values. Raises ExtractionError/InputError only for
    unreadable files or malformed values; missing fields are reported by `Plan.missing()`."""
    path = Path(path)
    given = _clean_given(dict(given or {}))
    extraction = extract(path)
    out = Plan(source=path, source_name=source_name or path.name, text=extraction.text, layout=extraction.layout,
               sha256=hashlib.sha256(path.read_bytes()).hexdigest(), detected=detect(extraction.head, extraction.text),
               given=given)
    for lang, tpath in (translations or {}).items():
        if lang not in TRANSLATION_LANGS:
            raise InputError(f"--translation {lang}=…: unsupported language {lang!r}; "
                             f"use {', '.join(TRANSLATION_LANGS)}")
        text = extract(Path(tpath)).text
        out.translations[lang] = ((translation_names or {}).get(lang, Path(tpath).name), text)
        if lang == "en":
            out.detected_en = detect_title_en(text)
    return out


def _clean_given(given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    out = {k: " ".join(str(v).split()) for k, v in given.items() if v is not None and str(v).strip()}
    if "kind" in out and out["kind"] not in KINDS:
        raise InputError(f"kind {out['kind']!r} is not one of: {', '.join(KINDS)}")
    if "layout" in out and out["layout"] not in LAYOUTS:
        raise InputError(f"layout {out['layout']!r} is not one of: {', '.join(LAYOUTS)}")
    if "date" in out:
        _check_date(out["date"], "date")
    return out


def _check_date(value: str, name: str) -> None:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("not YYYY-MM-DD")
        dt.date.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{name} {value!r} is not a calendar date YYYY-MM-DD ({e})") from e


def _default_id(source_name: str, symbol: str | None, date: str | None) -> str | None:
    """The symbol when there is one, else a slug of the file name plus the date."""
    if symbol:
        return clean_symbol(symbol)
    slug = re.sub(r"[^\w]+", "-", Path(source_name).stem, flags=re.UNICODE).strip("-_").lower()
    return f"{slug or 'document'}-{date}" if date else None


# ---------------------------------------------------------------- check

def check(corpus_dir: Path, plans: Sequence[Plan], manifest: Mapping[str, Any]) -> None:
    """Every plan complete, unique against the manifest and each other, and accepted by the corpus
    reader (entries validated and chunked in a scratch directory). Raises the first problem."""
    for p in plans:
        if missing := p.missing():
            raise InputError(f"{p.source_name}: missing {', '.join(missing)} (not stated in the document; "
                             f"give {' '.join('--' + m.replace('_', '-') for m in missing)})")
    existing = [d for d in manifest.get("documents", []) if isinstance(d, dict)]
    for i, p in enumerate(plans):
        entry = p.entry()
        others = existing + [q.entry() for q in plans[:i]]
        for other in others:
            where = f"{other.get('id')!r}" + (" (being added)" if other not in existing else "")
            if other.get("id") == entry["id"]:
                raise InputError(f"{p.source_name}: id {entry['id']!r} is already in the corpus; give another --id")
            if entry["symbol"] and other.get("symbol") and squash(other["symbol"]).upper() == squash(entry["symbol"]).upper():
                raise InputError(f"{p.source_name}: symbol {entry['symbol']!r} is already in the corpus as {where}")
            if other.get("source_sha256") == p.sha256:
                raise InputError(f"{p.source_name}: the same file was already added as {where}")
    _trial(corpus_dir, plans)


def _trial(corpus_dir: Path, plans: Sequence[Plan]) -> None:
    """Read and chunk the new entries alone with the corpus reader, in a scratch directory."""
    from rag.chunks import chunk_corpus
    with tempfile.TemporaryDirectory(prefix="rag-add-") as tmp:
        scratch = Path(tmp)
        for p in plans:
            for role, name in p.files.items():
                (scratch / name).write_text(p.text if role == "zh" else p.translations[role][1], encoding="utf-8")
        (scratch / MANIFEST).write_text(json.dumps({"documents": [p.entry() for p in plans]}, ensure_ascii=False),
                                        encoding="utf-8")
        try:
            chunk_corpus(scratch)
        except RagError as e:
            message = str(e).replace(str(scratch) + os.sep, "")
            names = ", ".join(p.source_name for p in plans)
            raise type(e)(f"{names}: the corpus reader rejects the new entry: {message}") from e


# ---------------------------------------------------------------- write

def commit(corpus_dir: Path, plans: Sequence[Plan]) -> None:
    """Check, then write the text files and append the manifest entries; all or nothing."""
    corpus_dir = Path(corpus_dir)
    manifest_path = corpus_dir / MANIFEST
    with _locked(corpus_dir):
        manifest = _read_manifest(corpus_dir)
        raw = manifest_path.read_text(encoding="utf-8") if manifest_path.exists() else '{"documents": []}\n'
        _name_files(corpus_dir, plans)
        check(corpus_dir, plans, manifest)
        new_raw = append_entries(raw, [p.entry() for p in plans])
        renamed: list[Path] = []
        try:
            for p in plans:
                for role, name in p.files.items():
                    text = p.text if role == "zh" else p.translations[role][1]
                    renamed.append(_atomic_write(corpus_dir / name, text))
            _atomic_write(manifest_path, new_raw)
        except BaseException:
            for path in renamed:
                path.unlink(missing_ok=True)
            raise
        for p in plans:
            p.written = True


def _name_files(corpus_dir: Path, plans: Sequence[Plan]) -> None:
    """`NNN_<slug>.txt` (the next free number) and `<stem>.en.txt` beside it."""
    taken = {p.name for p in corpus_dir.iterdir()} if corpus_dir.is_dir() else set()
    numbers = [int(m[1]) for name in taken if (m := re.match(r"(\d{3,})_", name))]
    n = max(numbers, default=-1) + 1
    for p in plans:
        slug = re.sub(r"[^a-z0-9]+", "_", (p.entry().get("id") or "").lower()).strip("_")[:48] or p.sha256[:16]
        while f"{n:03d}_{slug}.txt" in taken:
            n += 1
        stem = f"{n:03d}_{slug}"
        p.files = {"zh": f"{stem}.txt"} | {lang: f"{stem}.{lang}.txt" for lang in p.translations}
        taken |= set(p.files.values())
        n += 1


def append_entries(raw: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """The manifest text with the entries appended to its "documents" list, keeping the rest of
    the text (formatting, order, other keys) as it is. Falls back to a full rewrite (indent 2) only
    when the list cannot be located in the text; the result is verified either way."""
    data = json.loads(raw)
    expected = data | {"documents": list(data.get("documents", [])) + [dict(e) for e in entries]}
    out = _splice(raw, entries)
    with contextlib.suppress(json.JSONDecodeError):
        if out is not None and json.loads(out) == expected:
            return out
    return json.dumps(expected, ensure_ascii=False, indent=2) + "\n"


def _splice(raw: str, entries: Sequence[Mapping[str, Any]]) -> str | None:
    m = re.search(r'"documents"\s*:\s*\[', raw)
    if not m:
        return None
    try:
        _, end = json.JSONDecoder().raw_decode(raw, m.end() - 1)
    except json.JSONDecodeError:
        return None
    close = end - 1  # the list's "]"
    before = raw[:close].rstrip()  # ends with the last entry's "}" or with "["
    closing = raw[len(before):close]  # the whitespace before "]"
    items = re.findall(r"\n([ \t]*)\{", raw[m.end():close])
    keys = re.findall(r'\n([ \t]*)"', raw[m.end():close])
    item_indent = items[-1] if items else closing.rsplit("\n", 1)[-1] + "  "
    step = keys[0][len(item_indent):] if keys and keys[0].startswith(item_indent) else ""
    blocks = ["\n".join(item_indent + line for line in json.dumps(e, ensure_ascii=False, indent=step or 2).splitlines())
              for e in entries]
    return before + ("" if before.endswith("[") else ",") + "\n" + ",\n".join(blocks) + closing + raw[close:]


def _atomic_write(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def _locked(corpus_dir: Path) -> Iterator[None]:
    """One writer at a time (two uploads at once, or `rag add` beside the service): an exclusive
    lock on the corpus directory itself, so no lock file is left in it."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus directory not found")
    fd = os.open(corpus_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@dataclass
class Result:
    plans: list[Plan]
    dry_run: bool
    error: RagError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "written": all(p.written for p in self.plans) and bool(self.plans),
                "documents": [p.report() for p in self.plans],
                "error": " ".join(str(self.error).split()) if self.error else None}


def add_files(corpus_dir: Path, files: Sequence[Path], given: Mapping[str, Any] | None = None,
              translations: Mapping[str, Path] | None = None, *, dry_run: bool = False,
              names: Sequence[str] | None = None, translation_names: Mapping[str, str] | None = None) -> Result:
    """Plan every file, then check (dry run) or commit them together. A file that cannot be read
    raises at once; a failed check is returned in `Result.error` with the reports (nothing written)."""
    if len(files) > 1 and (given or translations):
        raise InputError("metadata values and translations apply to one file at a time; add the files one by one")
    plans = [plan(f, given, translations, source_name=names[i] if names else None, translation_names=translation_names)
             for i, f in enumerate(files)]
    result = Result(plans, dry_run)
    try:
        if dry_run:
            _name_files(Path(corpus_dir), plans)
            check(Path(corpus_dir), plans, _read_manifest(Path(corpus_dir)))
        else:
            commit(Path(corpus_dir), plans)
    except RagError as e:
        result.error = e
    return result


def _read_manifest(corpus_dir: Path) -> dict[str, Any]:
    path = corpus_dir / MANIFEST
    if not path.exists():
        return {"documents": []}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: not a readable JSON manifest ({e})") from e
