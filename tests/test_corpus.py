"""Manifest validation, strict UTF-8 reading, corpus hash."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag.corpus import CorpusError, corpus_hash, load_manifest, read_source
from rag.records import Document

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
    assert [d.id for d in docs][:5] == ["S/PV.8838", "S/2021/681", "S/PRST/2021/11",
                                        "letter-2012-04-04-australia-uruguay", "S/RES/2518 (2020)"]
    assert len(docs) == 15
    assert [d.symbol for d in docs[5:]] == [None] * 9 + ["E/RES/2023/18"]  # never invented
    assert {d.type for d in docs[5:]} == {"summary_record", "resolution", "note_verbale", "working_paper", "letter"}
    assert all(d.translation("en") == d.file.removesuffix(".txt") + ".en.txt" for d in docs[5:])
    letter = docs[3]
    assert letter.symbol is None and letter.url is None
    assert docs[0].meeting == 8838 and docs[0].type == "meeting_record"
    assert docs[4].author == "Security Council"


def test_missing_required_field_names_manifest_and_field(tmp_path):
    entry = _entry(1)
    del entry["title_zh"]
    d = _corpus(tmp_path, [entry])
    with pytest.raises(CorpusError, match=r"manifest\.json.*documents\[0\].*'title_zh'"):
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


def test_the_2023_files_are_stored_as_delivered():
    shared = Path("/work/shared/corpus-2023")
    if not shared.is_dir():
        pytest.skip("the shared delivery is not mounted here")
    for doc in load_manifest(CORPUS)[5:]:
        assert (CORPUS / doc.file).read_bytes() == (shared / "zh" / doc.file).read_bytes()
        assert (CORPUS / doc.translation("en")).read_bytes() == (shared / "en" / doc.file).read_bytes()


def test_optional_fields_may_be_absent_or_null(tmp_path):
    entry = _entry(1, title_en=None)
    del entry["organ"]
    doc = load_manifest(_corpus(tmp_path, [entry]))[0]
    assert doc.title_en is None and doc.organ is None and doc.translations == () and doc.layout is None


def test_kind_is_a_synonym_of_type(tmp_path):
    entry = _entry(1, kind="note_verbale")
    del entry["type"]
    assert load_manifest(_corpus(tmp_path, [entry]))[0].type == "note_verbale"
    (tmp_path / "b").mkdir()
    same = _corpus(tmp_path / "b", [_entry(1, kind="letter")])
    assert load_manifest(same)[0].type == "letter"  # the same value twice is fine


@pytest.mark.parametrize("over,message", [
    ({"type": "letter", "kind": "report"}, r"fields 'type' \('letter'\) and 'kind' \('report'\) differ"),
    ({"type": "minutes"}, r"documents\[0\] \(doc-1\): field 'type' 'minutes' is not a document kind; the kinds are: "
                          r"meeting_record, summary_record, resolution, decision, presidential_statement, letter, "
                          r"note_verbale, report, working_paper, draft_resolution, agenda, other"),
    ({"date": "2021-13-45"}, r"field 'date' must be a calendar date YYYY-MM-DD, got '2021-13-45'"),
    ({"date": "2021-02-30"}, r"field 'date'.*'2021-02-30'"),
    ({"meeting": True}, r"field 'meeting' must be an integer or null, got True"),
    ({"meeting": "8838"}, r"field 'meeting' must be an integer"),
    ({"id": "doc-\ud800"}, r"documents\[0\]: field 'id' is not valid Unicode text: an invalid character U\+D800 \(a lone surrogate\)"),
    ({"title_zh": "标题\x00"}, r"field 'title_zh' is not valid Unicode text: a NUL character"),
    ({"type": "resolution", "organ": None}, r"field 'organ' is required for a resolution"),
    ({"layout": "columns"}, r"field 'layout' 'columns' is not one of: pdf_wrapped, paragraphs, segments"),
    ({"translations": {"fr": "1.fr.txt"}}, r"field 'translations' has language 'fr'; supported: en"),
    ({"translations": {"en": "../x.txt"}}, r"field 'translations.en' must be a plain file name"),
    ({"translations": ["1.en.txt"]}, r"field 'translations' must be an object"),
    ({"author": 7}, r"field 'author' must be a string or null"),
    ({"source_sha256": "abc"}, r"field 'source_sha256' must be 64 lowercase hex digits"),
])
def test_wrongly_typed_or_impossible_fields_name_the_file_and_field(tmp_path, over, message):
    raw = json.dumps({"documents": [_entry(1, **over)]})  # ASCII: a lone surrogate is written as \\ud800
    (tmp_path / "manifest.json").write_text(raw, encoding="utf-8")
    (tmp_path / "1.txt").write_text("正文。\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"manifest\.json: documents\[0\]") as info:
        load_manifest(tmp_path)
    assert re.search(message, str(info.value)), str(info.value)
    assert "\n" not in str(info.value)


def test_translations_count_as_listed_and_must_exist(tmp_path):
    d = _corpus(tmp_path, [_entry(1, translations={"en": "1.en.txt"})], files={"1.en.txt": b"Text.\n"})
    assert load_manifest(d)[0].translations == (("en", "1.en.txt"),)
    (d / "1.en.txt").unlink()
    with pytest.raises(CorpusError, match=r"1\.en\.txt: translation file listed in .*manifest\.json \(id doc-1, "
                                          r"field 'translations\.en'\) does not exist"):
        load_manifest(d)


def test_a_file_listed_twice_is_rejected(tmp_path):
    d = _corpus(tmp_path, [_entry(1), _entry(2, translations={"en": "1.txt"})])
    with pytest.raises(CorpusError, match=r"duplicate file '1\.txt'"):
        load_manifest(d)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n", "\ufeff\u3000\n".encode()])
def test_empty_or_blank_documents_are_errors(tmp_path, content):
    d = _corpus(tmp_path, [_entry(1)], files={"1.txt": content})
    with pytest.raises(CorpusError, match=r"1\.txt: the file is empty"):
        read_source(d, load_manifest(d)[0])
    from rag.chunks import chunk_corpus
    with pytest.raises(CorpusError, match=r"1\.txt: the file is empty"):
        chunk_corpus(d)


def test_an_empty_translation_is_an_error(tmp_path):
    d = _corpus(tmp_path, [_entry(1, translations={"en": "1.en.txt"})], files={"1.en.txt": b"\n"})
    from rag.chunks import chunk_corpus
    with pytest.raises(CorpusError, match=r"1\.en\.txt: the file is empty"):
        chunk_corpus(d)


def test_corpus_hash_covers_translations(tmp_path):
    d = _corpus(tmp_path, [_entry(1, translations={"en": "1.en.txt"})], files={"1.en.txt": b"Text.\n"})
    h = corpus_hash(d)
    (d / "1.en.txt").write_bytes(b"Other text.\n")
    assert corpus_hash(d) != h


def test_document_round_trips_through_dict():
    for doc in load_manifest(CORPUS):
        assert Document.from_dict(doc.to_dict()) == doc
        hash(doc)
