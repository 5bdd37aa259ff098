"""Candidate retrieval over a small built index (fake encoder, no model): filters from the
precomputed columns agree with the record-level rule, their cost is bounded, headings stay out of
the ranked lists unless the question is about structure, and concurrent searches agree."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rag import index as index_mod
from rag.build import build
from rag.errors import FilterError
from rag.filters import check_filters, chunk_matches, matches
from rag.records import Filters
from rag.retrieve import Retriever
from test_index import HashEncoder, copy_corpus

SLICE = ("S/PV.8838", "S/PRST/2021/11", "NV-2023-04-26-Ukraine-UNHCR-ExCom", "E/RES/2023/18")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("retrieve")
    corpus = copy_corpus(base / "corpus", SLICE)
    path, _ = build(corpus, base / "idx" / "default", HashEncoder())
    loaded = index_mod.load(path)
    yield loaded
    loaded.close()


@pytest.mark.parametrize("f", [
    Filters(doc_ids=("S/PV.8838",)),
    Filters(symbols=("S/PRST/2021/11",)),
    Filters(speakers=("中国",)),
    Filters(speakers=("戴兵", "法国")),
    Filters(speakers=("印度 (主席以本国身份发言)",)),
    Filters(doc_types=("resolution", "note_verbale")),
    Filters(date_from="2023-01-01"),
    Filters(date_to="2021-06-01", doc_types=("presidential_statement",)),
])
def test_column_filters_agree_with_the_record_rule(index, f: Filters) -> None:
    mask = matches(index, f)
    order = np.asarray(index.columns.order)
    chunks = index.get_chunks(order)
    expected = [chunk_matches(c, index.document(c.doc_id), f) for c in chunks]
    assert list(mask[order]) == expected
    assert any(expected)
    assert not mask[~np.asarray(index.columns.live)].any()


def test_a_filter_naming_too_many_values_fails_at_once(index) -> None:
    values = tuple(f"国家{i}" for i in range(20000))
    with pytest.raises(FilterError, match="filters.speakers: 20000 values; at most 50"):
        check_filters(index, Filters(speakers=values), max_values=50)
    with pytest.raises(FilterError, match="filters.speakers: nothing in the index matches '火星'"):
        check_filters(index, Filters(speakers=("火星",)), max_values=50)


def test_search_respects_filters_and_finds_candidates_inside_them(index) -> None:
    retriever = Retriever(index, HashEncoder())
    result = retriever.search("技术", 10, Filters(speakers=("法国",)))
    assert result.passages and all("法国" in p.chunk.speaker for p in result.passages)
    result = retriever.search("决议", 5, Filters(doc_ids=("E/RES/2023/18",)))
    assert {p.chunk.doc_id for p in result.passages} == {"E/RES/2023/18"}


def test_headings_are_ranked_only_for_questions_about_structure(index) -> None:
    retriever = Retriever(index, HashEncoder(), candidates=1000)
    assert retriever._allowed(Filters(), False).count < retriever._allowed(Filters(), True).count
    plain = retriever.search("安全理事会第8838次会议", 50)
    assert plain.passages and all(p.chunk.role == "body" for p in plain.passages)
    structural = retriever.search("What was on the agenda of the meeting?", 50)
    assert any(p.chunk.role != "body" for p in structural.passages)


def test_a_structure_question_about_a_speaker_keeps_the_title_block_of_a_one_voice_document(index) -> None:
    retriever = Retriever(index, HashEncoder())
    # a note verbale speaks with one voice: its title block is Ukraine's and passes the filter
    ukraine = index.get_chunks(np.flatnonzero(retriever._allowed(Filters(speakers=("乌克兰",)), True).mask).tolist())
    assert any(c.role == "front_matter" for c in ukraine) and all("乌克兰" in c.speaker for c in ukraine)
    # a record's title block belongs to no turn: a speaker filter never brings it in
    china = index.get_chunks(np.flatnonzero(retriever._allowed(Filters(speakers=("中国",)), True).mask).tolist())
    assert china and all(c.role == "body" and "中国" in c.speaker for c in china)


def test_candidates_match_the_exhaustive_search_on_a_small_index(index) -> None:
    fast = Retriever(index, HashEncoder())  # 300 candidates per list
    exact = Retriever(index, HashEncoder(), exhaustive=True)
    for q in ("维和人员的安全", "What did China say about technology?", "人道主义援助"):
        a, b = fast.search(q, 5), exact.search(q, 5)
        assert [p.chunk.id for p in a.passages] == [p.chunk.id for p in b.passages]
        assert a.diagnostics["dense_stats"] == b.diagnostics["dense_stats"]


def test_concurrent_searches_agree_with_sequential_ones(index) -> None:
    retriever = Retriever(index, HashEncoder())
    questions = ["维和人员的安全", "简易爆炸装置", "What did Kenya say?", "乌克兰", "决议"] * 4
    expected = [[p.chunk.id for p in retriever.search(q, 5).passages] for q in questions]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: [p.chunk.id for p in retriever.search(q, 5).passages], questions))
    assert got == expected


def test_the_z_score_comes_from_the_null_sample(index) -> None:
    retriever = Retriever(index, HashEncoder())
    stats = retriever.search("维和人员的安全", 5).diagnostics["dense_stats"]
    q = HashEncoder().encode_queries(["维和人员的安全"])
    # a small corpus's sample is every chunk: the statistic is the exhaustive one
    order = np.asarray(index.columns.order)
    dense = index.dense.vectors(order) @ q[0]
    sids, owners = index.columns.sentence_ids(order)
    best = dict(zip(order.tolist(), dense.tolist()))
    for owner, s in zip(owners.tolist(), (index.sentences.vectors(sids) @ q[0]).tolist()):
        best[owner] = max(best[owner], s)
    values = np.array(list(best.values()))
    assert stats["mean"] == pytest.approx(values.mean(), abs=1e-4)
    assert stats["z"] == pytest.approx((stats["top"] - values.mean()) / values.std(), abs=1e-2)


def test_an_english_question_matches_translated_chunks_in_english_and_the_rest_through_the_glossary(index) -> None:
    retriever = Retriever(index, HashEncoder(), candidates=1000)
    question = "What did the Security Council say about peacekeepers and refugees?"
    allowed = retriever._allowed(Filters(), False)
    lists = retriever._ranked_lists(question, retriever.understand(question), allowed, {}, {})
    translated = np.asarray(index.columns.en, dtype=bool)
    assert lists["bm25_glossary"] and not translated[list(lists["bm25_glossary"])].any()
    assert lists["bm25_en"] and translated[list(lists["bm25_en"])].all()
    # without the English lists (rag eval --no-translations) the glossary covers every chunk again
    plain = Retriever(index, HashEncoder(), candidates=1000, weights={"bm25_en": 0.0, "bm25_glossary": 1.5})
    lists = plain._ranked_lists(question, plain.understand(question), allowed, {}, {})
    assert "bm25_en" not in lists and translated[list(lists["bm25_glossary"])].any()


def test_an_english_question_scores_each_translated_chunk_by_its_best_english_sentence(index) -> None:
    from rag.sentences import split_english
    retriever = Retriever(index, HashEncoder(), candidates=1000)
    question = "What did the Council say about the safety and security of peacekeepers?"
    allowed = retriever._allowed(Filters(), False)
    lists = retriever._ranked_lists(question, retriever.understand(question), allowed, {}, {})
    ranked = lists["bm25_en_sentence"]
    assert ranked and list(ranked.values()) == sorted(ranked.values(), reverse=True)
    bm25 = index.bm25_en_sentence
    scores = dict(zip(bm25.ids.tolist(), bm25.scores(bm25.tokenizer.tokenize(question)).tolist()))
    for row, score in list(ranked.items())[:10]:
        chunk = index.get_chunks([row])[0]
        best = max(scores[row * 16 + j] for j in range(len(split_english(chunk.text_en))))
        assert score == pytest.approx(best)
    # the whole paragraph's BM25 is another list: a chunk is not its best sentence
    assert lists["bm25_en"] != ranked
    off = Retriever(index, HashEncoder(), candidates=1000, weights={"bm25_en_sentence": 0.0})
    assert "bm25_en_sentence" not in off._ranked_lists(question, off.understand(question), allowed, {}, {})
    chinese = "安理会对维和人员的安全说了什么？"
    assert "bm25_en_sentence" not in retriever._ranked_lists(chinese, retriever.understand(chinese), allowed, {}, {})


@pytest.mark.parametrize("question, holds", [
    ("乌克兰的照会列在哪个议程项目之下？", r"议程项目\s*\d+"),
    ("Under which agenda item was the resolution on coal mine methane adopted?", r"议程项目\s*\d+"),
    ("乌克兰的照会属于哪一届会？", r"\d{4}年届会"),
])
def test_a_structure_element_asked_for_comes_first(index, question: str, holds: str) -> None:
    import re
    passages = Retriever(index, HashEncoder()).search(question, 5).passages
    assert passages and re.search(holds, passages[0].chunk.text)
    assert passages[0].chunk.role == "front_matter"  # the title block, allowed for a structure question


def test_an_english_question_scales_untranslated_chunks_to_the_translated_lists_weight(index) -> None:
    retriever = Retriever(index, HashEncoder(), candidates=1000)
    allowed = retriever._allowed(Filters(), False)
    question = "What did the Council say about the safety and security of peacekeepers?"
    lists = retriever._ranked_lists(question, retriever.understand(question), allowed, {}, {})
    scale = retriever._untranslated_scale(question, lists)
    translated = np.asarray(index.columns.en, dtype=bool)
    w = retriever.weights
    expected = ((w["dense"] + w["sentence"] + w["dense_en"] + w["bm25_en"] + w["bm25_en_sentence"])
                / (w["dense"] + w["sentence"] + w["bm25_glossary"]))
    assert scale and all(v == pytest.approx(expected) for v in scale.values())
    assert not translated[list(scale)].any()  # only chunks the English lists cannot hold
    assert {row for row in lists["dense"] if not translated[row]} <= set(scale)
    chinese = "安理会对维和人员的安全说了什么？"
    assert retriever._untranslated_scale(chinese, retriever._ranked_lists(chinese, retriever.understand(chinese),
                                                                          allowed, {}, {})) == {}


def test_the_scale_counts_the_lists_searched_whether_or_not_they_found_anything(index) -> None:
    retriever = Retriever(index, HashEncoder(), candidates=1000)
    allowed = retriever._allowed(Filters(), False)
    question = "What did the Council say about the safety and security of peacekeepers?"
    lists = retriever._ranked_lists(question, retriever.understand(question), allowed, {}, {})
    without_glossary = {k: v for k, v in lists.items() if k != "bm25_glossary"}
    scale, scale_without = (retriever._untranslated_scale(question, lists),
                            retriever._untranslated_scale(question, without_glossary))
    assert scale_without and set(scale_without.values()) == set(scale.values())  # one factor, the same
    assert set(scale_without) <= set(scale)
    # without the English lists (rag eval --no-translations) nothing is scaled
    plain = Retriever(index, HashEncoder(), candidates=1000,
                      weights={"dense_en": 0.0, "bm25_en": 0.0, "bm25_en_sentence": 0.0})
    assert plain._untranslated_scale(question, lists) == {}


def test_a_structure_element_is_decisive_only_in_the_first_document(index) -> None:
    retriever = Retriever(index, HashEncoder())
    doc = np.asarray(index.columns.doc)
    order = np.asarray(index.columns.order)
    first, other = order[doc[order] == doc[order[0]]][:3].tolist(), order[doc[order] != doc[order[0]]][:3].tolist()
    lists = {"dense": {row: 1.0 - i / 10 for i, row in enumerate(first + other)},
             "answer_type:signature": dict.fromkeys(first[1:] + other, 1.0)}
    out = retriever._decisive(lists, {})
    assert set(out["answer_type:signature"]) == set(first[1:])
    assert set(out["answer_type:signature:elsewhere"]) == set(other)  # a boost of weight 1, as any type
    fused = [row for row, _ in retriever._fuse(out, {})]
    assert fused[:2] == first[1:]  # the first document's elements first, the others' not forced up


def test_an_exact_label_names_that_speaker_unless_the_tables_name_it(index) -> None:
    from rag.filters import speaker_ids
    labels = {sid: label for sid, label, _ in index.speakers()}
    prst = [sid for sid, label in labels.items() if label.startswith("安全理事会主席")]
    assert prst and set(prst) <= speaker_ids(index, "主席")  # a role names every chair
    # 安全理事会 is a table name: it names the Council's president too
    assert set(prst) <= speaker_ids(index, "安全理事会")
    ukraine = [sid for sid, label in labels.items() if label == "乌克兰常驻联合国代表团"]
    assert ukraine and speaker_ids(index, "乌克兰常驻联合国代表团") == frozenset(ukraine)


def test_rag_fusion_picks_the_fusion_and_an_unknown_one_is_a_config_error(index) -> None:
    from rag.config import Settings
    from rag.errors import ConfigError
    from rag.pipeline import Pipeline
    encoder = HashEncoder()
    assert Pipeline(index, encoder, settings=Settings.from_env({})).retriever.fusion_mode == "minmax"
    rrf = Pipeline(index, encoder, settings=Settings.from_env({"RAG_FUSION": "rrf"}))
    assert rrf.retriever.fusion_mode == "rrf"
    question = "安全理事会关于维和人员安全的决议"
    assert rrf.search(question, top_k=3).passages  # rank-only fusion still takes the scored lists
    with pytest.raises(ConfigError, match="RAG_FUSION"):
        Pipeline(index, encoder, settings=Settings.from_env({"RAG_FUSION": "max"}))


def test_a_speaker_routed_by_boost_is_not_scored_as_text(index) -> None:
    retriever = Retriever(index, HashEncoder())
    result = retriever.search("经社理事会对煤矿甲烷决定了什么？", top_k=3)
    assert result.diagnostics["intent"]["speakers"][0]["kind"] == "organ"  # soft: a boost, not a filter
    assert "经社理事会" not in result.diagnostics["scoring_text"] and "煤矿甲烷" in result.diagnostics["scoring_text"]
    assert result.diagnostics["lists"].get("route_speaker")
