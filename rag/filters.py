"""Filters as boolean masks over the index's chunks, and the filters a question's intent implies.

Routing rule (see README "Query understanding"):
- hard (restricts the candidates): explicit filters; documents named by symbol; member or observer
  states named as speakers (when they speak in the corpus).
- soft (a boosted ranked list in fusion): organs and roles named (秘书长, 主席, 安理会), since they
  are often the object of a sentence rather than its speaker ("主席声明要求秘书长…"), and
  document kinds named (决议, 主席声明, 概念说明…), since a question about a meeting may name the
  resolution it adopted.
"""

from __future__ import annotations

import re

import numpy as np

from rag.query import QueryIntent, speaker_matches
from rag.records import Chunk, Document, Filters
from rag.text import squash

STATE_KINDS = ("state", "observer")


_norm = squash  # NFKC, whitespace removed: `Ｓ／PV.8838` and `S/RES/2518(2020)` match as written


def chunk_matches(chunk: Chunk, doc: Document, f: Filters) -> bool:
    if f.doc_ids and not ({_norm(chunk.doc_id)} | ({_norm(doc.symbol)} if doc.symbol else set())) \
            & {_norm(x) for x in f.doc_ids}:
        return False
    if f.symbols and not (doc.symbol and _norm(doc.symbol) in {_norm(x) for x in f.symbols}):
        return False
    if f.doc_types and chunk.doc_type not in f.doc_types:
        return False
    if f.date_from and doc.date < f.date_from:
        return False
    if f.date_to and doc.date > f.date_to:
        return False
    if f.speakers:
        who = chunk.speaker_info or chunk.speaker
        if who is None or not any(speaker_matches(who, s) for s in f.speakers):
            return False
    return True


class FilterError(ValueError):
    """A filter value that names nothing in the index (it would silently match nothing)."""


def check_filters(index, f: Filters) -> None:
    """Raise FilterError, naming the field, for a document, type or speaker the index lacks."""
    docs = index.documents
    known_docs = {_norm(d.id) for d in docs} | {_norm(d.symbol) for d in docs if d.symbol}
    checks = (("doc_ids", f.doc_ids, lambda v: _norm(v) in known_docs),
              ("symbols", f.symbols, lambda v: _norm(v) in known_docs),
              ("doc_types", f.doc_types, lambda v: v in {d.type for d in docs}),
              ("speakers", f.speakers, lambda v: any(
                  speaker_matches(c.speaker_info or c.speaker, v) for c in index.chunks if c.speaker)))
    for name, values, known in checks:
        unknown = [v for v in values if not known(v)]
        if unknown:
            raise FilterError(f"filters.{name}: nothing in the index matches "
                              f"{', '.join(map(repr, unknown))}")
    for name, value in (("date_from", f.date_from), ("date_to", f.date_to)):
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise FilterError(f"filters.{name}: expected YYYY-MM-DD, got {value!r}")


def allowed_mask(index, f: Filters) -> np.ndarray:
    docs = {d.id: d for d in index.documents}
    if f.is_empty():
        return np.ones(len(index.chunks), dtype=bool)
    return np.array([chunk_matches(c, docs[c.doc_id], f) for c in index.chunks], dtype=bool)


def intent_filters(intent: QueryIntent | None, explicit: Filters) -> tuple[Filters, dict[str, Filters]]:
    """(hard, soft) filters for a question; explicit filters always stay hard. Each soft filter
    becomes its own boosted ranked list, named by the key."""
    if intent is None:
        return explicit, {}
    present = [s for s in intent.speakers if s.present]
    states = tuple(s.canonical for s in present if s.kind in STATE_KINDS)
    organs = tuple(s.canonical for s in present if s.kind not in STATE_KINDS)
    hard = Filters(
        doc_ids=explicit.doc_ids or intent.doc_ids,
        symbols=explicit.symbols,
        speakers=explicit.speakers or states,
        doc_types=explicit.doc_types,
        date_from=explicit.date_from,
        date_to=explicit.date_to,
    )
    soft: dict[str, Filters] = {}
    if organs and not explicit.speakers:
        soft["route_speaker"] = Filters(speakers=organs)
    if intent.doc_types and not (explicit.doc_types or hard.doc_ids):
        soft["route_type"] = Filters(doc_types=intent.doc_types)
    return hard, soft
