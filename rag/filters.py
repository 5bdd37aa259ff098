"""Filters as boolean masks over the index's chunk ids (from precomputed columns, bounded in
cost), and the filters a question's intent implies.

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
from datetime import date

import numpy as np

from rag.errors import FilterError
from rag.query import QueryIntent, load_entities, speaker_matches
from rag.records import Chunk, Document, Filters, SpeakerInfo
from rag.text import squash

# Named speakers (rag.mentions: the name in speaker position) of these kinds become a hard filter;
# organs and roles only a boost (route_speaker): an organ is named as often for its resolutions as
# for the documents that cite them ("Which Security Council resolution…, according to the paper?"),
# and 主席 chairs every meeting. A boost ranks the organ's own passages first without hiding the rest.
# So are authors named loosely (rag.authors: 之友小组, Working Group I).
HARD_KINDS = ("state", "observer", "person", "office", "organization")
# "the President in his national capacity", "主席以本国身份发言": the national-capacity turns.
NATIONAL_CAPACITY = re.compile(r"本国身份|national capacity|(?:his|her|its) (?:own|national) capacity", re.I)


_norm = squash  # NFKC, whitespace removed: `Ｓ／PV.8838` and `S/RES/2518(2020)` match as written


def chunk_matches(chunk: Chunk, doc: Document, f: Filters) -> bool:
    """One chunk against a filter (the record-level form of `matches`)."""
    if not doc_matches(doc, Filters(doc_ids=f.doc_ids, symbols=f.symbols, date_from=f.date_from,
                                    date_to=f.date_to)):
        return False
    if f.doc_types and chunk.doc_type not in f.doc_types:
        return False
    if f.speakers and not any(speaker_is(chunk, s) for s in f.speakers):
        return False
    return True


def speaker_is(chunk: Chunk, value: str) -> bool:
    """The chunk's speaker is `value`: its exact label (as /v1/speakers lists it), or a name or
    affiliation that matches through the entity tables (中国, 中方, China, 戴兵)."""
    return chunk.speaker is not None and label_is(chunk.speaker, chunk.speaker_info, value)


def label_is(label: str, info: SpeakerInfo | None, value: str) -> bool:
    """`speaker_is` for a speaker given by its label and info."""
    if re.search(r"[(（]", value):  # a full label such as 印度 (主席以本国身份发言): that turn only
        return _norm(label) == _norm(value)
    return _norm(label) == _norm(value) or speaker_matches(info or label, value)


def check_filters(index, f: Filters, max_values: int | None = None) -> None:
    """Raise FilterError, naming the field, for a document, type or speaker the index lacks, a
    malformed date, or more than `max_values` values in one list (the cost of a filter is bounded)."""
    for name in ("doc_ids", "symbols", "speakers", "doc_types"):
        values = getattr(f, name)
        if max_values is not None and len(values) > max_values:
            raise FilterError(f"filters.{name}: {len(values)} values; at most {max_values} are allowed")
    docs = index.documents
    known_docs = {_norm(d.id) for d in docs} | {_norm(d.symbol) for d in docs if d.symbol}
    checks = (("doc_ids", f.doc_ids, lambda v: _norm(v) in known_docs),
              ("symbols", f.symbols, lambda v: _norm(v) in known_docs),
              ("doc_types", f.doc_types, lambda v: v in {d.type for d in docs}),
              ("speakers", f.speakers, lambda v: bool(speaker_ids(index, v))))
    for name, values, known in checks:
        unknown = [v for v in values if not known(v)]
        if unknown:
            raise FilterError(f"filters.{name}: nothing in the index matches "
                              f"{', '.join(map(repr, unknown))}")
    for name, value in (("date_from", f.date_from), ("date_to", f.date_to)):
        if value:
            try:
                ok = re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and date.fromisoformat(value)
            except ValueError:
                ok = False
            if not ok:
                raise FilterError(f"filters.{name}: expected a date YYYY-MM-DD, got {value!r}")


def speaker_ids(index, value: str) -> frozenset[int]:
    """Ids of the index's distinct speakers that `value` names (memoized per value: a corpus
    has thousands of speakers, and a filter is matched against each once). A value that is
    exactly a speaker's label and no name of the tables names that speaker only: `第一工作组主席`
    is one chair, though `主席` names every chair and `安全理事会` the Council's president too."""
    def make() -> frozenset[int]:
        exact = frozenset(sid for sid, label, _ in index.speakers() if _norm(label) == _norm(value))
        if exact and load_entities().entity(value.strip()) is None:
            return exact
        return frozenset(sid for sid, label, info in index.speakers() if label_is(label, info, value))
    return index.memo(("speaker", value), make)


def doc_matches(doc: Document, f: Filters) -> bool:
    """The document-level part of a filter: ids, symbols, kinds, dates."""
    if f.doc_ids and not ({_norm(doc.id)} | ({_norm(doc.symbol)} if doc.symbol else set())) \
            & {_norm(x) for x in f.doc_ids}:
        return False
    if f.symbols and not (doc.symbol and _norm(doc.symbol) in {_norm(x) for x in f.symbols}):
        return False
    if f.doc_types and doc.type not in f.doc_types:
        return False
    if f.date_from and doc.date < f.date_from:
        return False
    if f.date_to and doc.date > f.date_to:
        return False
    return True


def matches(index, f: Filters, ids: np.ndarray | None = None) -> np.ndarray:
    """Which chunks the filter keeps: a boolean per id of `ids`, or per chunk id (live or not)
    when `ids` is None. Built from the precomputed columns (document row, speaker id) and a
    per-document and per-distinct-speaker match, never from the chunk records."""
    cols = index.columns
    ids = np.arange(len(cols.live)) if ids is None else np.asarray(ids, dtype=np.int64)
    keep = np.asarray(cols.live[ids], dtype=bool)
    doc_part = Filters(doc_ids=f.doc_ids, symbols=f.symbols, doc_types=f.doc_types,
                       date_from=f.date_from, date_to=f.date_to)
    if not doc_part.is_empty():
        docs_ok = index.memo(("documents", doc_part), lambda: _row_mask(
            {row for row, doc in index.document_rows() if doc_matches(doc, doc_part)}))
        keep &= _lookup(docs_ok, cols.doc[ids])
    if f.speakers:
        wanted = set().union(*(speaker_ids(index, v) for v in f.speakers))
        keep &= _lookup(_row_mask(wanted), cols.speaker[ids])
    return keep


def _row_mask(rows: set[int]) -> np.ndarray:
    mask = np.zeros(max(rows, default=0) + 1, dtype=bool)
    mask[list(rows)] = True
    return mask


def _lookup(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    inside = values < len(mask)
    out = np.zeros(len(values), dtype=bool)
    out[inside] = mask[values[inside]]
    return out


def intent_filters(intent: QueryIntent | None, explicit: Filters,
                   national_labels: tuple[str, ...] = ()) -> tuple[Filters, dict[str, Filters]]:
    """(hard, soft) filters for a question; explicit filters always stay hard. Each soft filter
    becomes its own boosted ranked list, named by the key. `national_labels`: the labels of the
    corpus's national-capacity turns, routed to when the question asks for that capacity."""
    if intent is None:
        return explicit, {}
    present = [s for s in intent.speakers if s.present]
    hard_speakers = tuple(s.canonical for s in present if s.kind in HARD_KINDS)
    soft_speakers = tuple(s.canonical for s in present if s.kind not in HARD_KINDS)
    if national_labels and NATIONAL_CAPACITY.search(intent.question):
        hard_speakers += national_labels
        soft_speakers = tuple(s for s in soft_speakers if s != "主席")
    hard = Filters(
        doc_ids=explicit.doc_ids or intent.doc_ids,
        symbols=explicit.symbols,
        speakers=explicit.speakers or hard_speakers,
        doc_types=explicit.doc_types,
        date_from=explicit.date_from,
        date_to=explicit.date_to,
    )
    soft: dict[str, Filters] = {}
    if soft_speakers and not explicit.speakers:
        soft["route_speaker"] = Filters(speakers=soft_speakers)
    if intent.doc_types and not (explicit.doc_types or hard.doc_ids):
        soft["route_type"] = Filters(doc_types=intent.doc_types)
    return hard, soft
