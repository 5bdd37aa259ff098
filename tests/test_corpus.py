"""Manifest validation, strict UTF-8 reading, corpus hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.corpus import CorpusError, corpus_hash, load_manifest, read_source

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _entry(i: int, **over) -> dict:
    e = {"id": f"doc-{i}", "symbol": f"S/{i}", "file": f"{i}.txt", "type": "letter", "organ": "Security Council",
         "date": "2021-07-26", "title_zh": "标题", "title_en": "Title", "author": "Someone"}
    e.update(over)
    return e


def _corpus(tmp_path: Path, entries: list[dict], files: dict[str, bytes] | None = None) -> Path:
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    for e in entries:
        (tmp_path / e["file"]).write_bytes("正文。\n".encode())
    for name, data in (files or {}).items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_real_manifest_loads_and_null_symbol_stays_none():
    docs = load_manifest(CORPUS)
    assert [d.id for d in docs] == ["S/PV.8838", "S/2021/681", "S/PRST/2021/11",
                                    "letter-2012-04-04-australia-uruguay", "S/RES/2518 (2020)"]
    letter = docs[3]
    assert letter.symbol is None and letter.url is None
    assert docs[0].meeting == 8838 and docs[0].type == "meeting_record"
    assert docs[4].author == "Security Council"


def test_missing_required_field_names_manifest_and_field(tmp_path):
    entry = _entry(1)
    del entry["title_en"]
    d = _corpus(tmp_path, [entry])
    with pytest.raises(CorpusError, match=r"manifest\.json.*documents\[0\].*'title_en'"):
        load_manifest(d)


def test_symbol_key_is_required_but_may_be_null(tmp_path):
    d = _corpus(tmp_path, [_entry(1, symbol=None)])
    assert load_manifest(d)[0].symbol is None
    entry = _entry(2)
    del entry["symbol"]
    (tmp_path / "1.txt").unlink()
    d2 = _corpus(tmp_path, [entry])
    with pytest.raises(CorpusError, match="missing required field 'symbol'"):
        load_manifest(d2)


def test_bad_date_is_rejected(tmp_path):
    d = _corpus(tmp_path, [_entry(1, date="26 July 2021")])
    with pytest.raises(CorpusError, match="'date'"):
        load_manifest(d)


def test_missing_file_names_the_file(tmp_path):
    d = _corpus(tmp_path, [_entry(1), _entry(2)])
    (d / "2.txt").unlink()
    with pytest.raises(CorpusError, match=r"2\.txt.*does not exist"):
        load_manifest(d)


def test_unlisted_file_names_the_file(tmp_path):
    d = _corpus(tmp_path, [_entry(1)], files={"stray.txt": "多余。".encode()})
    with pytest.raises(CorpusError, match=r"stray\.txt: file has no entry"):
        load_manifest(d)


def test_duplicate_ids_are_rejected(tmp_path):
    d = _corpus(tmp_path, [_entry(1), _entry(2, id="doc-1")])
    with pytest.raises(CorpusError, match="duplicate id 'doc-1'"):
        load_manifest(d)


def test_invalid_json_names_the_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{"documents": [\n  {"id": }\n]}', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"manifest\.json: line 2"):
        load_manifest(tmp_path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    d = _corpus(tmp_path, [_entry(1)], files={"1.txt": "第一行。\n第二行".encode() + b"\xff\xfe" + "。\n".encode()})
    doc = load_manifest(d)[0]
    with pytest.raises(CorpusError, match=r"1\.txt: line 2: invalid UTF-8 byte 0xff"):
        read_source(d, doc)


def test_read_source_keeps_text_exactly(tmp_path):
    d = _corpus(tmp_path, [_entry(1)], files={"1.txt": " 第一行。 \r\n\n第二行".encode()})
    assert read_source(d, load_manifest(d)[0]) == " 第一行。 \r\n\n第二行"


def test_corpus_hash_is_stable_and_sensitive(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(CORPUS, d)
    h1 = corpus_hash(d)
    assert h1 == corpus_hash(CORPUS) and len(h1) == 64
    with open(d / "000_e4646aa08b16e44c.txt", "a", encoding="utf-8") as f:
        f.write("\n")
    assert corpus_hash(d) != h1
