"""`rag add` (rag/add.py, the CLI command): detect, merge, check, write atomically; round trips
from PDF and Word back to the chunks of the original text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import add as add_mod
from rag.add import add_files, append_entries
from rag.chunks import chunk_corpus
from rag.cli import main
from rag.corpus import load_manifest
from rag.errors import CorpusError
from rag.reflow import reflow
from rag.text import squash
from un_docs import CORPUS, documents_2023, make_docx, make_pdf

REPO = Path(__file__).resolve().parents[1]
LETTER = ("2023年届会\n议程项目12 (e)\n2023年2月7日圣基茨和尼维斯常驻联合国代表给经济及社会理事会主席的信\n"
          "谨致函经济及社会理事会主席阁下，并确认圣基茨和尼维斯与海地之间的深厚关系。\n"
          "圣基茨和尼维斯打算切实促进和加强咨询小组的努力。\n")
EXISTING = {"id": "S/2021/681", "symbol": "S/2021/681", "file": "001_letter.txt", "type": "letter",
            "organ": "Security Council", "date": "2021-07-26", "language": "zh",
            "title_zh": "2021年7月26日印度常驻联合国代表给秘书长的信", "title_en": "Letter dated 26 July 2021"}
# The manifest as someone wrote it: four-space indentation and a key before the list.
MANIFEST = ('{\n    "about": "test corpus",\n    "documents": [\n' +
            "\n".join("        " + line for line in json.dumps(EXISTING, ensure_ascii=False, indent=4).splitlines()) +
            "\n    ]\n}\n")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A corpus with one document (a letter) and a manifest in its own formatting."""
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "001_letter.txt").write_text("2021年7月26日印度常驻联合国代表给秘书长的信\n谨此告知。\n", encoding="utf-8")
    (d / "manifest.json").write_text(MANIFEST, encoding="utf-8")
    return d


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def letter_file(tmp_path: Path, text: str = LETTER, name: str = "skn_letter.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- writing

def test_add_writes_the_text_and_appends_the_entry(corpus: Path, tmp_path: Path) -> None:
    result = add_files(corpus, [letter_file(tmp_path)], {"title_en": "Letter dated 7 February 2023"})
    assert result.error is None and result.to_dict()["written"]
    entry = result.plans[0].entry()
    assert entry == {
        "id": "skn_letter-2023-02-07", "symbol": None, "file": "002_skn_letter_2023_02_07.txt", "type": "letter",
        "organ": "Economic and Social Council", "date": "2023-02-07", "language": "zh",
        "title_zh": "2023年2月7日圣基茨和尼维斯常驻联合国代表给经济及社会理事会主席的信",
        "title_en": "Letter dated 7 February 2023", "source_file": "skn_letter.txt",
        "source_sha256": entry["source_sha256"]}
    raw = (corpus / "manifest.json").read_text(encoding="utf-8")
    assert raw.startswith(MANIFEST[:MANIFEST.rindex("}", 0, MANIFEST.rindex("]")) + 1])  # earlier text untouched
    assert raw.endswith("\n    ]\n}\n") and '\n        {\n            "id": "skn_letter-2023-02-07",' in raw
    assert json.loads(raw) == {"about": "test corpus", "documents": [EXISTING, entry]}
    assert (corpus / entry["file"]).read_text(encoding="utf-8") == LETTER
    docs, chunks = chunk_corpus(corpus)  # the corpus reader accepts it
    assert [d.id for d in docs] == ["S/2021/681", "skn_letter-2023-02-07"]
    assert any(c.doc_id == "skn_letter-2023-02-07" for c in chunks)


def test_report_says_what_was_detected_given_and_not_stated(corpus: Path, tmp_path: Path) -> None:
    report = add_files(corpus, [letter_file(tmp_path)], {"author": "圣基茨和尼维斯", "title_en": "T"},
                       dry_run=True).to_dict()
    doc = report["documents"][0]
    assert report["dry_run"] and not report["written"] and report["error"] is None
    assert doc["detected"]["kind"] == {"value": "letter", "from": LETTER.splitlines()[2]}
    assert doc["detected"]["date"]["value"] == "2023-02-07"
    assert doc["given"] == {"author": "圣基茨和尼维斯", "title_en": "T"}
    assert doc["missing"] == [] and doc["not_stated"] == ["symbol", "meeting"]
    assert doc["entry"]["file"] == "002_skn_letter_2023_02_07.txt"


def test_given_values_override_the_document(corpus: Path, tmp_path: Path) -> None:
    given = {"id": "my-letter", "symbol": "E / 2023 / 7", "kind": "note_verbale", "organ": "大会",
             "date": "2023-02-08", "title_zh": "另一个标题", "title_en": "Another", "layout": "paragraphs"}
    entry = add_files(corpus, [letter_file(tmp_path)], given).plans[0].entry()
    assert {k: entry[k] for k in ("id", "symbol", "type", "organ", "date", "title_zh", "title_en", "layout")} == {
        "id": "my-letter", "symbol": "E/2023/7", "type": "note_verbale", "organ": "General Assembly",
        "date": "2023-02-08", "title_zh": "另一个标题", "title_en": "Another", "layout": "paragraphs"}


def test_the_id_defaults_to_the_symbol(corpus: Path, tmp_path: Path) -> None:
    entry = add_files(corpus, [letter_file(tmp_path, "联合国 E/2023/7\n" + LETTER)], {"title_en": "T"}).plans[0].entry()
    assert (entry["id"], entry["symbol"], entry["file"]) == ("E/2023/7", "E/2023/7", "002_e_2023_7.txt")


def test_missing_fields_write_nothing(corpus: Path, tmp_path: Path) -> None:
    before = snapshot(corpus)
    result = add_files(corpus, [letter_file(tmp_path, "谨此告知。\n")])
    assert result.plans[0].missing() == ["id", "kind", "date", "title_zh"]
    assert re.fullmatch(r"skn_letter\.txt: missing id, kind, date, title_zh \(not stated in the document; "
                        r"give --id --kind --date --title-zh\)", str(result.error))
    assert snapshot(corpus) == before


def test_an_organ_kind_needs_its_organ(corpus: Path, tmp_path: Path) -> None:
    result = add_files(corpus, [letter_file(tmp_path, "第一号决议\n决定继续审议。\n")], {"date": "2023-01-01"})
    assert result.plans[0].missing() == ["organ"] and "missing organ" in str(result.error)


@pytest.mark.parametrize(("given", "message"), [
    ({"id": "S/2021/681"}, r"id 'S/2021/681' is already in the corpus"),
    ({"id": "another", "symbol": "S/2021/ 681"}, r"symbol 'S/2021/681' is already in the corpus as 'S/2021/681'"),
])
def test_duplicates_are_refused(corpus: Path, tmp_path: Path, given: dict, message: str) -> None:
    before = snapshot(corpus)
    result = add_files(corpus, [letter_file(tmp_path)], given | {"title_en": "T"})
    assert re.search(message, str(result.error)) and not result.to_dict()["written"]
    assert snapshot(corpus) == before


def test_the_same_file_twice_is_refused(corpus: Path, tmp_path: Path) -> None:
    path = letter_file(tmp_path)
    assert add_files(corpus, [path], {"title_en": "T"}).error is None
    before = snapshot(corpus)
    again = add_files(corpus, [path], {"id": "other", "title_en": "T"})
    assert "the same file was already added as 'skn_letter-2023-02-07'" in str(again.error)
    assert snapshot(corpus) == before


def test_a_failed_write_leaves_the_corpus_as_it_was(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    before = snapshot(corpus)
    real = add_mod._atomic_write

    def failing(path: Path, text: str) -> Path:
        if path.name == "manifest.json":
            raise OSError(28, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(add_mod, "_atomic_write", failing)
    with pytest.raises(OSError):
        add_files(corpus, [letter_file(tmp_path)], {"title_en": "T"})
    assert snapshot(corpus) == before  # the text file written before the manifest was removed again


def test_a_document_the_corpus_reader_rejects_writes_nothing(corpus: Path, tmp_path: Path, monkeypatch) -> None:
    def reject(corpus_dir: Path):
        raise CorpusError(f"{corpus_dir / '002_skn_letter_2023_02_07.txt'}: letter without a sender")

    monkeypatch.setattr("rag.chunks.chunk_corpus", reject)
    before = snapshot(corpus)
    result = add_files(corpus, [letter_file(tmp_path)], {"title_en": "T"})
    assert str(result.error) == ("skn_letter.txt: the corpus reader rejects the new entry: "
                                 "002_skn_letter_2023_02_07.txt: letter without a sender")
    assert snapshot(corpus) == before


def test_several_files_are_added_all_or_nothing(corpus: Path, tmp_path: Path) -> None:
    good = letter_file(tmp_path)
    bad = letter_file(tmp_path, "谨此告知。\n", name="bad.txt")
    before = snapshot(corpus)
    assert "bad.txt: missing" in str(add_files(corpus, [good, bad]).error)
    assert snapshot(corpus) == before


@pytest.mark.parametrize(("given", "message"), [
    ({"kind": "minutes"}, r"kind 'minutes' is not one of: meeting_record, summary_record, .*, other"),
    ({"date": "2023-02-30"}, r"date '2023-02-30' is not a calendar date"),
    ({"date": "7 Feb 2023"}, r"date '7 Feb 2023' is not a calendar date YYYY-MM-DD"),
    ({"layout": "columns"}, r"layout 'columns' is not one of: pdf_wrapped, paragraphs, segments"),
])
def test_malformed_values_are_refused(corpus: Path, tmp_path: Path, given: dict, message: str) -> None:
    with pytest.raises(add_mod.InputError, match=message):
        add_files(corpus, [letter_file(tmp_path)], given)


@pytest.mark.parametrize(("raw", "expected_tail"), [
    ('{"documents": []}', '{"documents": [\n  {\n    "id": "x"\n  }]}'),
    ('{\n\t"documents": [\n\t\t{\n\t\t\t"id": "a"\n\t\t}\n\t]\n}\n',
     '\t\t},\n\t\t{\n\t\t\t"id": "x"\n\t\t}\n\t]\n}\n'),
    ('{"documents": [{"id": "a"}], "z": 1}', '{"id": "a"},\n  {\n    "id": "x"\n  }], "z": 1}'),
])
def test_append_entries_keeps_the_manifests_own_formatting(raw: str, expected_tail: str) -> None:
    out = append_entries(raw, [{"id": "x"}])
    assert out.endswith(expected_tail)
    assert json.loads(out)["documents"][-1] == {"id": "x"}


# ---------------------------------------------------------------- the command

def test_cli_prints_the_report_and_writes(corpus: Path, tmp_path: Path) -> None:
    path = letter_file(tmp_path)
    result = CliRunner().invoke(main, ["add", str(path), "--corpus", str(corpus), "--title-en", "T"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["written"] and report["documents"][0]["entry"]["id"] == "skn_letter-2023-02-07"
    assert [d.id for d in load_manifest(corpus)][-1] == "skn_letter-2023-02-07"


def test_cli_dry_run_and_a_failed_check_exit_1_writing_nothing(corpus: Path, tmp_path: Path) -> None:
    before = snapshot(corpus)
    dry = CliRunner().invoke(main, ["add", str(letter_file(tmp_path)), "--corpus", str(corpus), "--dry-run",
                                    "--title-en", "T"])
    assert dry.exit_code == 0 and not json.loads(dry.output)["written"]
    path = letter_file(tmp_path, "谨此告知。\n", name="x.txt")
    failed = CliRunner().invoke(main, ["add", str(path), "--corpus", str(corpus)])
    assert failed.exit_code == 1
    assert json.loads(failed.output[:failed.output.rindex("}") + 1])["documents"][0]["missing"] == [
        "id", "kind", "date", "title_zh"]
    assert "Error: x.txt: missing id, kind, date, title_zh" in failed.output
    assert snapshot(corpus) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--translation", "en"], "'en' is not LANG=FILE"),
    (["--translation", "fr=x.txt"], "unsupported language 'fr'"),
])
def test_cli_translation_errors(corpus: Path, tmp_path: Path, args: list, message: str) -> None:
    result = CliRunner().invoke(main, ["add", str(letter_file(tmp_path)), "--corpus", str(corpus), *args])
    assert result.exit_code != 0 and message in result.output


def test_cli_one_file_at_a_time_for_metadata(corpus: Path, tmp_path: Path) -> None:
    a, b = letter_file(tmp_path), letter_file(tmp_path, LETTER, name="b.txt")
    result = CliRunner().invoke(main, ["add", str(a), str(b), "--corpus", str(corpus), "--symbol", "S/1"])
    assert result.exit_code == 1 and "apply to one file at a time" in result.output


def test_translation_is_stored_beside_the_text(corpus: Path, tmp_path: Path) -> None:
    english = (CORPUS / "109_skn_letter_haiti.en.txt").read_text(encoding="utf-8")
    zh = letter_file(tmp_path, (CORPUS / "109_skn_letter_haiti.txt").read_text(encoding="utf-8"))
    en = letter_file(tmp_path, english, name="skn.en.txt")
    result = add_files(corpus, [zh], {"layout": "segments"}, {"en": en})
    assert result.error is None, result.error
    entry = result.plans[0].entry()
    assert entry["translations"] == {"en": entry["file"].removesuffix(".txt") + ".en.txt"}
    assert entry["title_en"].startswith("Letter dated 7 February 2023 from the Permanent Representative")
    assert (corpus / entry["translations"]["en"]).read_text(encoding="utf-8") == english
    _, chunks = chunk_corpus(corpus)
    assert any(c.text_en for c in chunks if c.doc_id == entry["id"])


# ---------------------------------------------------------------- round trips

def chunk_texts(corpus: Path, doc_id: str) -> list[tuple[str, str | None]]:
    _, chunks = chunk_corpus(corpus)
    return [(squash(c.text), c.speaker) for c in chunks if c.doc_id == doc_id]


def original_corpus(tmp_path: Path, entry: dict, text: str) -> Path:
    d = tmp_path / "original"
    d.mkdir()
    (d / entry["file"]).write_text(text, encoding="utf-8")
    (d / "manifest.json").write_text(json.dumps({"documents": [entry]}, ensure_ascii=False), encoding="utf-8")
    return d


def empty_corpus(tmp_path: Path) -> Path:
    d = tmp_path / "new"
    d.mkdir()
    (d / "manifest.json").write_text('{"documents": []}\n', encoding="utf-8")
    return d


def test_pdf_of_a_verbatim_record_gives_its_masthead_metadata_and_whole_text(tmp_path: Path) -> None:
    """S/PV.8838 printed as a two-column UN PDF with its masthead, added back: symbol, kind, date,
    organ and meeting are read from the masthead, and the text is the .txt's, in order."""
    entry = next(d for d in json.loads((REPO / "corpus" / "manifest.json").read_text(encoding="utf-8"))["documents"]
                 if d["id"] == "S/PV.8838")
    source = (REPO / "corpus" / entry["file"]).read_text(encoding="utf-8")
    masthead = ["安全理事会", "第七十六年", "第8838次会议", "2021年8月18日星期三上午10时", "纽约"]
    pdf = make_pdf(tmp_path / "S_PV.8838.pdf", [p.text for p in reflow(source)], symbol="S/PV.8838",
                   masthead=masthead, columns=2)
    new = empty_corpus(tmp_path)
    result = add_files(new, [pdf], {"title_en": entry["title_en"]})
    assert result.error is None, result.error
    doc = result.plans[0].report()
    assert {k: v["value"] for k, v in doc["detected"].items()} == {
        "symbol": "S/PV.8838", "kind": "meeting_record", "date": "2021-08-18", "organ": "Security Council",
        "meeting": 8838, "title_zh": "安全理事会第8838次会议"}
    assert doc["detected"]["symbol"]["from"] == "联合国 S/PV.8838"
    stored = (new / doc["entry"]["file"]).read_text(encoding="utf-8")
    assert squash(stored) == squash("".join(masthead)) + squash(source)


def test_pdf_round_trip_of_a_2023_resolution(tmp_path: Path) -> None:
    """E/RES/2023/18 printed as a two-column UN PDF (the symbol in the masthead, running headers and
    footers on every page), added back: symbol, kind, date and organ detected, the stored text is
    the .txt's line for line, and so are the chunks (text and speaker). The 2023 texts are aligned
    segments, one per line, so both sides are read with `layout: segments`."""
    meta = next(d for d in documents_2023()
                if d["symbol"] == "E/RES/2023/18")
    lines = [line for line in (CORPUS / meta["file"]).read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = lines * 3  # several pages
    pdf = make_pdf(tmp_path / "E_RES_2023_18.pdf", lines, symbol="E/RES/2023/18", columns=2)
    new = empty_corpus(tmp_path)
    result = add_files(new, [pdf], {"title_en": meta["title_en"], "title_zh": meta["title_zh"], "layout": "segments"})
    assert result.error is None, result.error
    detected = {k: v["value"] for k, v in result.plans[0].report()["detected"].items()}
    assert {k: detected[k] for k in ("symbol", "kind", "date", "organ")} == {
        "symbol": "E/RES/2023/18", "kind": "resolution", "date": "2023-07-25", "organ": "Economic and Social Council"}
    entry = result.plans[0].entry()
    assert [squash(x) for x in (new / entry["file"]).read_text(encoding="utf-8").splitlines()] == [
        squash(x) for x in lines]
    original = original_corpus(tmp_path, {k: entry[k] for k in ("id", "symbol", "type", "organ", "date", "title_zh",
                                                                "title_en", "layout")} | {"file": meta["file"]},
                               "\n".join(lines) + "\n")
    assert chunk_texts(new, "E/RES/2023/18") == chunk_texts(original, "E/RES/2023/18")


def test_docx_round_trip_of_a_2023_summary_record(tmp_path: Path) -> None:
    """The CEIRPP summary record as a Word file without a symbol, added back: no symbol is invented;
    kind, date, meeting and title are read from it; the chunks (text and speaker) are the .txt's."""
    meta = next(d for d in documents_2023()
                if d["file"].startswith("101_"))
    source = (CORPUS / meta["file"]).read_text(encoding="utf-8")
    docx = make_docx(tmp_path / "sr413.docx", [line for line in source.splitlines() if line.strip()])
    new = empty_corpus(tmp_path)
    result = add_files(new, [docx], {"title_en": meta["title_en"], "organ": "General Assembly", "layout": "segments"})
    assert result.error is None, result.error
    report = result.plans[0].report()
    detected = {k: v["value"] for k, v in report["detected"].items()}
    assert "symbol" not in detected and report["entry"]["symbol"] is None
    assert {k: detected[k] for k in ("kind", "date", "meeting", "title_zh")} == {
        "kind": "summary_record", "date": "2023-08-30", "meeting": 413, "title_zh": meta["title_zh"]}
    entry = report["entry"]
    original = original_corpus(tmp_path, {k: entry[k] for k in ("id", "symbol", "type", "organ", "date", "title_zh",
                                                                "title_en", "layout", "meeting")} | {"file": meta["file"]},
                               source)
    assert chunk_texts(new, entry["id"]) == chunk_texts(original, entry["id"])
