"""QA files: loading and validating questions with gold evidence, checking the gold against the
corpus sources.

Format (one JSON object a line): `id` (unique), `question`, `lang` (zh/en), `answerable` (bool),
`evidence`: a list of `{doc, quote, speaker}` (speaker: a list of acceptable names, empty = any).
An answerable question has evidence, an unanswerable one none. Anything else is a QAFormatError
naming the file and line. `norm` (NFKC, all whitespace removed) is the text normalisation shared
with the metrics in rag.evaluate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.corpus import load_manifest, read_source
from rag.text import squash

LANGS = ("zh", "en")
_QA_FIELDS = {"id", "question", "lang", "answerable", "evidence"}
_EVIDENCE_FIELDS = {"doc", "quote", "speaker"}


class QAFormatError(ValueError):
    """A QA file line that does not follow the format (the message names file and line)."""


@dataclass(frozen=True)
class Evidence:
    doc: str
    quote: str
    speakers: tuple[str, ...]  # acceptable names; empty = any speaker


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    lang: str
    answerable: bool
    evidence: tuple[Evidence, ...]
    source: str = ""  # "file:line" the item was read from
    qa_set: str = ""  # the QA file's stem ("dev", "extra")


# ---------------------------------------------------------------- loading and checking gold

def load_qa(path: str | Path) -> list[QAItem]:
    path = Path(path)
    items: list[QAItem] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise QAFormatError(f"{where}: not a JSON object ({e.msg})") from None
        item = _parse_item(obj, where)
        if item.id in seen:
            raise QAFormatError(f"{where}: id: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise QAFormatError(f"{path}: no questions")
    return items


def _parse_item(obj: Any, where: str) -> QAItem:
    if not isinstance(obj, dict):
        raise QAFormatError(f"{where}: not a JSON object")
    _check_keys(obj, _QA_FIELDS, where)
    for key in ("id", "question"):
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise QAFormatError(f"{where}: {key}: must be a non-empty string")
    if obj["lang"] not in LANGS:
        raise QAFormatError(f"{where}: lang: must be one of {LANGS}, got {obj['lang']!r}")
    if not isinstance(obj["answerable"], bool):
        raise QAFormatError(f"{where}: answerable: must be true or false")
    if not isinstance(obj["evidence"], list):
        raise QAFormatError(f"{where}: evidence: must be a list")
    evidence = tuple(_parse_evidence(e, f"{where}: evidence[{i}]")
                     for i, e in enumerate(obj["evidence"]))
    if obj["answerable"] and not evidence:
        raise QAFormatError(f"{where}: evidence: an answerable question needs evidence")
    if not obj["answerable"] and evidence:
        raise QAFormatError(f"{where}: evidence: an unanswerable question has no evidence")
    return QAItem(obj["id"], obj["question"], obj["lang"], obj["answerable"], evidence, where,
                  Path(where.rsplit(":", 1)[0]).stem)


def _parse_evidence(obj: Any, where: str) -> Evidence:
    if not isinstance(obj, dict):
        raise QAFormatError(f"{where}: not a JSON object")
    _check_keys(obj, _EVIDENCE_FIELDS, where)
    for key in ("doc", "quote"):
        if not isinstance(obj[key], str) or not norm(obj[key]):
            raise QAFormatError(f"{where}.{key}: must be a non-empty string")
    speakers = obj["speaker"]
    if not isinstance(speakers, list) or not all(isinstance(s, str) and norm(s) for s in speakers):
        raise QAFormatError(f"{where}.speaker: must be a list of non-empty strings")
    return Evidence(obj["doc"], obj["quote"], tuple(speakers))


def _check_keys(obj: dict, expected: set[str], where: str) -> None:
    if missing := sorted(expected - obj.keys()):
        raise QAFormatError(f"{where}: missing field(s) {', '.join(missing)}")
    if unknown := sorted(obj.keys() - expected):
        raise QAFormatError(f"{where}: unknown field(s) {', '.join(unknown)}")


def check_gold(items: Iterable[QAItem], sources: Mapping[str, str]) -> list[str]:
    """Problems with gold evidence against the sources: unknown document, a quote that is not in
    its document (after norm), no acceptable speaker name anywhere in the document. [] = sound."""
    normed = {doc: norm(text) for doc, text in sources.items()}
    problems = []
    for item in items:
        for e in item.evidence:
            if e.doc not in normed:
                problems.append(f"{item.source}: {item.id}: unknown document {e.doc!r}")
            elif norm(e.quote) not in normed[e.doc]:
                problems.append(f"{item.source}: {item.id}: quote not in {e.doc}: {e.quote!r}")
            elif e.speakers and not any(norm(s) in normed[e.doc] for s in e.speakers):
                problems.append(f"{item.source}: {item.id}: no speaker of {list(e.speakers)} "
                                f"occurs in {e.doc}")
    return problems


norm = squash  # the name rag.evaluate and the QA format documentation use


def load_sources(corpus_dir: str | Path) -> tuple[dict[str, str], dict[str, str | None]]:
    """doc_id -> source text (the file as read, offsets index into it) and doc_id -> symbol."""
    docs = load_manifest(Path(corpus_dir))
    sources = {d.id: read_source(Path(corpus_dir), d) for d in docs}
    return sources, {d.id: d.symbol for d in docs}
