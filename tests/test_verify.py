"""rag.verify over FakeQA's small source files (wrapped like PDF text) and rag.catalog's adapter
over a corpus directory. The real index: tests/test_e2e_service.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import PV, FakeQA

from rag.catalog import Catalog
from rag.errors import IndexLoadError, InputError
from rag.text import squash
from rag.verify import Claim, Verifier, claims_of, fold, summary


@pytest.fixture(scope="module")
def qa() -> FakeQA:
    return FakeQA()


@pytest.fixture(scope="module")
def verifier(qa) -> Verifier:
    return Verifier(qa)


def test_fold_maps_every_character_back():
    text, offsets = fold("Ｓ／PV. 88\n38，中 方")
    assert text == "S/PV.8838,中方"
    assert [offsets[i] for i in (0, 5, 9, 10, 11)] == [0, 6, 11, 12, 14]


def test_found_across_a_line_wrap_with_offsets_into_the_source(qa, verifier):
    quote = "提升安全保障能力。新技术应服务于维和任务。"
    r = verifier.verify(Claim("S/PV.8838", quote, speaker="中国", paragraph="2"))
    source = qa.source_text("S/PV.8838")
    assert r.found and not r.exact  # the source wraps inside the quote
    assert squash(source[r.start:r.end]) == squash(quote)
    assert source[r.start] == "提" and source[r.end - 1] == "。"
    assert (r.doc_id, r.symbol, r.speaker, r.paragraph) == ("S/PV.8838", "S/PV.8838", "戴兵先生（中国）", "2")
    assert r.speaker_matches and r.paragraph_matches and not r.crosses_turns and r.language == "zh"


def test_exact_when_byte_for_byte(verifier):
    r = verifier.verify(Claim("S/PV.8838", "中方支持加强维和人员培训"))
    assert r.found and r.exact


def test_width_forms_are_normalised(verifier):
    r = verifier.verify(Claim("S/PV.8838", "中方支持加强维和人员培训,提高应对能力."))  # ASCII , and .
    assert r.found is False  # '.' is not '。': only width forms and whitespace are normalised
    assert verifier.verify(Claim("S/PV.8838", "中方支持加强维和人员培训,提高应对能力。")).found  # ，== , (NFKC)


@pytest.mark.parametrize("speaker, matches", [("中国", True), ("China", True), ("中方", True), ("戴兵", True),
                                              ("戴兵先生（中国）", True), ("印度", False), ("Kenya", False),
                                              ("秘书长", False)])
def test_speaker_matches_through_the_alias_tables(verifier, speaker, matches):
    r = verifier.verify(Claim("S/PV.8838", "中方支持加强维和人员培训", speaker=speaker))
    assert r.found and r.speaker_matches is matches and r.speaker_given == speaker


def test_a_quote_spanning_two_speakers_crosses_turns(verifier):
    r = verifier.verify(Claim("S/PV.8838", "第一是提高效率。戴兵先生（中国）：中方建议", speaker="中国"))
    assert r.found and r.crosses_turns
    assert r.speakers == ("秘书长", "戴兵先生（中国）") and r.speaker == "秘书长"
    assert r.speaker_matches is False  # part of it is the Secretary-General's


def test_not_found_gives_the_closest_passage_and_the_differences(qa, verifier):
    r = verifier.verify(Claim("S/PV.8838", "中方建议维和行动积极使用人工智能", speaker="中国"))
    assert not r.found and r.start is None and r.speaker_matches is None
    c = r.closest
    assert c.speaker == "戴兵先生（中国）" and c.paragraph == "2" and 0.5 < c.similarity < 1
    assert {"op": "replace", "quote": "使", "source": "运"} in c.differences
    assert qa.source_text("S/PV.8838")[c.start:c.end] == c.text and c.text.startswith("中方建议")


def test_english_quote_is_looked_up_in_the_official_english(qa, verifier):
    r = verifier.verify(Claim("resolution 2518 (2020)", "safety and  security of peacekeepers"))
    assert r.found and r.language == "en" and r.doc_id == "S/RES/2518 (2020)"
    assert qa.sources_en[r.doc_id][r.start:r.end] == "safety and security of peacekeepers"
    assert not verifier.verify(Claim("S/RES/2518 (2020)", "safety of journalists")).found


@pytest.mark.parametrize("doc", ["S/PV.9999", "S/RES/2589 (2021)", "第9999次会议"])
def test_unknown_document_is_never_guessed(verifier, doc):
    r = verifier.verify(Claim(doc, "中方支持加强维和人员培训"))
    assert not r.found and r.doc_id is None and r.symbol is None and doc in r.error and "S/PV.8838" in r.error


@pytest.mark.parametrize("doc", ["S/PV.8838", "s/pv.8838", "Ｓ／ＰＶ.８８３８", "第8838次会议", "S/RES/2518(2020)",
                                 "resolution 2518 (2020)"])
def test_any_written_form_of_a_symbol(verifier, doc):
    assert verifier.find(doc) is not None


def test_claims_of_each_input_shape(qa):
    one = {"doc": "S/PV.8838", "quote": "x", "speaker": "中国", "paragraph": "2"}
    assert claims_of(one) == [Claim("S/PV.8838", "x", "中国", "2")]
    assert len(claims_of([one, one])) == 2
    answer = qa.ask("中方建议维和行动积极运用新技术").to_dict()
    claims = claims_of(answer)
    assert len(claims) == len(answer["citations"]) and claims[0].quote == answer["citations"][0]["text"]
    assert claims[0].speaker == answer["citations"][0]["speaker"]


@pytest.mark.parametrize("item, words", [({"doc": "S/PV.8838"}, "body.quote"), ({"quote": "x"}, "body.doc"),
                                         ({"doc": "x", "quote": "y", "extra": 1}, "extra"), ([], "empty"),
                                         ([1], "body[0]"), ({"citations": "x"}, "citations"),
                                         ({"doc": "x", "quote": "y" * 5001}, "5000")])
def test_bad_claims_name_the_field(item, words):
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        claims_of(item)


def test_summary_counts(verifier):
    results = verifier.verify_all([Claim("S/PV.8838", "中方支持加强维和人员培训", "印度"), Claim("S/PV.9999", "x")])
    assert summary(results) == {"total": 2, "found": 1, "exact": 1, "speaker_mismatches": 1, "crosses_turns": 0,
                                "unknown_documents": 1}


class ChunksOnly:
    """A QA without chunks_of/source_text (the index before it keeps the source): the catalog
    groups its chunks and reads the sources from a corpus directory."""

    def __init__(self, qa: FakeQA):
        self.documents, self.chunks = qa.documents, qa.chunks


def test_catalog_reads_the_source_from_the_corpus_and_checks_it(qa, tmp_path: Path):
    for doc in qa.documents:
        (tmp_path / doc.file).write_text(qa.source_text(doc.id), encoding="utf-8")
    catalog = Catalog(ChunksOnly(qa), tmp_path)
    r = Verifier(catalog).verify(Claim("S/PV.8838", "中方支持加强维和人员培训", "China"))
    assert r.found and r.speaker_matches and r.start == qa.source_text("S/PV.8838").index("中方支持")
    changed = tmp_path / "changed"
    changed.mkdir()
    for doc in qa.documents:
        (changed / doc.file).write_text("前言\n" + qa.source_text(doc.id), encoding="utf-8")
    with pytest.raises(IndexLoadError, match=f"{PV.file} changed since the index was built"):
        Verifier(Catalog(ChunksOnly(qa), changed)).verify(Claim("S/PV.8838", "中方"))


# ---- `rag verify FILE.jsonl`


def _rag(*args: str, env: dict | None = None):
    from click.testing import CliRunner

    from rag.cli import main
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("lines, words", [
    (['{"doc": "S/PV.8838", "quote": "x"}', '{"doc": "S/PV.8838"'], "claims.jsonl:2: invalid JSON"),
    (['{"doc": "S/PV.8838", "quote": "x"}', "", '{"doc": "S/PV.8838", "quote": 5}'], "claims.jsonl:3.quote"),
    (['{"doc": "S/PV.8838", "quote": "\\ud800"}'], "claims.jsonl:1.quote: invalid Unicode"),
    ([""], "no items"),
])
def test_rag_verify_names_the_bad_line(tmp_path: Path, lines, words):
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = _rag("verify", str(path), env={"RAG_INDEX_DIR": str(tmp_path / "no-index")})
    assert result.exit_code == 1 and words in result.output and "Traceback" not in result.output


@pytest.mark.integration
def test_rag_verify_on_the_real_index(real_index_dir: Path, tmp_path: Path):
    import json

    from rag import index as index_mod
    index = index_mod.load(real_index_dir / "default")
    kenya = next(c for c in index.chunks_of("S/PV.8838") if c.speaker and "肯尼亚" in c.speaker and "社交媒体公司" in c.text)
    sentence = next(s + "。" for s in kenya.text.split("。") if "社交媒体公司" in s)
    answer = {"question": "q", "answer": "a[1]", "citations": [{"id": 1, "doc_id": "S/PV.8838", "text": kenya.text,
                                                               "speaker": kenya.speaker, "paragraph": kenya.paragraph}]}
    items = [{"doc": "S/PV.8838", "quote": sentence, "speaker": "Kenya"},
             {"doc": "S/PV.8838", "quote": sentence, "speaker": "中国"},
             {"doc": "S/PV.8838", "quote": "中方坚决反对社交媒体公司参与维和行动。"}, answer]
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    result = _rag("verify", str(path), "--out", str(out), env={"RAG_INDEX_DIR": str(real_index_dir)})
    assert result.exit_code == 0, result.output
    right, wrong, invented, checked = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert right["found"] and right["speaker_matches"] and right["speaker"] == kenya.speaker
    assert right["paragraph"] == kenya.paragraph and right["start"] >= kenya.start and right["end"] <= kenya.end
    assert wrong["found"] and wrong["speaker_matches"] is False
    assert not invented["found"] and invented["closest"]["similarity"] < 1
    assert checked["summary"]["found"] == 1 and checked["results"][0]["paragraph_matches"] is True


def test_a_quote_standing_twice_is_checked_at_the_place_the_claim_names(verifier):
    """`第一` opens a sentence of the Secretary-General (paragraph 1) and of India (paragraph 4)."""
    first = verifier.verify(Claim("S/PV.8838", "第一"))
    assert first.found and first.paragraph == "1"
    india = verifier.verify(Claim("S/PV.8838", "第一", speaker="印度"))
    assert india.speaker_matches and india.paragraph == "4"
    by_paragraph = verifier.verify(Claim("S/PV.8838", "第一", paragraph="4"))
    assert by_paragraph.paragraph_matches and by_paragraph.speaker.startswith("印度")
    assert verifier.verify(Claim("S/PV.8838", "第一", speaker="中国")).speaker_matches is False
