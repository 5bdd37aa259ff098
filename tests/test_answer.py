import re

import pytest

from rag.answer import (abstain, absent_speaker_message, compose_extractive, english_name, frame,
                        sentences_of)
from rag.entities import load_entities

KENYA = ("多年来，肯尼亚参加了联合国在世界各地的维和行动。我们认为，应该推动社交媒体公司满足特派团的需求，"
         "删除煽动暴力的内容。技术本身并不能取代政治解决。")
CHINA = "新技术应用要以增进维和人员安全为重点。中方支持秘书长的数字化转型战略。"
RES = "请秘书长在安理会第2378(2017)号决议规定的全面年度通报中报告进展情况。决定继续积极处理此案。"
LETTER = "讲习班讨论了维和行动中的平民保护问题。与会者强调特派团需要明确的任务授权。"

QUOTE = re.compile(r"“([^”]*)”")
MARKER = re.compile(r"\[(\d+)\]")


def check_grounded(ans):
    """Every quotation stands verbatim in the passage (or its official English) its group cites; markers ⊆ citations;
    citations are numbered 1..n in order of first use and all of them are cited."""
    markers = [int(m) for m in MARKER.findall(ans.answer)]
    assert markers, ans.answer
    assert sorted(set(markers)) == list(range(1, len(ans.citations) + 1))
    assert list(dict.fromkeys(markers)) == sorted(set(markers))
    for line in ans.answer.splitlines():
        (n,) = MARKER.findall(line)
        quotes = QUOTE.findall(line)
        assert quotes, line
        chunk = ans.citations[int(n) - 1].chunk
        for q in quotes:  # Chinese quotations in the chunk, English ones in its official English
            assert q in chunk.text or q in (chunk.text_en or ""), q


@pytest.fixture
def kenya(passage):
    return passage(KENYA, rank=1, speaker="基马尼先生（肯尼亚)", affiliation="肯尼亚", name="基马尼")


@pytest.fixture
def china(passage):
    return passage(CHINA, rank=2, speaker="戴兵先生（中国）", affiliation="中国", name="戴兵")


def test_sentences_keep_offsets():
    text = "  第一句。\n第二句！第三句"
    for s in sentences_of(text):
        assert text[s.start:s.end] == s.text
    assert [s.text for s in sentences_of(text)] == ["第一句。", "第二句！", "第三句"]


def test_zh_frame_quotes_best_sentence_verbatim(kenya, china, answer_tokenizer):
    ans = compose_extractive("肯尼亚对社交媒体公司有什么看法？", "zh", [kenya, china], tokenizer=answer_tokenizer)
    assert ans.answerable
    assert ans.answer.startswith("基马尼先生（肯尼亚)在S/PV.8838中指出：“")
    assert "应该推动社交媒体公司满足特派团的需求" in ans.answer
    assert "技术本身并不能取代政治解决" not in ans.answer  # unrelated sentence left out
    assert ans.citations == (kenya,)
    check_grounded(ans)


def test_sentences_of_one_passage_share_a_marker_in_reading_order(passage, answer_tokenizer):
    p = passage("甲国支持维和人员。天气很好。维和人员需要保护。", speaker="甲国代表", affiliation="甲国")
    ans = compose_extractive("维和人员", "zh", [p], tokenizer=answer_tokenizer)
    assert ans.answer.count("[1]") == 1 and "[2]" not in ans.answer
    assert ans.answer.index("甲国支持维和人员") < ans.answer.index("维和人员需要保护")
    assert "天气很好" not in ans.answer
    assert QUOTE.findall(ans.answer) == ["甲国支持维和人员。", "维和人员需要保护。"]
    check_grounded(ans)


def test_adjacent_sentences_are_one_exact_span(passage, answer_tokenizer):
    p = passage("维和人员面临威胁。维和人员需要技术。无关句子。", speaker="甲国代表", affiliation="甲国")
    ans = compose_extractive("维和人员", "zh", [p], tokenizer=answer_tokenizer)
    assert QUOTE.findall(ans.answer) == ["维和人员面临威胁。维和人员需要技术。"]


def test_citations_renumbered_by_first_use(passage, answer_tokenizer):
    top = passage("简易爆炸装置威胁维和人员。", rank=1, speaker="甲国代表", affiliation="甲国")
    unused = passage("会议于上午10时开始。", rank=2, speaker="乙国代表", affiliation="乙国")
    third = passage("简易爆炸装置必须得到处理，维和人员必须得到保护。", rank=3, speaker="丙国代表", affiliation="丙国")
    ans = compose_extractive("简易爆炸装置与维和人员", "zh", [top, unused, third], tokenizer=answer_tokenizer)
    assert ans.citations == (top, third)
    assert "[1]" in ans.answer and "[2]" in ans.answer and "[3]" not in ans.answer
    assert ans.answer.index("[1]") < ans.answer.index("[2]")
    assert "丙国代表" in ans.answer.splitlines()[1]
    check_grounded(ans)


def test_max_passages_limits_candidates(passage, answer_tokenizer):
    ps = [passage(f"维和人员第{i}句。", rank=i, speaker=f"{i}国代表", affiliation=f"{i}国") for i in range(1, 5)]
    ans = compose_extractive("维和人员", "zh", ps, max_passages=2, tokenizer=answer_tokenizer)
    assert set(ans.citations) <= set(ps[:2])


def test_en_frame_wraps_chinese_quotation(kenya, answer_tokenizer):
    ans = compose_extractive("What did Kenya say about social media companies?", "en", [kenya],
                             tokenizer=answer_tokenizer)
    assert english_name("肯尼亚") == "Kenya"  # from rag/data/member_states.tsv
    assert ans.answer.startswith("Kenya (基马尼先生（肯尼亚), S/PV.8838) said: “")
    assert ans.answer.endswith("” [1]")
    check_grounded(ans)


def test_en_answer_quotes_the_official_english_with_the_chinese_beside(kenya, answer_tokenizer):
    from dataclasses import replace
    english = ("Kenya welcomes the efforts. Social media companies should be pushed to meet the needs "
               "of missions. We also need training.")
    p = replace(kenya, chunk=replace(kenya.chunk, text_en=english, en_start=0, en_end=len(english)))
    ans = compose_extractive("What did Kenya say about social media companies?", "en", [p],
                             tokenizer=answer_tokenizer)
    assert ("“Social media companies should be pushed to meet the needs of missions.” (official English of the "
            "passage; Chinese text quoted: “") in ans.answer
    assert ans.diagnostics["quotes_en"] == [{"citation": 1, "text": "Social media companies should be pushed "
                                             "to meet the needs of missions."}]
    check_grounded(ans)  # the Chinese quotations still stand verbatim in the cited chunk
    zh = compose_extractive("肯尼亚对社交媒体公司说了什么？", "zh", [p], tokenizer=answer_tokenizer)
    assert "Social" not in zh.answer and zh.diagnostics["quotes_en"] == []


def test_en_name_of_short_record_and_alias_forms():
    gaz = load_entities()
    assert gaz.en_name("大不列颠及北爱尔兰联合王国") == gaz.en_name("联合王国") == gaz.en_name("英国") \
        == "United Kingdom of Great Britain and Northern Ireland"
    assert gaz.en_name("秘书长") == gaz.en_name("古特雷斯") == "The Secretary-General"  # bodies and roles: "The "
    assert gaz.en_name("主席") == english_name("主席") == "The President"
    assert gaz.en_name("戴兵") is None and gaz.en_name("UK") is None  # Chinese names only


def test_en_frame_falls_back_to_chinese_label(passage):
    p = passage("甲国支持维和人员。", speaker="甲国代表", affiliation="甲国")
    assert frame(p, "“甲国支持维和人员。”", 1, "en") == "甲国代表 (S/PV.8838) said: “甲国支持维和人员。” [1]"


def test_en_frame_uses_sentence_score_when_lexical_has_nothing(kenya, answer_tokenizer):
    def dense(question, sentences):  # stands in for embedding similarities
        return [0.81 if "社交媒体" in s else 0.80 for s in sentences]

    ans = compose_extractive("What did Kenya say about social media companies?", "en", [kenya],
                             sentence_score=dense, max_sentences=1, tokenizer=answer_tokenizer)
    assert QUOTE.findall(ans.answer) == ["我们认为，应该推动社交媒体公司满足特派团的需求，删除煽动暴力的内容。"]
    assert ans.diagnostics["sentence_scoring"] == "lexical+dense"


def test_sentence_score_must_match_sentences(kenya, answer_tokenizer):
    with pytest.raises(ValueError, match="sentence_score returned 1 scores"):
        compose_extractive("q", "en", [kenya], sentence_score=lambda q, s: [0.5], tokenizer=answer_tokenizer)


def test_council_document_frame(passage, answer_tokenizer):
    p = passage(RES, symbol="S/RES/2518 (2020)", speaker="安全理事会", affiliation="安全理事会",
                doc_type="resolution", role="council", title="第2518(2020)号决议")
    zh = compose_extractive("决议请秘书长在哪份通报中报告？", "zh", [p], tokenizer=answer_tokenizer)
    assert zh.answer.startswith("安全理事会在S/RES/2518 (2020)中写道：“请秘书长")
    en = compose_extractive("Where must the Secretary-General report?", "en", [p], tokenizer=answer_tokenizer)
    assert en.answer.startswith("The Security Council (安全理事会, S/RES/2518 (2020)) states: “")
    check_grounded(zh)
    check_grounded(en)


def test_no_symbol_names_the_title_and_invents_nothing(passage, answer_tokenizer):
    title = "2012年4月4日澳大利亚和乌拉圭常驻联合国代表给大会主席的信"
    p = passage(LETTER, symbol=None, doc_type="letter", title=title)
    for lang in ("zh", "en"):
        ans = compose_extractive("讲习班讨论了什么平民保护问题？", lang, [p], tokenizer=answer_tokenizer)
        assert title in ans.answer
        assert not re.search(r"\b[SA]/", ans.answer)
        assert ans.citations[0].chunk.symbol is None
        check_grounded(ans)


def test_president_in_english(passage):
    p = passage("安全理事会现在开始审议其议程上的项目。", speaker="主席", affiliation="印度",
                capacity="president", role="主席")
    assert frame(p, "“安全理事会现在开始审议其议程上的项目。”", 1, "en").startswith(
        "The President (主席, S/PV.8838) said: ")


def test_president_in_national_capacity_is_the_country_in_english(passage):
    p = passage("第一，我们必须聚焦经验证可操作的技术。", speaker="印度 (主席以本国身份发言)",
                affiliation="印度", capacity="national", role="主席")
    assert frame(p, "“第一，我们必须聚焦经验证可操作的技术。”", 1, "en").startswith(
        "India (印度 (主席以本国身份发言), S/PV.8838) said: ")


def test_presidential_statement_in_english_speaks_for_the_council(passage):
    p = passage("安全理事会重申其决心。", speaker="安全理事会主席（代表安理会）", affiliation="安全理事会",
                capacity="president", role="主席", symbol="S/PRST/2021/11",
                doc_type="presidential_statement")
    assert frame(p, "“安全理事会重申其决心。”", 1, "en").startswith(
        "The President of the Security Council, on behalf of the Council (安全理事会主席（代表安理会）, "
        "S/PRST/2021/11)")


def test_presidential_statement_of_another_organ_is_not_the_security_council(passage):
    p = passage("大会重申其决心。", speaker="大会主席（代表大会）", affiliation="大会", capacity="president",
                role="主席", symbol=None, doc_type="presidential_statement")
    text = frame(p, "“大会重申其决心。”", 1, "en")
    assert "Security Council" not in text and text.startswith("The President of the General Assembly")


def test_no_passages_abstains(answer_tokenizer):
    ans = compose_extractive("巴西说了什么？", "zh", [], tokenizer=answer_tokenizer)
    assert not ans.answerable and ans.citations == ()


def test_bad_lang_fails():
    with pytest.raises(ValueError, match="lang"):
        abstain("q", "fr", "m")


def test_abstain_in_question_language():
    zh = abstain("巴西代表说了什么？", "zh", absent_speaker_message("zh", "巴西", "S/PV.8838", ["中国", "肯尼亚"]))
    assert zh.answer == "巴西没有在S/PV.8838中发言。在S/PV.8838中发言的有：中国、肯尼亚。"
    assert not zh.answerable and zh.citations == () and zh.diagnostics["mode"] == "abstain"
    en = abstain("What did Brazil say?", "en", None, {"reason": "weak evidence"})
    assert "not contain enough evidence" in en.answer
    assert en.diagnostics["reason"] == "weak evidence"
    assert en.to_dict()["citations"] == []
