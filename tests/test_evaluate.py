"""Evaluation metrics on tiny inline fakes, the QA files against the real corpus, the naive baseline
with a fake encoder (no model)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.baselines import NaiveBaseline, split_document
from rag.corpus import load_manifest
from rag.evaluate import Report, evaluate, format_table, percentile, run_eval, speaker_ok
from rag.qa import Evidence, QAFormatError, QAItem, check_gold, load_qa, load_sources
from rag.records import Answer, Chunk, Filters, Passage, SearchResult, SpeakerInfo, chunk_id

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
QA_FILES = [ROOT / "eval" / name for name in ("dev.jsonl", "extra.jsonl", "2023-dev.jsonl", "2023-b.jsonl", "2023-e.jsonl",
                                                 "2023.jsonl", "2023-c.jsonl", "2023-f.jsonl", "offtopic.jsonl")]

SOURCES = {
    "A": "主席：会议开始。\n戴兵先生（中国）：维和人员的安全\n至关重要。技术很重要。\n",
    "B": "安全理事会，\n请秘书长在第2378（2017）号决议规定的通报中报告。\n",
}


def passage(doc: str, fragment: str, speaker: str | None = None, *, text: str | None = None,
            info: SpeakerInfo | None = None, symbol: str | None = None) -> Passage:
    """A passage over the slice of SOURCES[doc] that holds `fragment` (text overridable)."""
    start = SOURCES[doc].index(fragment)
    end = start + len(fragment)
    body = fragment if text is None else text
    chunk = Chunk(id=chunk_id(doc, start, end, body), doc_id=doc, symbol=symbol or doc,
                  doc_type="t", speaker=speaker, speaker_info=info, turn=None, paragraph="",
                  start=start, end=end, text=body)
    return Passage(chunk=chunk, score=0.0, rank=0, title="", date="", url=None)


def item(qid: str, doc: str = "", quote: str = "", speakers=(), answerable: bool = True) -> QAItem:
    evidence = (Evidence(doc, quote, tuple(speakers)),) if answerable else ()
    return QAItem(qid, f"question {qid}", "zh", answerable, evidence)


CHINA = "戴兵先生（中国）"
CHAIR = passage("A", "主席：会议开始。", "主席")
SAFETY = passage("A", "维和人员的安全\n至关重要。", CHINA)
SAFETY_WRONG_SPEAKER = passage("A", "维和人员的安全\n至关重要。", "主席")
REPORT = passage("B", "请秘书长在第2378（2017）号决议规定的通报中报告。", "安全理事会")
ITEMS = [
    item("q1", "A", "维和人员的安全至关重要", ["中国"]),
    item("q2", "B", "第2378(2017)号决议", ["安全理事会", "安理会"]),
    item("q3", "A", "维和人员的安全至关重要", ["中国", "戴兵"]),
    item("q4", answerable=False),
]
RESULTS = {  # what the fake searcher returns per question
    "q1": [CHAIR, SAFETY],  # hit at rank 2
    "q2": [REPORT, CHAIR],  # hit at rank 1
    "q3": [SAFETY_WRONG_SPEAKER, CHAIR],  # right doc and quote, wrong speaker: no hit
    "q4": [CHAIR],
}


def fake_search(question: str) -> SearchResult:
    return SearchResult(question, tuple(RESULTS[question.split()[-1]]))


def fake_ask_factory(answerable: dict[str, bool], citations: dict[str, list[Passage]]):
    def ask(question: str) -> Answer:
        qid = question.split()[-1]
        return Answer(question, "…", answerable[qid], tuple(citations.get(qid, [])))
    return ask


def test_hit_rank_mrr_and_doc_quote_variants_by_hand():
    report = evaluate(ITEMS, ask=None, search=fake_search, sources=SOURCES, k=5)
    assert [r.hit_rank for r in report.rows] == [2, 1, None, None]
    assert [r.doc_quote_rank for r in report.rows] == [2, 1, 1, None]
    assert report.value("hit@1") == pytest.approx(1 / 3)
    assert report.value("hit@5") == pytest.approx(2 / 3)
    assert report.value("MRR") == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert report.value("hit@1 doc+quote") == pytest.approx(2 / 3)
    assert report.value("hit@5 doc+quote") == pytest.approx(1.0)
    assert report.value("MRR doc+quote") == pytest.approx((1 / 2 + 1 + 1) / 3)
    assert report.metrics["answerable"] == 3 and report.metrics["questions"] == 4


def test_speaker_mismatch_is_not_a_hit_and_lowers_speaker_accuracy():
    report = evaluate(ITEMS, ask=None, search=fake_search, sources=SOURCES)
    # doc+quote matches: q1 SAFETY (ok), q2 REPORT (ok), q3 SAFETY_WRONG_SPEAKER (wrong)
    assert report.value("speaker accuracy") == pytest.approx(2 / 3)
    assert report.rows[2].first_speaker == "主席"


def test_hit_beyond_k_does_not_count():
    items = [item("q1", "A", "维和人员的安全至关重要", ["中国"])]
    report = evaluate(items, ask=None, k=1, sources=SOURCES,
                      search=lambda q: SearchResult(q, (CHAIR, SAFETY)))
    assert report.rows[0].hit_rank is None
    assert report.value("hit@1") == 0.0 and "hit@5" not in report.metrics


def test_speaker_matching_uses_label_and_speaker_info():
    ev = Evidence("A", "x", ("印度",))
    info = SpeakerInfo(name="苏杰生", affiliation="印度", role="主席", language="以英语发言",
                       capacity="president")
    assert speaker_ok(passage("A", "主席：", "主席", info=info), ev)
    assert speaker_ok(passage("A", "主席：", "印度 (主席以本国身份发言)"), ev)
    assert not speaker_ok(passage("A", "主席：", "主席"), ev)
    assert not speaker_ok(passage("A", "主席：", None), ev)
    assert not speaker_ok(passage("A", "主席：", "美利坚合众国"), Evidence("A", "x", ("美国",)))
    assert speaker_ok(passage("A", "主席：", None), Evidence("A", "x", ()))


def test_grounding_catches_text_that_differs_from_its_source_slice():
    tampered = passage("A", "维和人员的安全\n至关重要。", CHINA, text="维和人员的安全十分重要。")
    reflowed = passage("A", "维和人员的安全\n至关重要。", CHINA, text="维和人员的安全至关重要。")
    outside = replace(SAFETY, chunk=replace(SAFETY.chunk, doc_id="Z"))  # unknown document
    results = {"q1": [tampered, reflowed, outside]}
    items = [item("q1", "A", "维和人员的安全至关重要", ["中国"])]
    report = evaluate(items, ask=None, sources=SOURCES,
                      search=lambda q: SearchResult(q, tuple(results["q1"])))
    assert report.metrics["grounding"].num == 1 and report.metrics["grounding"].den == 3
    assert report.rows[0].ungrounded == 2


def test_symbol_accuracy_against_manifest_symbols():
    good = passage("B", "安全理事会，", "安全理事会", symbol="S/RES/1")
    invented = passage("B", "安全理事会，", "安全理事会", symbol="S/RES/9999")
    report = evaluate([item("q4", answerable=False)], ask=None, sources=SOURCES,
                      symbols={"A": None, "B": "S/RES/1"},
                      search=lambda q: SearchResult(q, (good, invented)))
    assert report.value("symbol accuracy") == 0.5
    assert evaluate([item("q4", answerable=False)], ask=None, sources=SOURCES,
                    search=lambda q: SearchResult(q, (good,))).value("symbol accuracy") is None


def test_abstention_accuracy_wrong_abstentions_and_citation_metrics():
    ask = fake_ask_factory({"q1": True, "q2": False, "q3": True, "q4": False},
                           {"q1": [SAFETY], "q3": [SAFETY_WRONG_SPEAKER]})
    report = evaluate(ITEMS, ask=ask, search=fake_search, sources=SOURCES)
    assert report.value("abstention accuracy") == 1.0
    assert report.metrics["wrongly abstained"].num == 1  # q2
    assert report.value("citation hit") == pytest.approx(1 / 3)  # only q1
    assert report.value("citation speaker accuracy") == 0.5  # q1 right, q3 wrong
    assert report.value("citation grounding") == 1.0
    assert [r.predicted_answerable for r in report.rows] == [True, False, True, False]
    answering = fake_ask_factory(dict.fromkeys(["q1", "q2", "q3", "q4"], True), {})
    assert evaluate(ITEMS, ask=answering, search=fake_search,
                    sources=SOURCES).value("abstention accuracy") == 0.0


def test_without_ask_answer_metrics_are_not_available():
    report = evaluate(ITEMS, ask=None, search=fake_search, sources=SOURCES)
    for name in ("abstention accuracy", "wrongly abstained", "citation hit", "ask p50 ms"):
        assert report.value(name) is None
    assert report.rows[0].predicted_answerable is None and report.rows[0].ask_ms is None
    assert report.value("search p95 ms") is not None


def test_metrics_per_qa_file_when_there_are_several():
    items = [replace(i, qa_set="dev" if i.id in ("q1", "q4") else "extra") for i in ITEMS]
    ask = fake_ask_factory({"q1": True, "q2": True, "q3": True, "q4": True}, {})
    report = evaluate(items, ask=ask, search=fake_search, sources=SOURCES)
    assert report.value("hit@1 [dev]") == 0.0 and report.value("hit@5 [dev]") == 1.0
    assert report.value("hit@1 [extra]") == 0.5 and report.value("hit@1 doc+quote [extra]") == 1.0
    assert report.value("abstention accuracy [dev]") == 0.0
    assert report.value("abstention accuracy [extra]") is None  # extra has no unanswerable
    single = evaluate(ITEMS, ask=ask, search=fake_search, sources=SOURCES)
    assert not any("[" in name for name in single.metrics if not name.endswith(("[zh]", "[en]")))
    langs = {i.lang for i in ITEMS}
    assert all(single.value(f"hit@5 [{lang}]") is not None for lang in langs)


def test_percentile_nearest_rank():
    values = list(range(1, 21))  # 1..20
    assert percentile(values, 50) == 10 and percentile(values, 95) == 19
    assert percentile([7.0], 95) == 7.0 and percentile([], 50) is None


def test_report_to_dict_is_json():
    report = evaluate(ITEMS, ask=None, search=fake_search, sources=SOURCES)
    d = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert d["metrics"]["hit@5"] == pytest.approx(2 / 3)
    assert d["counts"]["hit@5"] == [2, 3]
    assert [r["id"] for r in d["rows"]] == ["q1", "q2", "q3", "q4"]


def test_format_table_has_a_column_per_system_and_rows_for_the_first():
    ask = fake_ask_factory(dict.fromkeys(["q1", "q2", "q3", "q4"], True), {})
    reports = {"ours": evaluate(ITEMS, ask=ask, search=fake_search, sources=SOURCES),
               "naive": evaluate(ITEMS, ask=None, search=fake_search, sources=SOURCES)}
    text = format_table(reports)
    header = text.splitlines()[0].split()
    assert header == ["metric", "ours", "naive"]
    abst = next(line for line in text.splitlines() if line.startswith("abstention accuracy"))
    assert abst.split()[-1] == "n/a" and "0.000 (0/1)" in abst
    hit5 = next(line for line in text.splitlines() if line.startswith("hit@5 "))
    assert "0.667 (2/3)" in hit5
    assert "per question (ours)" in text
    assert any(line.startswith("q3") for line in text.splitlines())


# ---------------------------------------------------------------- QA files

def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "a", "question": "谁？", "lang": "zh", "answerable": True,
                   "evidence": [{"doc": "A", "quote": "安全", "speaker": ["中国"]}]},
                  ensure_ascii=False)


@pytest.mark.parametrize("bad, message", [
    ("{not json", "not a JSON object"),
    ('{"id": "b", "question": "q", "lang": "fr", "answerable": true, "evidence": []}', "lang"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": true, "evidence": []}',
     "needs evidence"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": "yes", "evidence": []}',
     "answerable"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": false}', "missing field"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": false, "evidence": [], "x": 1}',
     "unknown field"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": true, '
     '"evidence": [{"doc": "A", "quote": " ", "speaker": []}]}', "evidence[0].quote"),
    ('{"id": "b", "question": "q", "lang": "zh", "answerable": true, '
     '"evidence": [{"doc": "A", "quote": "q", "speaker": "中国"}]}', "evidence[0].speaker"),
    (GOOD, "duplicate id"),
    ("", "not a JSON object"),
])
def test_load_qa_errors_name_file_and_line(tmp_path, bad, message):
    path = write(tmp_path, [GOOD, bad])
    with pytest.raises(QAFormatError) as e:
        load_qa(path)
    assert f"{path}:2" in str(e.value) and message in str(e.value)


def test_check_gold_reports_missing_quote_unknown_doc_and_absent_speaker():
    items = [item("ok", "A", "维和人员的安全至关重要", ["中国"]),
             item("quote", "A", "不存在的句子"),
             item("doc", "Z", "安全"),
             item("speaker", "A", "技术很重要", ["肯尼亚"])]
    problems = check_gold(items, SOURCES)
    assert len(problems) == 3
    assert [p.split(": ")[1] for p in problems] == ["quote", "doc", "speaker"]


@pytest.mark.parametrize("path", QA_FILES, ids=lambda p: p.name)
def test_qa_files_validate_and_every_quote_is_in_its_source(path):
    items = load_qa(path)
    assert {i.qa_set for i in items} == {path.stem}
    sources, _ = load_sources(CORPUS)
    assert check_gold(items, sources) == []


def test_extra_questions_cover_the_corpus_and_do_not_reuse_dev_ids():
    dev, extra = (load_qa(p) for p in QA_FILES[:2])
    assert not {i.id for i in dev} & {i.id for i in extra}
    assert 20 <= len(extra) <= 30
    assert 4 <= sum(not i.answerable for i in extra) <= 6
    assert {"zh", "en"} == {i.lang for i in extra}
    docs = Counter(e.doc for i in extra for e in i.evidence)
    assert set(docs) == {d.id for d in load_manifest(CORPUS) if d.id in seeds()}
    speakers = {e.speakers for i in extra for e in i.evidence if e.doc == "S/PV.8838"}
    assert len(speakers) >= 10


def seeds() -> set[str]:
    """The five seed documents (the corpus's entries that are not from 2023)."""
    return {d.id for d in load_manifest(CORPUS) if not d.date.startswith("2023")}


def test_2023_questions_cover_the_2023_documents_and_sets_are_disjoint():
    tuning, report = (load_qa(ROOT / "eval" / n) for n in ("2023-dev.jsonl", "2023.jsonl"))
    tuning += load_qa(ROOT / "eval" / "2023-b.jsonl")
    ids = [i.id for f in QA_FILES for i in load_qa(f)]
    assert len(ids) == len(set(ids))
    new = {d.id for d in load_manifest(CORPUS)} - seeds()
    assert len(new) == 10
    assert {e.doc for i in report for e in i.evidence} == new
    assert {e.doc for i in tuning for e in i.evidence} <= new
    assert {"zh", "en"} == {i.lang for i in report}
    questions = {i.question for i in tuning}
    assert not questions & {i.question for i in report}
    fresh = load_qa(ROOT / "eval" / "2023-c.jsonl")  # the second report set
    assert {e.doc for i in fresh for e in i.evidence} == new and not questions & {i.question for i in fresh}


# ---------------------------------------------------------------- naive baseline and run_eval

class HashEncoder:
    """Bag of character bigrams hashed into 256 dimensions, L2-normalised: deterministic, no model."""

    model_id = "hash-bigrams"
    dimension = 256

    def _encode(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:]):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dimension] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def encode_queries(self, texts):
        return self._encode(texts)

    def encode_passages(self, texts, progress=False):
        return self._encode(texts)


def test_naive_chunks_are_exact_source_slices_without_speakers():
    sources, symbols = load_sources(CORPUS)
    for doc in load_manifest(CORPUS):
        chunks = split_document(doc, sources[doc.id])
        assert chunks and all(len(c.text) <= 500 for c in chunks)
        for c in chunks:
            assert sources[doc.id][c.start:c.end] == c.text
            assert c.speaker is None and c.speaker_info is None
            assert c.doc_id == doc.id and c.symbol == symbols[doc.id]


def test_naive_baseline_search_ranks_an_identical_chunk_first():
    baseline = NaiveBaseline(CORPUS, HashEncoder())
    target = baseline.chunks[17]
    result = baseline.search(target.text, top_k=5)
    assert [p.rank for p in result.passages] == [1, 2, 3, 4, 5]
    assert result.passages[0].chunk == target
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)
    assert result.passages[0].url == f"https://undocs.org/zh/{target.symbol}"
    with pytest.raises(ValueError, match="no filters"):
        baseline.search("x", filters=Filters(doc_ids=("S/PV.8838",)))


def test_run_eval_checks_gold_and_evaluates_every_system(tmp_path):
    qa = write(tmp_path, [json.dumps(
        {"id": "t1", "question": "What did Kenya say about social media companies?", "lang": "en",
         "answerable": True, "evidence": [{"doc": "S/PV.8838",
                                           "quote": "应该推动社交媒体公司满足特派团的需求",
                                           "speaker": ["肯尼亚"]}]})])

    class Oracle:  # returns the naive chunk that holds the quote, labelled as Kenya's
        def __init__(self, naive):
            self.naive = naive

        def search(self, query, top_k=5):
            chunk = next(c for c in self.naive.chunks if "社交媒体公司满足" in c.text.replace("\n", ""))
            chunk = replace(chunk, speaker="基马尼先生（肯尼亚）")
            return SearchResult(query, (Passage(chunk, 1.0, 1, "", "", None),))

        def ask(self, question, top_k=5):
            return Answer(question, "…", True, self.search(question).passages)

    naive = NaiveBaseline(CORPUS, HashEncoder())
    reports = run_eval({"ours": Oracle(naive), "naive": naive}, [qa], CORPUS, k=5)
    assert isinstance(reports["ours"], Report)
    assert reports["ours"].value("hit@1") == 1.0 and reports["ours"].value("citation hit") == 1.0
    assert reports["ours"].value("grounding") == 1.0
    assert reports["ours"].value("symbol accuracy") == 1.0
    assert reports["naive"].value("abstention accuracy") is None
    assert reports["naive"].value("speaker accuracy") in (0.0, None)  # naive chunks have no speaker

    broken = write(tmp_path, [json.dumps(
        {"id": "t2", "question": "q", "lang": "zh", "answerable": True,
         "evidence": [{"doc": "S/PV.8838", "quote": "语料中没有这句话", "speaker": []}]},
        ensure_ascii=False)])
    with pytest.raises(QAFormatError, match="quote not in S/PV.8838"):
        run_eval({"naive": naive}, [broken], CORPUS)
