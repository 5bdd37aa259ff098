"""Chunks: the paragraph is the unit; long paragraphs split at sentence ends, very short ones
merged into the next paragraph of the same turn. A chunk never crosses a turn or a document.

Paragraph labels: the document's own number ("13"; a sub-item "(a)" under 3 is "3(a)"), else
"p<N>" with N the 1-based position of the paragraph in the document; merged paragraphs "p4-p6"
(short headings merged into a numbered paragraph take its number).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from rag.corpus import load_manifest, read_source
from rag.errors import CorpusError
from rag.records import Chunk, Document, Paragraph, SpeakerInfo, chunk_id
from rag.reflow import char_offsets, reflow, sub_paragraph
from rag.sentences import CHUNK_ENDS, CLOSERS
from rag.speakers import document_speaker, split_record

CHUNKER_VERSION = "1"
MIN_CHARS = 30  # a paragraph shorter than this is merged into the next one of the same turn
SENTENCE_END_RE = re.compile(f"[{CHUNK_ENDS}][{CLOSERS}]*")


@dataclass(frozen=True)
class _Unit:
    """Consecutive paragraphs of one turn (or of the text outside turns) that form chunks."""

    paragraphs: tuple[Paragraph, ...]
    labels: tuple[str, ...]

    @property
    def label(self) -> str:
        numbered = [lab for p, lab in zip(self.paragraphs, self.labels) if p.number]
        if numbered:  # short headings merged into a numbered paragraph: the paragraph's own number
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


def _units(paragraphs: list[Paragraph], labels: dict[int, str], max_chars: int) -> list[_Unit]:
    """Group a turn's paragraphs: short unnumbered paragraphs (headings, one-line remarks) join the
    next paragraph; a numbered paragraph is never merged into another one."""
    groups: list[list[Paragraph]] = []
    pending: list[Paragraph] = []
    for para in paragraphs:
        size = sum(len(p.text) + 1 for p in pending) + len(para.text)
        if pending and size > max_chars:
            groups.append(pending)
            pending = []
        pending.append(para)
        if para.number or sum(len(p.text) for p in pending) >= MIN_CHARS:
            groups.append(pending)
            pending = []
    if pending:
        groups.append(pending)
    return [_Unit(tuple(g), tuple(labels[p.start] for p in g)) for g in groups]


def sentence_cuts(text: str, max_chars: int) -> list[int]:
    """Cut indices splitting `text` into pieces of at most max_chars, at sentence ends when possible,
    balanced in size (k = ceil(len / max_chars) pieces when sentences allow)."""
    if len(text) <= max_chars:
        return [0, len(text)]
    ends = [m.end() for m in SENTENCE_END_RE.finditer(text)]
    ends = sorted({e for e in ends if 0 < e < len(text)})
    target = len(text) / math.ceil(len(text) / max_chars)
    cuts, start = [0], 0
    while len(text) - start > max_chars:
        fits = [e for e in ends if start < e <= start + max_chars]
        if fits:
            cut = min(fits, key=lambda e: (abs(e - start - target), -e))
        else:  # one sentence longer than max_chars: cut after a comma, else hard
            commas = [i + 1 for i in range(start + 1, start + max_chars) if text[i] in "，、,："]
            cut = commas[-1] if commas else start + max_chars
        cuts.append(cut)
        start = cut
    cuts.append(len(text))
    return cuts


def _make(doc: Document, source: str, unit: _Unit, speaker: str | None, info: SpeakerInfo | None,
          turn: int | None, max_chars: int) -> list[Chunk]:
    pieces: list[Paragraph] = []
    if len(unit.paragraphs) == 1:
        para = unit.paragraphs[0]
        offs = char_offsets(source, para)
        cuts = sentence_cuts(para.text, max_chars)
        pieces = [p for i, j in zip(cuts, cuts[1:]) if (p := sub_paragraph(source, para, i, j, offs))]
    else:
        first, last = unit.paragraphs[0], unit.paragraphs[-1]
        text = "\n".join(p.text for p in unit.paragraphs)
        pieces = [Paragraph(text, first.start, last.end, first.line)]
    return [Chunk(id=chunk_id(doc.id, p.start, p.end, p.text), doc_id=doc.id, symbol=doc.symbol,
                  doc_type=doc.type, speaker=speaker, speaker_info=info, turn=turn, paragraph=unit.label,
                  start=p.start, end=p.end, text=p.text) for p in pieces]


def chunk_document(doc: Document, text: str, max_chars: int = 500) -> list[Chunk]:
    """Chunks of one document, in document order."""
    if max_chars < 50:
        raise ValueError("max_chars must be at least 50")
    paragraphs = reflow(text)
    if doc.type != "meeting_record":
        speaker, info = document_speaker(doc, text)
        labels = _labels(paragraphs)
        return [c for u in _units(paragraphs, labels, max_chars)
                for c in _make(doc, text, u, speaker, info, None, max_chars)]
    turns, outside = split_record(paragraphs, text)
    if not turns:
        raise ValueError("meeting record without any speaker header")
    labels = _labels([p for t in turns for p in t.paragraphs] + outside)
    chunks: list[Chunk] = []
    for block in _outside_blocks(outside, turns):
        for u in _units(block, labels, max_chars):
            chunks += _make(doc, text, u, None, None, None, max_chars)
    for t in turns:
        for u in _units(list(t.paragraphs), labels, max_chars):
            chunks += _make(doc, text, u, t.speaker, t.info, t.index, max_chars)
    return sorted(chunks, key=lambda c: c.start)


def _outside_blocks(outside: list[Paragraph], turns: list) -> list[list[Paragraph]]:
    """Runs of outside paragraphs with no turn between them."""
    bounds = sorted(t.start for t in turns)
    blocks: list[list[Paragraph]] = []
    prev_end = -1
    for para in sorted(outside, key=lambda p: p.start):
        if blocks and not any(prev_end <= b < para.start for b in bounds):
            blocks[-1].append(para)
        else:
            blocks.append([para])
        prev_end = para.end
    return blocks


def chunk_corpus(corpus_dir: Path, max_chars: int = 500) -> tuple[list[Document], list[Chunk]]:
    """All documents and their chunks, in manifest order. Raises CorpusError on bad input."""
    docs = load_manifest(Path(corpus_dir))
    chunks: list[Chunk] = []
    for doc in docs:
        text = read_source(corpus_dir, doc)
        try:
            chunks += chunk_document(doc, text, max_chars)
        except ValueError as e:
            raise CorpusError(f"{Path(corpus_dir) / doc.file}: {e}") from e
    return docs, chunks
