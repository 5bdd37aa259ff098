"""The chunk store: documents, their source texts, speakers, chunks and sentence keys in one
SQLite file (stdlib sqlite3), read by id; nothing of the corpus is held in Python objects.

Ids are stable: a chunk keeps its integer id (its FAISS id) from build to build until its
document changes or leaves; ids are never reused (counters in `meta`). A chunk's sentences have
consecutive ids (`sent_start`, `sent_count`); the sentences of its official English have the ids
chunk id * 16 + j (rag.sentences.ENGLISH_SENTENCES) in `sentences_en`. Every chunk, document and source row carries a seal
(a hash of its id and content), checked on every read: a row moved or edited by hand is an
IndexCorruptError, never a wrong passage.

A built store is immutable; readers open it read-only (`immutable=1`), one connection per thread.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import IndexCorruptError
from rag.records import Chunk, Document, SpeakerInfo
from rag.sentences import ENGLISH_SENTENCES

ROLES = ("body", "heading", "front_matter")  # chunk.role -> its code; any other role: len(ROLES)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE documents (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL,
                        digest TEXT NOT NULL, seal TEXT NOT NULL, pos INTEGER NOT NULL DEFAULT 0);
CREATE TABLE sources (doc INTEGER PRIMARY KEY, text TEXT NOT NULL, seal TEXT NOT NULL);
CREATE TABLE speakers (id INTEGER PRIMARY KEY, label TEXT NOT NULL, info TEXT NOT NULL,
                       UNIQUE (label, info));
CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL, seq INTEGER NOT NULL,
                     speaker INTEGER NOT NULL, role INTEGER NOT NULL, holds INTEGER NOT NULL,
                     sent_start INTEGER NOT NULL, sent_count INTEGER NOT NULL, en INTEGER NOT NULL,
                     record TEXT NOT NULL, tokens TEXT NOT NULL, tokens_en TEXT, seal TEXT NOT NULL);
CREATE INDEX chunks_by_doc ON chunks (doc, seq);
CREATE TABLE sentences (id INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, key BLOB NOT NULL);
CREATE INDEX sentences_by_key ON sentences (key);
CREATE TABLE sentences_en (id INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, key BLOB NOT NULL);
CREATE INDEX sentences_en_by_key ON sentences_en (key);
INSERT INTO meta VALUES ('next_document', 1), ('next_chunk', 1), ('next_sentence', 1),
                        ('next_speaker', 1);
"""

CHUNK_COLUMNS = "id, doc, seq, speaker, role, holds, sent_start, sent_count, en, record"


def seal(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def sentence_key(text: str) -> bytes:
    """How a sentence's vector is found by its text (stripped)."""
    return hashlib.sha256(text.strip().encode("utf-8")).digest()[:12]


def role_code(role: str) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)


@dataclass(frozen=True)
class ChunkRow:
    """A chunk as the builder prepared it for storage."""

    chunk: Chunk
    tokens: Sequence[str]
    tokens_en: Sequence[str] | None
    holds: int
    sentences: Sequence[str]
    sentences_en: Sequence[str] = ()  # rag.sentences.split_english of the chunk's text_en


@dataclass(frozen=True)
class Added:
    """Ids given to one document's new chunks and sentences."""

    chunk_ids: list[int]
    sentence_ids: list[int]


def _record(obj: Any) -> str:
    return json.dumps(obj.to_dict(), ensure_ascii=False, sort_keys=True)


def _corrupt(path: Path, what: Any) -> IndexCorruptError:
    return IndexCorruptError(f"{path}: {' '.join(str(what).split())}: rebuild it with `rag index --force`")


# ------------------------------------------------------------------ writing (one build)

class StoreWriter:
    """Builds a new store file, starting from a copy of the previous version's store (if any)."""

    def __init__(self, path: Path, base: Path | None = None) -> None:
        self.path = Path(path)
        if base is not None:
            shutil.copyfile(base, self.path)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        if base is None:
            self.db.executescript(SCHEMA)
        self._speakers = {(label, info): sid for sid, label, info in
                          self.db.execute("SELECT id, label, info FROM speakers")}

    def digests(self) -> dict[str, str]:
        """document id -> digest of what it was built from."""
        return dict(self.db.execute("SELECT id, digest FROM documents"))

    def _next(self, name: str, count: int) -> int:
        (first,) = self.db.execute("SELECT value FROM meta WHERE key = ?", (name,)).fetchone()
        self.db.execute("UPDATE meta SET value = ? WHERE key = ?", (first + count, name))
        return int(first)

    def remove(self, doc_ids: Iterable[str]) -> tuple[list[int], list[int]]:
        """Delete these documents with their chunks; returns the (chunk, sentence) ids removed."""
        chunk_ids: list[int] = []
        sentence_ids: list[int] = []
        for doc_id in doc_ids:
            (row,) = self.db.execute("SELECT row FROM documents WHERE id = ?", (doc_id,)).fetchone()
            ids = [i for (i,) in self.db.execute("SELECT id FROM chunks WHERE doc = ?", (row,))]
            for start, count in self.db.execute("SELECT sent_start, sent_count FROM chunks WHERE doc = ?", (row,)):
                sentence_ids.extend(range(start, start + count))
            chunk_ids.extend(ids)
            for table in ("sentences", "sentences_en"):
                self.db.execute(f"DELETE FROM {table} WHERE chunk IN (SELECT id FROM chunks WHERE doc = ?)", (row,))
            for table, key in (("chunks", "doc"), ("sources", "doc"), ("documents", "row")):
                self.db.execute(f"DELETE FROM {table} WHERE {key} = ?", (row,))
        return chunk_ids, sentence_ids

    def add(self, doc: Document, source: str, digest: str, rows: Sequence[ChunkRow]) -> Added:
        row = self._next("next_document", 1)
        record = _record(doc)
        self.db.execute("INSERT INTO documents (row, id, record, digest, seal) VALUES (?, ?, ?, ?, ?)",
                        (row, doc.id, record, digest, seal(row, doc.id, record, digest)))
        self.db.execute("INSERT INTO sources VALUES (?, ?, ?)", (row, source, seal(row, source)))
        first = self._next("next_chunk", len(rows))
        sent_first = self._next("next_sentence", sum(len(r.sentences) for r in rows))
        chunk_ids, sentence_ids, chunk_values, sentence_values, english_values = [], [], [], [], []
        next_sentence = sent_first
        for seq, r in enumerate(rows):
            cid = first + seq
            c = r.chunk
            values = (cid, row, seq, self._speaker(c), role_code(c.role), r.holds, next_sentence,
                      len(r.sentences), int(r.tokens_en is not None), _record(c))
            chunk_values.append((*values, " ".join(r.tokens),
                                 None if r.tokens_en is None else " ".join(r.tokens_en), seal(*values)))
            for text in r.sentences:
                sentence_values.append((next_sentence, cid, sentence_key(text)))
                sentence_ids.append(next_sentence)
                next_sentence += 1
            if len(r.sentences_en) > ENGLISH_SENTENCES:  # its ids would be the next chunk's
                raise ValueError(f"chunk {c.id}: {len(r.sentences_en)} English sentences, at most "
                                 f"{ENGLISH_SENTENCES} (rag.sentences.split_english keeps that many)")
            english_values += [(cid * ENGLISH_SENTENCES + j, cid, sentence_key(t)) for j, t in enumerate(r.sentences_en)]
            chunk_ids.append(cid)
        self.db.executemany(f"INSERT INTO chunks ({CHUNK_COLUMNS}, tokens, tokens_en, seal) VALUES "
                            f"({', '.join('?' * 13)})", chunk_values)
        self.db.executemany("INSERT INTO sentences VALUES (?, ?, ?)", sentence_values)
        self.db.executemany("INSERT INTO sentences_en VALUES (?, ?, ?)", english_values)
        return Added(chunk_ids, sentence_ids)

    def _speaker(self, c: Chunk) -> int:
        if not c.speaker:
            return 0
        key = (c.speaker, json.dumps(c.speaker_info.to_dict() if c.speaker_info else None,
                                     ensure_ascii=False, sort_keys=True))
        if key not in self._speakers:
            sid = self._next("next_speaker", 1)
            self.db.execute("INSERT INTO speakers VALUES (?, ?, ?)", (sid, *key))
            self._speakers[key] = sid
        return self._speakers[key]

    def order(self, doc_ids: Sequence[str]) -> None:
        """Documents read in this order (the manifest's)."""
        self.db.executemany("UPDATE documents SET pos = ? WHERE id = ?", list(enumerate(doc_ids)))

    def finish(self) -> dict[str, int]:
        """Drop speakers no chunk has any more, commit, and return the row counts."""
        self.db.execute("DELETE FROM speakers WHERE id NOT IN (SELECT DISTINCT speaker FROM chunks)")
        self.db.commit()
        counts = {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("documents", "sources", "speakers", "chunks", "sentences")}
        self.db.execute("VACUUM")
        self.db.close()
        return counts


# ------------------------------------------------------------------ reading (a loaded index)

class ChunkStore:
    """Read-only access to a built store; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                     check_same_thread=False)
            except sqlite3.Error as e:
                raise _corrupt(self.path, e) from e
            self._local.db = db
        return db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return self._db().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise _corrupt(self.path, e) from e

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])

    def documents(self) -> list[tuple[int, Document]]:
        out = []
        for row, doc_id, record, digest, sealed in self.query(
                "SELECT row, id, record, digest, seal FROM documents ORDER BY pos, row"):
            if seal(row, doc_id, record, digest) != sealed:
                raise _corrupt(self.path, f"document row {row} ({doc_id}) does not match its seal")
            out.append((row, Document.from_dict(json.loads(record))))
        orphans = self.query("SELECT DISTINCT doc FROM chunks WHERE doc NOT IN (SELECT row FROM documents) LIMIT 5")
        if orphans:  # a document row deleted by hand: its chunks would be cited without a document
            raise _corrupt(self.path, f"chunks of document rows {[r for (r,) in orphans]} have no document row")
        return out

    def chunks(self, ids: Sequence[int]) -> list[Chunk]:
        """The chunks with these ids, in this order."""
        ids = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            rows = self.query(f"SELECT {CHUNK_COLUMNS}, seal FROM chunks WHERE id IN "
                              f"({','.join('?' * len(part))})", part)
            for *values, sealed in rows:
                if seal(*values) != sealed:
                    raise _corrupt(self.path, f"chunk row {values[0]} does not match its seal")
                found[values[0]] = Chunk.from_dict(json.loads(values[-1]))
        missing = [i for i in ids if i not in found]
        if missing:
            raise _corrupt(self.path, f"chunk ids {missing[:5]} are missing")
        return [found[i] for i in ids]

    def chunk_ids_of(self, doc_row: int) -> list[int]:
        return [i for (i,) in self.query("SELECT id FROM chunks WHERE doc = ? ORDER BY seq", (doc_row,))]

    def source_text(self, doc_row: int) -> str:
        rows = self.query("SELECT text, seal FROM sources WHERE doc = ?", (doc_row,))
        if not rows or seal(doc_row, rows[0][0]) != rows[0][1]:
            raise _corrupt(self.path, f"the source text of document row {doc_row} is missing or altered")
        return rows[0][0]

    def speakers(self) -> list[tuple[int, str, SpeakerInfo | None]]:
        """Every distinct speaker: (id, label, info)."""
        out = []
        for sid, label, info in self.query("SELECT id, label, info FROM speakers ORDER BY id"):
            data = json.loads(info)
            out.append((sid, label, SpeakerInfo(**data) if data else None))
        return out

    def speakers_by_document(self) -> dict[int, list[int]]:
        """document row -> its speaker ids in order of first appearance."""
        out: dict[int, list[int]] = {}
        for doc, sid in self.query("SELECT doc, speaker FROM chunks WHERE speaker > 0 "
                                   "GROUP BY doc, speaker ORDER BY doc, min(seq)"):
            out.setdefault(doc, []).append(sid)
        return out

    def speaker_turns(self) -> list[tuple[int, int, int | None, int]]:
        """(speaker id, document row, turn, chunks) for every turn of every speaker, in reading
        order (documents in manifest order): who speaks where, aggregated by SQLite, no records
        built."""
        return self.query(
            "SELECT c.speaker, c.doc, json_extract(c.record, '$.turn') AS turn, count(*) FROM chunks c "
            "JOIN documents d ON d.row = c.doc WHERE c.speaker > 0 "
            "GROUP BY c.speaker, c.doc, turn ORDER BY min(d.pos), min(c.seq)")

    def chunk_counts(self) -> dict[int, int]:
        return dict(self.query("SELECT doc, count(*) FROM chunks GROUP BY doc"))

    def sentence_ids(self, keys: Sequence[bytes], table: str = "sentences") -> dict[bytes, int]:
        """key -> the id of a sentence with that text, in `sentences` or `sentences_en`."""
        if table not in ("sentences", "sentences_en"):
            raise ValueError(f"no sentence table {table!r}")
        out: dict[bytes, int] = {}
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            for key, sid in self.query(f"SELECT key, min(id) FROM {table} WHERE key IN "
                                       f"({','.join('?' * len(part))}) GROUP BY key", part):
                out[bytes(key)] = sid
        return out

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
