"""Chunks: the paragraph is the unit; long paragraphs split at sentence ends, very short body
paragraphs merged into the next body paragraph of the same turn. A chunk never crosses a turn, a
role or a document.

    documents, chunks = chunk_corpus(corpus_dir)

Per document: reflow (rag.reflow, with the manifest's layout or the detected one) -> speakers by
kind (rag.speakers for verbatim records, rag.summary for summary records, the kind's rule for the
rest) -> roles (rag.roles: headings and front matter are chunks of their own; a record's have no speaker,
any other kind's keep the document's one voice) ->
chunks -> the official English of each chunk's span when the manifest names a translation
(rag.align).

Paragraph labels: the document's own number ("13"; a sub-item "(a)" under 3 is "3(a)"), else
"p<N>" with N the 1-based position of the paragraph in the document; merged paragraphs "p4-p6"
(short paragraphs merged into a numbered paragraph take its number).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

from rag.align import Translation
from rag.corpus import load_manifest, read_source, read_translation
from rag.errors import CorpusError
from rag.kinds import author_zh, organ_zh
from rag.records import Chunk, Document, Paragraph, SpeakerInfo, chunk_id
from rag.reflow import Offsets, detect_layout, reflow
from rag.roles import roles
from rag.sentences import CHUNK_ENDS, CLOSERS
from rag.speakers import Turn, document_speaker, split_record
from rag.summary import boundary, split_summary

CHUNKER_VERSION = "6"  # 6: a one-voice document's headings keep its voice; 5: a signatory's title closing a letter is body (rag.roles); 4: sentence segments grouped
MIN_CHARS = 30  # a body paragraph shorter than this is merged into the next one of the same turn
# Aligned sentence segments (layout `segments`) of a letter, note verbale, working paper or report
# are sentences, not paragraphs: consecutive ones of a run are grouped until the passage holds this
# many characters, so a sentence keeps its context ("这类信息…" says what information). The
# paragraph kinds (resolutions, decisions, statements) put one paragraph per line: never grouped.
SEGMENT_CHARS = 300
PARAGRAPH_KINDS = frozenset({"resolution", "decision", "presidential_statement", "draft_resolution", "agenda"})
SENTENCE_END_RE = re.compile(f"[{CHUNK_ENDS}][{CLOSERS}]*")
COMMAS = "，、,："


@dataclass(frozen=True)
class Placed:
    """A paragraph in document order with its role and turn (None outside turns)."""

    para: Paragraph
    role: str  # body | heading | front_matter
    turn: Turn | None


@dataclass(frozen=True)
class _Unit:
    """Consecutive paragraphs of one run (same role and turn) that form chunks."""

    paragraphs: tuple[Paragraph, ...]
    labels: tuple[str, ...]

    @property
    def label(self) -> str:
        numbered = [lab for p, lab in zip(self.paragraphs, self.labels) if p.number]
        if numbered:  # short paragraphs merged into a numbered paragraph: the paragraph's own number
            return numbered[0]
        return self.labels[0] if len(self.labels) == 1 else f"{self.labels[0]}-{self.labels[-1]}"


def _labels(paragraphs: list[Paragraph]) -> dict[int, str]:
    """Label of each paragraph (keyed by start offset), in document order."""
    out, top = {}, None
    for n, para in enumerate(sorted(paragraphs, key=lambda p: p.start), 1):
        if para.number and para.number.startswith("("):
            out[para.start] = f"{top}{para.number}" if top else para.number
        elif para.number:
            top = para.number
            out[para.start] = para.number
        else:
            out[para.start] = f"p{n}"
    return out


def _units(paragraphs: list[Paragraph], labels: dict[int, str], max_chars: int, body: bool,
           min_chars: int = MIN_CHARS) -> list[_Unit]:
    """Group a run's paragraphs. Body: unnumbered paragraphs shorter together than min_chars (one-line
    remarks, or sentence segments) join the next paragraph; a numbered paragraph is never merged into
    another one. Headings and front matter: consecutive paragraphs together, up to max_chars."""
    groups: list[list[Paragraph]] = []
    pending: list[Paragraph] = []
    size = 0
    for para in paragraphs:
        sentences = body and min_chars > MIN_CHARS and size >= MIN_CHARS  # a passage of sentences
        if pending and (size + 1 + len(para.text) > max_chars or (sentences and para.number)):
            groups.append(pending)  # full, or sentences that a numbered paragraph must not take
            pending, size = [], 0
        pending.append(para)
        size += len(para.text) + (1 if size else 0)
        if body and (para.number or sum(len(p.text) for p in pending) >= min_chars):
            groups.append(pending)
            pending, size = [], 0
    if pending:
        groups.append(pending)
    return [_Unit(tuple(g), tuple(labels[p.start] for p in g)) for g in groups]


def sentence_cuts(text: str, max_chars: int) -> list[int]:
    """Cut indices splitting `text` into pieces of at most max_chars, at sentence ends when possible,
    balanced in size (k = ceil(len / max_chars) pieces when sentences allow). Linear in len(text)."""
    if len(text) <= max_chars:
        return [0, len(text)]
    ends = [m.end() for m in SENTENCE_END_RE.finditer(text) if 0 < m.end() < len(text)]
    target = len(text) / math.ceil(len(text) / max_chars)
    cuts, start = [0], 0
    while len(text) - start > max_chars:
        lo, hi = bisect.bisect_right(ends, start), bisect.bisect_right(ends, start + max_chars)
        if lo < hi:
            k = bisect.bisect_left(ends, start + target, lo, hi)
            cut = min(ends[max(lo, k - 1):min(hi, k + 1)], key=lambda e: (abs(e - start - target), -e))
        else:  # one sentence longer than max_chars: cut after a comma, else hard
            window = text[start + 1:start + max_chars]
            comma = max(window.rfind(c) for c in COMMAS)
            cut = start + comma + 2 if comma >= 0 else start + max_chars
        cuts.append(cut)
        start = cut
    cuts.append(len(text))
    return cuts


def _pieces(source: str, unit: _Unit, max_chars: int) -> list[Paragraph]:
    if len(unit.paragraphs) > 1:
        first, last = unit.paragraphs[0], unit.paragraphs[-1]
        return [Paragraph("\n".join(p.text for p in unit.paragraphs), first.start, last.end, first.line)]
    para = unit.paragraphs[0]
    cuts = sentence_cuts(para.text, max_chars)
    if len(cuts) == 2:
        return [para]
    offs = Offsets(source, para)
    return [p for i, j in zip(cuts, cuts[1:]) if (p := offs.piece(i, j))]


def parse(doc: Document, text: str) -> list[Placed]:
    """The document's paragraphs in order, with their roles and turns (see module docstring)."""
    if doc.type == "summary_record":
        paragraphs = reflow(text, doc.layout, boundary=boundary)
        found = roles(paragraphs)
        turns, _ = split_summary(paragraphs, found, organ_zh(doc.organ) or author_zh(doc.author))
        if not turns:
            raise ValueError("summary record without any speaker (`X先生(国家)说，…`, `主席说，…`)")
        return _place(paragraphs, found, turns)
    if doc.type == "meeting_record":
        turns, outside = split_record(reflow(text, doc.layout), text)
        if not turns:
            raise ValueError("meeting record without any speaker header")
        paragraphs = sorted([p for t in turns for p in t.paragraphs] + outside, key=lambda p: p.start)
        return _place(paragraphs, roles(paragraphs), turns)
    paragraphs = reflow(text, doc.layout)
    return [Placed(p, r, None) for p, r in zip(paragraphs, roles(paragraphs))]


def _place(paragraphs: list[Paragraph], found: list[str], turns: list[Turn]) -> list[Placed]:
    turn_of = {p.start: t for t in turns for p in t.paragraphs}
    return [Placed(p, r, turn_of.get(p.start) if r == "body" else None) for p, r in zip(paragraphs, found)]


def _runs(placed: list[Placed]) -> list[list[Placed]]:
    """Maximal runs of consecutive paragraphs with the same role and turn."""
    runs: list[list[Placed]] = []
    for p in placed:
        if runs and runs[-1][-1].role == p.role and runs[-1][-1].turn is p.turn:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def chunk_document(doc: Document, text: str, max_chars: int = 500, translation: str | None = None) -> list[Chunk]:
    """Chunks of one document, in document order; `translation` is the official English as
    stored (rag.align), or None."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    placed = parse(doc, text)
    voice = None if doc.type in ("meeting_record", "summary_record") else document_speaker(doc, text)
    labels = _labels([p.para for p in placed])
    english = Translation.build(text, translation, doc.layout) if translation else None
    min_chars = _min_chars(doc, text)
    chunks: list[Chunk] = []
    for run in _runs(placed):
        role, turn = run[0].role, run[0].turn
        # a record's headings and front matter belong to no turn; any other kind speaks with one
        # voice throughout: its title block (the letter's title is the author's letter), its
        # headings (a resolution's `第35次全体会议`, an annex's title) and its body, the annex's too
        speaker, info = (turn.speaker, turn.info) if turn else voice or (None, None)
        for unit in _units([p.para for p in run], labels, max_chars, role == "body", min_chars):
            chunks += [_chunk(doc, p, unit.label, role, speaker, info, turn, english)
                       for p in _pieces(text, unit, max_chars)]
    return chunks


def _min_chars(doc: Document, text: str) -> int:
    """How long a body passage must grow before it is cut: sentence segments are grouped."""
    if doc.type in PARAGRAPH_KINDS or doc.type in ("meeting_record", "summary_record"):
        return MIN_CHARS
    return SEGMENT_CHARS if (doc.layout or detect_layout(text)) == "segments" else MIN_CHARS


def _chunk(doc: Document, p: Paragraph, label: str, role: str, speaker: str | None, info: SpeakerInfo | None,
           turn: Turn | None, english: Translation | None) -> Chunk:
    chunk = Chunk(id=chunk_id(doc.id, p.start, p.end, p.text), doc_id=doc.id, symbol=doc.symbol, doc_type=doc.type,
                  speaker=speaker, speaker_info=info, turn=turn.index if turn else None, paragraph=label,
                  start=p.start, end=p.end, text=p.text, role=role)
    found = english.english(p.start, p.end) if english else None
    if found:
        chunk = dataclasses.replace(chunk, en_start=found[0], en_end=found[1], text_en=found[2])
    return chunk


def chunk_corpus(corpus_dir: Path, max_chars: int = 500) -> tuple[list[Document], list[Chunk]]:
    """All documents and their chunks, in manifest order. Raises CorpusError on bad input."""
    docs = load_manifest(Path(corpus_dir))
    chunks: list[Chunk] = []
    for doc in docs:
        text = read_source(corpus_dir, doc)
        english = read_translation(corpus_dir, doc, "en")
        try:
            chunks += chunk_document(doc, text, max_chars, translation=english)
        except ValueError as e:
            raise CorpusError(f"{Path(corpus_dir) / doc.file}: {e}") from e
    return docs, chunks
