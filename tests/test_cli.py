"""The CLI's stable output (what harnesses read) and its one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.chunks import chunk_corpus
from rag.cli import main

REPO = Path(__file__).resolve().parents[1]
CHUNK_FIELDS = ["id", "doc_id", "symbol", "doc_type", "speaker", "speaker_info", "turn", "paragraph",
                "start", "end", "text", "role", "text_en", "en_start", "en_end"]
PASSAGE_FIELDS = CHUNK_FIELDS[1:] + ["score", "rank", "title", "date", "url"]


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_chunks_json_is_one_object_per_chunk_with_exactly_the_fields() -> None:
    result = run("chunks", "--json", "--corpus", str(REPO / "corpus"))
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    _, chunks = chunk_corpus(REPO / "corpus")
    assert len(rows) == len(chunks)
    assert all(list(r) == CHUNK_FIELDS for r in rows)
    assert rows[0] == chunks[0].to_dict()


def test_chunks_of_one_document_and_unknown_document() -> None:
    one = run("chunks", "--json", "--doc", "S/RES/2518 (2020)")
    assert {json.loads(line)["doc_id"] for line in one.stdout.splitlines()} == {"S/RES/2518 (2020)"}
    table = run("chunks", "--doc", "S/PRST/2021/11")
    assert table.exit_code == 0 and "安全理事会主席（代表安理会）" in table.output
    missing = run("chunks", "--doc", "S/RES/9999 (2030)")
    assert missing.exit_code != 0 and "no document" in missing.output


def test_a_malformed_corpus_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(REPO / "corpus", tmp_path / "corpus"))
    (corpus / "stray.txt").write_text("没有清单条目的文件。", "utf-8")
    result = run("chunks", "--corpus", str(corpus))
    assert result.exit_code == 1
    assert "stray.txt" in result.output and "Traceback" not in result.output


@pytest.mark.integration
def test_search_and_ask_json_on_the_real_index(real_index_dir: Path) -> None:
    env = {"RAG_INDEX_DIR": str(real_index_dir)}
    search = run("search", "维和人员的安全", "-k", "3", "--json", env=env)
    body = json.loads(search.stdout)
    assert [list(p) for p in body["results"]] == [PASSAGE_FIELDS] * 3
    assert [p["rank"] for p in body["results"]] == [1, 2, 3]
    ask = run("ask", "What did Kenya say about social media companies?", "--json", env=env)
    answer = json.loads(ask.stdout)
    assert list(answer) == ["question", "answer", "answerable", "citations", "diagnostics"]
    assert answer["citations"][0]["id"] == 1 and "肯尼亚" in answer["citations"][0]["speaker"]
    bad = run("search", "技术", "--speaker", "巴西", env=env)
    assert bad.exit_code == 1 and "filters.speakers" in bad.output


def test_type_filter_takes_every_kind_of_the_vocabulary(real_index_dir: Path) -> None:
    env = {"RAG_INDEX_DIR": str(real_index_dir)}
    body = json.loads(run("search", "难民", "--type", "note_verbale", "--type", "working_paper", "--json",
                          env=env).stdout)
    assert body["results"] and {p["doc_type"] for p in body["results"]} <= {"note_verbale", "working_paper"}
    bad = run("search", "难民", "--type", "memo", env=env)
    assert bad.exit_code == 2 and "summary_record" in bad.output  # the error lists the vocabulary
