"""The real bundled model on the real corpus: retrieval, answers, abstention, index guarantees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import index as index_mod
from rag.records import Filters

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]


def test_chinese_question_cites_china_first(real_pipeline) -> None:
    answer = real_pipeline.ask("中方对维和行动使用新技术提出了哪些建议？")
    assert answer.answerable
    first = answer.citations[0]
    assert first.chunk.symbol == "S/PV.8838"
    assert first.chunk.speaker == "戴兵先生（中国）"
    assert "[1]" in answer.answer
    assert all(p.chunk.speaker_info.affiliation == "中国" for p in answer.citations)


def test_english_question_finds_kenyas_passage(real_pipeline) -> None:
    answer = real_pipeline.ask("What did Kenya say about social media companies?")
    assert answer.answerable
    assert all(p.chunk.speaker_info.affiliation == "肯尼亚" for p in answer.citations)
    assert any("社交媒体公司" in p.chunk.text for p in answer.citations)
    assert answer.answer.startswith("Kenya")


def test_every_quote_stands_verbatim_in_its_citation(real_pipeline) -> None:
    answer = real_pipeline.ask("秘书长说联合国马里多层面综合稳定团正在利用机器学习做什么？")
    assert answer.answerable and answer.diagnostics["quotes"]
    for quote in answer.diagnostics["quotes"]:
        cited = answer.citations[quote["citation"] - 1].chunk.text
        assert quote["text"] in cited


def test_symbol_routes_to_its_document(real_pipeline) -> None:
    for question in ("第2518(2020)号决议请秘书长在哪份通报中报告进展情况？",
                     "What does resolution 2518 say about the 10-1-2 response?"):
        result = real_pipeline.search(question, 5)
        assert {p.chunk.doc_id for p in result.passages} == {"S/RES/2518 (2020)"}


def test_india_national_capacity_is_found_by_name(real_pipeline) -> None:
    result = real_pipeline.search("印度在多少个联合国维和特派团中部署过官兵？", 3)
    top = result.passages[0].chunk
    assert top.speaker == "印度 (主席以本国身份发言)"
    assert top.speaker_info.capacity == "national"
    assert "49个联合国维和特派团" in top.text


def test_absent_speaker_abstains_and_lists_who_spoke(real_pipeline) -> None:
    answer = real_pipeline.ask("巴西代表在这次公开辩论中说了什么？")
    assert not answer.answerable and not answer.citations
    assert "巴西" in answer.answer and "戴兵先生（中国）" in answer.answer
    english = real_pipeline.ask("What did the delegate of Japan say about drones?")
    assert not english.answerable and "Japan" in english.answer


def test_unknown_symbol_abstains_without_inventing(real_pipeline) -> None:
    answer = real_pipeline.ask("第2086(2013)号决议说了什么？")
    assert not answer.answerable
    assert "2086" in answer.answer


def test_speaker_filter_applies_before_ranking(real_pipeline) -> None:
    result = real_pipeline.search("技术", 10, Filters(speakers=("法国",)))
    assert result.passages and all("法国" in p.chunk.speaker for p in result.passages)


def test_every_passage_is_grounded_in_its_source(real_pipeline) -> None:
    from rag.corpus import load_manifest, read_source
    docs = {d.id: d for d in load_manifest(REPO / "corpus")}
    result = real_pipeline.search("维和人员的安全和安保", 20)
    for p in result.passages:
        src = read_source(REPO / "corpus", docs[p.chunk.doc_id])[p.chunk.start:p.chunk.end]
        assert "".join(src.split()) == "".join(p.chunk.text.split())


class OtherModel:
    """A stand-in for a different embedding model: same dimension, other weights."""
    model_id = "other-model"
    weights_hash = "0" * 64
    dimension = 384

    def encode_passages(self, texts, progress=False):
        return np.ones((len(texts), 384), dtype=np.float32) / np.sqrt(384)

    encode_queries = encode_passages


def test_index_built_with_one_model_refuses_another(real_index_dir: Path) -> None:
    with pytest.raises(index_mod.IndexLoadError, match="other-model"):
        index_mod.load(real_index_dir / "default", OtherModel())


def test_the_secretary_general_named_as_speaker_is_his_own_speech(real_pipeline) -> None:
    for question in ("What did the Secretary-General say?", "秘书长说了什么？", "What did Guterres say?"):
        answer = real_pipeline.ask(question)
        assert answer.answerable
        assert {p.chunk.speaker for p in answer.citations} == {"秘书长"}


def test_national_capacity_routes_to_that_turn(real_pipeline) -> None:
    for question in ("What did the President say in his national capacity?", "主席以本国身份发言时说了什么？"):
        answer = real_pipeline.ask(question)
        assert answer.citations
        assert {p.chunk.speaker for p in answer.citations} == {"印度 (主席以本国身份发言)"}


def test_a_speaker_only_question_is_answered_from_that_speaker(real_pipeline) -> None:
    for question in ("What did Russia say?", "突尼斯对技术说了什么？"):
        answer = real_pipeline.ask(question)
        assert answer.answerable, answer.diagnostics.get("reason")
        assert len({p.chunk.speaker for p in answer.citations}) == 1


def test_an_organ_named_in_passing_is_not_made_the_speaker(real_pipeline) -> None:
    result = real_pipeline.search("主席声明要求秘书长何时提交关于简易爆炸装置的独立战略审查报告？", 3)
    assert result.passages[0].chunk.doc_id == "S/PRST/2021/11"
    assert "至迟于2021年12月15日" in "".join("".join(p.chunk.text.split()) for p in result.passages)


def test_one_present_and_one_absent_speaker_answers_and_says_who_is_absent(real_pipeline) -> None:
    answer = real_pipeline.ask("What did China and Brazil say about technology?")
    assert answer.answerable
    assert {p.chunk.speaker for p in answer.citations} == {"戴兵先生（中国）"}
    assert answer.answer.splitlines()[-1] == answer.diagnostics["note"]
    assert "Brazil" in answer.diagnostics["note"]


# Off-topic refusal (rag.relevance; issue: "xyzzy", "今天天气怎么样？" and "How do I bake sourdough
# bread?" were answered). The threshold was calibrated on eval/offtopic.jsonl's off-a half and the
# answerable dev sets; the last four questions are in no QA set.
@pytest.mark.parametrize("question", ["xyzzy", "今天天气怎么样？", "How do I bake sourdough bread?",
                                      "西红柿炒鸡蛋先放什么？", "How do I fix a flat bicycle tyre?",
                                      "qwpoeiru zmxncb", "！？。。"])
def test_nonsense_and_everyday_questions_are_refused(real_pipeline, question: str) -> None:
    answer = real_pipeline.ask(question)
    assert not answer.answerable and not answer.citations
    assert answer.diagnostics["reason"].startswith(("off-topic", "no content words"))


@pytest.mark.parametrize("question", ["中方对维和行动使用新技术提出了哪些建议？",
                                      "What did Ukraine ask UNHCR's Executive Committee to do?",
                                      "What did Russia say?"])
def test_answerable_questions_are_not_refused_as_off_topic(real_pipeline, question: str) -> None:
    answer = real_pipeline.ask(question)
    assert answer.answerable, answer.diagnostics.get("reason")
    assert answer.diagnostics["coverage"]["score"] >= real_pipeline.settings.min_coverage


# Colloquial paraphrases (words the documents never use) stand out in the dense ranking and are
# answered: the Chinese band rule (RAG_LOW_COVERAGE, RAG_LOW_COVERAGE_Z). Written for this test,
# in no QA set.
@pytest.mark.parametrize("question, doc", [
    ("英国对搞那种打卫星的导弹试验是啥态度？", "DC-2023-UK-WP-space-TCBM"),
    ("圣基茨和尼维斯琢磨着要加入海地的哪个小组？", "LTR-2023-02-07-SaintKittsNevis-Haiti"),
])
def test_colloquial_paraphrases_are_answered(real_pipeline, question: str, doc: str) -> None:
    answer = real_pipeline.ask(question)
    assert answer.answerable, answer.diagnostics.get("reason")
    assert answer.citations[0].chunk.doc_id == doc


@pytest.mark.parametrize("question, label", [
    ("之友小组说了什么？", "捍卫《联合国宪章》之友小组"),
    ("According to the Working Group I paper, what should States avoid?", "第一工作组主席"),
])
def test_an_author_named_loosely_is_answered_from_its_own_document(real_pipeline, question, label) -> None:
    answer = real_pipeline.ask(question)
    assert answer.answerable, answer.diagnostics.get("reason")
    assert answer.citations[0].chunk.speaker == label


def test_the_off_topic_rule_by_language(real_pipeline) -> None:
    pipe, s = real_pipeline, real_pipeline.settings
    assert pipe._off_topic(s.min_coverage - 0.01, 9.0, "zh")  # too little of the question is known
    assert pipe._off_topic(s.low_coverage - 0.01, s.low_coverage_z - 0.1, "zh")  # and nothing stands out
    assert pipe._off_topic(s.low_coverage - 0.01, s.low_coverage_z + 0.1, "zh") is None
    assert pipe._off_topic(s.min_coverage_en - 0.01, 9.0, "en")  # English: one threshold
    assert pipe._off_topic(s.min_coverage_en, 0.0, "en") is None


def test_an_office_the_documents_name_but_that_never_speaks_is_a_topic(real_pipeline) -> None:
    """UNODC speaks nowhere, but the ECOSOC resolution on its counter-terrorism work names it."""
    answer = real_pipeline.ask("毒品和犯罪问题办公室的全球方案涵盖哪几年？")
    assert answer.answerable
    assert answer.citations[0].chunk.speaker == "经济及社会理事会"


def test_absent_speaker_refusal_names_no_single_document(real_pipeline) -> None:
    answer = real_pipeline.ask("What did Japan's delegation say about peacekeeping?")
    assert not answer.answerable
    assert "S/PV.8838" not in answer.answer.split(".")[0]


def test_a_committee_meeting_number_routes_to_its_record(real_pipeline) -> None:
    result = real_pipeline.search("第413次会议在什么时候宣布开会？", 3)
    assert {p.chunk.doc_id for p in result.passages} == {"CEIRPP-413-2023-08-30"}
    assert not result.diagnostics["intent"]["unknown_symbols"]


def test_an_inferred_speaker_outside_the_filtered_document_is_explained(real_pipeline) -> None:
    """China speaks in S/PV.8838, not in the letter S/2021/681: search drops the inferred speaker
    filter and says so; ask says China did not speak there and who did."""
    result = real_pipeline.search("中方提出了哪些建议？", 5, Filters(doc_ids=("S/2021/681",)))
    assert result.passages and result.diagnostics["speaker_fallback"] == ["中国"]
    assert {p.chunk.doc_id for p in result.passages} == {"S/2021/681"}
    answer = real_pipeline.ask("中方提出了哪些建议？", 5, Filters(doc_ids=("S/2021/681",)))
    assert not answer.answerable
    assert answer.answer.startswith("中国没有在S/2021/681中发言") and "印度常驻联合国代表" in answer.answer


def test_an_explicit_speaker_filter_is_never_dropped(real_pipeline) -> None:
    result = real_pipeline.search("建议", 5, Filters(doc_ids=("S/2021/681",), speakers=("中国",)))
    assert not result.passages and "speaker_fallback" not in result.diagnostics
    assert result.diagnostics["message"]


@pytest.mark.parametrize("question", [
    "When did the Bureau meet the UNRWA Commissioner-General?",
    "What did the Chair say the Bureau urged the Secretary-General to do in August?",
])
def test_one_english_sentence_of_a_long_translated_paragraph_finds_it(real_pipeline, question: str) -> None:
    # the Chair's paragraph runs through a year of the Committee's work; the answer is one of
    # its English sentences (rag.fusion.bilingual over the English sentence vectors)
    top = real_pipeline.search(question, top_k=1).passages[0].chunk
    assert (top.doc_id, top.speaker) == ("CEIRPP-413-2023-08-30", "主席")
    assert "主席团" in top.text and "Bureau" in top.text_en


def test_a_document_the_corpus_only_mentions_is_answered_from_the_mention_and_says_so(real_pipeline) -> None:
    answer = real_pipeline.ask("Who mentioned General Assembly resolution 77/247?")
    assert answer.answerable and answer.answer.startswith("resolution 77/247 is not among the documents held")
    assert {c.chunk.doc_id for c in answer.citations} == {"CEIRPP-413-2023-08-30"}
    assert any("77/247" in c.chunk.text for c in answer.citations)


def test_a_question_for_an_unheld_documents_own_text_is_refused_naming_who_mentions_it(real_pipeline) -> None:
    answer = real_pipeline.ask("大会第77/247号决议要求国际法院做什么？")
    assert not answer.answerable and not answer.citations
    assert answer.answer.startswith("现有文件中没有第77/247号决议")
    assert "提到它的文件：巴勒斯坦人民行使不可剥夺权利委员会第413次会议简要记录" in answer.answer


@pytest.mark.parametrize("question, message", [
    ("What did the Security Council say about WIPO?",
     "The documents held do not mention World Intellectual Property Organization."),
    ("《联合国海洋法公约》的缔约国有哪些义务？", "现有文件没有提到联合国海洋法公约。"),
])
def test_a_body_or_title_no_document_mentions_is_refused(real_pipeline, question: str, message: str) -> None:
    answer = real_pipeline.ask(question)
    assert not answer.answerable and answer.answer == message


@pytest.mark.parametrize("question, doc", [
    ("主席团何时会见了近东救济工程处主任专员？", "CEIRPP-413-2023-08-30"),
    ("捍卫《联合国宪章》之友小组对单方面强制性措施说了什么？", "LTR-2023-07-20-Group-of-Friends-Charter"),
])
def test_a_body_or_title_the_documents_mention_is_answered(real_pipeline, question: str, doc: str) -> None:
    answer = real_pipeline.ask(question)
    assert answer.answerable and answer.citations[0].chunk.doc_id == doc


def test_when_a_meeting_opened_and_rose_is_read_from_the_records_own_lines(real_pipeline) -> None:
    opened = real_pipeline.ask("What time did the meeting begin?", filters=Filters(doc_ids=("S/PV.8838",)))
    assert opened.answerable and opened.citations[0].chunk.text == "上午10时15分开会。"
    rose = real_pipeline.ask("When did the meeting close?")
    assert rose.answerable and "散会" in rose.citations[0].chunk.text


@pytest.mark.parametrize("question, doc, holds", [
    ("Who signed the Group of Friends' letter about the draft decision on atrocity crimes?",
     "LTR-2023-07-20-Group-of-Friends-Charter", "常驻联合国代表"),
    ("To whom did Ukraine's Permanent Mission send its note about the UNHCR Executive Committee?",
     "NV-2023-04-26-Ukraine-UNHCR-ExCom", "给秘书长的普通照会"),
])
def test_a_structure_element_asked_for_is_the_first_passage(real_pipeline, question: str, doc: str, holds: str) -> None:
    # the signature block and the title block outrank the letter's own content (rag.retrieve STRUCTURE_TYPES)
    top = real_pipeline.retriever.search(question, 3).passages[0].chunk
    assert top.doc_id == doc and holds in top.text
