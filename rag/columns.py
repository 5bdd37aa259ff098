"""Per-chunk columns, precomputed at build and memory-mapped at load: what filters, routing and
answer types read for thousands of candidates at once without touching a chunk record.

Chunk columns are indexed by chunk id (the FAISS id); ids of removed chunks have `live` False.
`sent_chunk` maps a sentence id to its chunk (0 for none: chunk ids start at 1). `order` lists
the live chunk ids in reading order (documents in manifest order, then each document's chunks).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptError


@dataclass(frozen=True)
class Columns:
    live: np.ndarray  # bool
    doc: np.ndarray  # int32: document row
    speaker: np.ndarray  # int32: speaker id, 0 = none
    role: np.ndarray  # int8: rag.store.ROLES index
    holds: np.ndarray  # int32: rag.answer_types bits
    sent_start: np.ndarray  # int64: first sentence id
    sent_count: np.ndarray  # int32
    en: np.ndarray  # bool: has an English vector
    order: np.ndarray  # int64: live chunk ids in reading order
    sent_chunk: np.ndarray  # int64: sentence id -> chunk id

    @classmethod
    def from_store(cls, path: Path) -> Columns:
        db = sqlite3.connect(path)
        try:
            rows = np.array(db.execute(
                "SELECT c.id, c.doc, c.speaker, c.role, c.holds, c.sent_start, c.sent_count, c.en "
                "FROM chunks c JOIN documents d ON c.doc = d.row ORDER BY d.pos, c.seq").fetchall(),
                dtype=np.int64).reshape(-1, 8)
            sentences = np.array(db.execute("SELECT id, chunk FROM sentences").fetchall(),
                                 dtype=np.int64).reshape(-1, 2)
            (next_chunk,), (next_sentence,) = db.execute(
                "SELECT value FROM meta WHERE key IN ('next_chunk', 'next_sentence') ORDER BY key").fetchall()
        finally:
            db.close()
        ids = rows[:, 0]

        def column(i: int, dtype: type) -> np.ndarray:
            out = np.zeros(next_chunk, dtype=dtype)
            out[ids] = rows[:, i]
            return out

        live = np.zeros(next_chunk, dtype=bool)
        live[ids] = True
        sent_chunk = np.zeros(next_sentence, dtype=np.int64)
        sent_chunk[sentences[:, 0]] = sentences[:, 1]
        return cls(live=live, doc=column(1, np.int32), speaker=column(2, np.int32),
                   role=column(3, np.int8), holds=column(4, np.int32), sent_start=column(5, np.int64),
                   sent_count=column(6, np.int32), en=column(7, bool), order=ids.copy(),
                   sent_chunk=sent_chunk)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for f in fields(self):
            np.save(directory / f"{f.name}.npy", getattr(self, f.name))

    @classmethod
    def load(cls, directory: Path) -> Columns:
        values = {}
        for f in fields(cls):
            path = directory / f"{f.name}.npy"
            try:
                values[f.name] = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise IndexCorruptError(f"{path}: unreadable column ({e}): rebuild it with "
                                        "`rag index --force`") from e
        columns = cls(**values)
        sizes = {len(columns.live), len(columns.doc), len(columns.speaker), len(columns.role),
                 len(columns.holds), len(columns.sent_start), len(columns.sent_count), len(columns.en)}
        if len(sizes) != 1:
            raise IndexCorruptError(f"{directory}: chunk columns of different lengths {sorted(sizes)}: "
                                    "rebuild it with `rag index --force`")
        return columns

    def sentence_ids(self, chunk_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sentence ids, their chunk ids) of these chunks."""
        starts, counts = self.sent_start[chunk_ids], self.sent_count[chunk_ids]
        owners = np.repeat(chunk_ids, counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(starts, counts) + offsets, owners
