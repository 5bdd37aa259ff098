import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI

from conftest import RaisingChatModel
from rag.llm import (LLMAnswerer, _unnamed_states, chat_model_from_settings, check_answer, format_passages, renumber,
                     split_answer)
from rag.config import Settings
from rag.errors import ConfigError
from rag.prompts import PromptError, load_answer_prompt, load_template

KENYA = ("多年来，肯尼亚参加了联合国在世界各地的维和行动。我们认为，应该推动社交媒体公司满足特派团的需求，"
         "删除煽动暴力的内容。")
UK = "今年迄今已有83名维和人员在为联合国效力时殉职。我们必须更好地保护他们。"


@pytest.fixture
def passages(passage):
    return [passage(UK, rank=1, speaker="伍德沃德女士（联合王国）", affiliation="联合王国"),
            passage(KENYA, rank=2, speaker="基马尼先生（肯尼亚)", affiliation="肯尼亚")]


def answerer(responses, prompts_dir, tok):
    return LLMAnswerer(FakeListChatModel(responses=responses), prompts_dir, tokenizer=tok)


# --- prompt templates -------------------------------------------------------------------------

def test_project_prompt_loads_with_its_variables(prompts_dir):
    prompt = load_answer_prompt(prompts_dir)
    assert set(prompt.input_variables) == {"question", "passages", "language_instruction"}


@pytest.mark.parametrize("text, problem", [
    ("问题：{question}", "missing \\['passages'\\]"),
    ("{question} {passages} {extra}", "unexpected \\['extra'\\]"),
    ("{question} {passages} {}", "not a plain variable"),
    ("{question} {passages} {", "malformed"),
])
def test_template_with_wrong_variables_fails_at_load(tmp_path, text, problem):
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PromptError, match=problem) as e:
        load_template(path, {"question", "passages"})
    assert str(path) in str(e.value)


def test_literal_braces_are_not_variables(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("JSON: {{\"a\": 1}} {question}", encoding="utf-8")
    assert load_template(path, {"question"}).startswith("JSON")


def test_answerer_refuses_a_bad_prompts_dir(tmp_path):
    (tmp_path / "answer_system.txt").write_text("你是助手。{lang}", encoding="utf-8")
    (tmp_path / "answer_user.txt").write_text("{question}{passages}{language_instruction}", encoding="utf-8")
    with pytest.raises(PromptError, match="answer_system.txt.*unexpected \\['lang'\\]"):
        LLMAnswerer(FakeListChatModel(responses=["x"]), tmp_path)


# --- the checker ------------------------------------------------------------------------------

def test_split_answer_keeps_markers_with_their_sentence():
    assert split_answer("甲说了一。[1]乙说了二[2]。\nKenya said “三” [2]. Done") == \
        ["甲说了一。[1]", "乙说了二[2]。", "Kenya said “三” [2].", "Done"]


def test_renumber_by_first_use(passages):
    text, cites = renumber("甲。[2]乙。[1][2]", passages)
    assert text == "甲。[1]乙。[2][1]"
    assert cites == (passages[1], passages[0])


def test_unknown_marker_and_missing_marker_are_removed(passages, answer_tokenizer):
    kept, removed = check_answer("今年已有83名维和人员殉职。[9]肯尼亚认为应推动社交媒体公司。", passages,
                                 tokenizer=answer_tokenizer)
    assert kept == ""
    assert [r["reason"] for r in removed] == ["unknown_citation", "no_citation"]
    assert removed[0]["markers"] == [9]


def test_full_width_markers_are_read(passages, answer_tokenizer):
    kept, removed = check_answer("今年迄今已有83名维和人员殉职。【1】", passages, tokenizer=answer_tokenizer)
    assert kept == "今年迄今已有83名维和人员殉职。[1]" and removed == []


def test_wrong_speaker_is_removed(passages, answer_tokenizer):
    _, removed = check_answer("中国认为，应该推动社交媒体公司满足特派团的需求。[2]", passages,
                              tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["speaker_not_in_cited_passage"]


def test_state_names_are_matched_longest_first_then_masked():
    assert _unnamed_states("印度尼西亚和印度都支持。", []) == ["印度尼西亚", "印度"]
    assert _unnamed_states("印度尼西亚支持。", []) == ["印度尼西亚"]  # no 印度 inside it
    assert _unnamed_states("特派团需要资源。", []) == []


def test_words_credited_to_another_candidate_speaker_are_removed(passage, answer_tokenizer):
    china = passage("第一，新技术应用要以增进维和人员安全为重点。", rank=1, speaker="戴兵先生（中国）",
                    affiliation="中国", name="戴兵")
    sg = passage("数字化转型已在我们的各项维和行动中深入开展。", rank=2, speaker="秘书长",
                 affiliation="秘书长", name="安东尼奥·古特雷斯", role="秘书长")
    wrong = "秘书长指出，新技术应用要以增进维和人员安全为重点。[1]"
    _, removed = check_answer(wrong, [china, sg], tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["speaker_not_in_cited_passage"]
    right = "戴兵指出，新技术应用要以增进维和人员安全为重点。[1]"
    kept, removed = check_answer(right, [china, sg], tokenizer=answer_tokenizer)
    assert removed == [] and kept == right


def test_invented_symbol_is_removed_and_a_true_one_kept(passages, answer_tokenizer):
    invented = "肯尼亚在S/PV.9999中指出，应该推动社交媒体公司满足特派团的需求。[2]"
    _, removed = check_answer(invented, passages, tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["symbol_not_in_cited_passage"]
    other_resolution = "根据第2086(2013)号决议，应该推动社交媒体公司满足特派团的需求。[2]"
    _, removed = check_answer(other_resolution, passages, tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["symbol_not_in_cited_passage"]
    own = "肯尼亚在S/PV.8838中指出，应该推动社交媒体公司满足特派团的需求。[2]"
    kept, removed = check_answer(own, passages, tokenizer=answer_tokenizer)
    assert removed == [] and kept == own


def test_a_state_the_cited_passage_only_mentions_cannot_be_its_speaker(passage, answer_tokenizer):
    kenya = passage("我们赞赏中国为维和行动提供的工程部队。", rank=1, speaker="基马尼先生（肯尼亚）",
                    affiliation="肯尼亚", name="基马尼")
    _, removed = check_answer("中方指出，应赞赏中国为维和行动提供的工程部队。[1]", [kenya], tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["speaker_not_in_cited_passage"]
    kept, removed = check_answer("肯尼亚赞赏中国为维和行动提供的工程部队。[1]", [kenya], tokenizer=answer_tokenizer)
    assert removed == [], removed


def test_a_bare_number_in_the_passage_does_not_support_a_symbol(passage, answer_tokenizer):
    p = passage("约500名维和人员参加了培训。第2589(2021)号决议要求追究责任。", rank=1,
                speaker="戴兵先生（中国）", affiliation="中国", name="戴兵")
    _, removed = check_answer("戴兵指出，第500(2023)号决议要求培训维和人员。[1]", [p], tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["symbol_not_in_cited_passage"]
    kept, removed = check_answer("戴兵指出，第2589(2021)号决议要求追究责任。[1]", [p], tokenizer=answer_tokenizer)
    assert removed == []


def test_misquotation_is_removed(passages, answer_tokenizer):
    _, removed = check_answer("Kenya said (“应该推动社交媒体公司删除所有内容”) [2].", passages,
                              tokenizer=answer_tokenizer)
    assert [r["reason"] for r in removed] == ["misquoted"]


# --- the answerer -----------------------------------------------------------------------------

def test_supported_answer_passes(passages, prompts_dir, answer_tokenizer):
    llm = answerer(["肯尼亚认为，应该推动社交媒体公司满足特派团的需求。[2]"], prompts_dir, answer_tokenizer)
    ans = llm.answer("肯尼亚对社交媒体公司有什么看法？", "zh", passages)
    assert ans.answerable and ans.diagnostics["mode"] == "llm"
    assert ans.answer == "肯尼亚认为，应该推动社交媒体公司满足特派团的需求。[1]"  # renumbered
    assert ans.citations == (passages[1],)
    assert ans.diagnostics["removed_sentences"] == []


def test_unsupported_sentence_is_removed_and_reported(passages, prompts_dir, answer_tokenizer):
    made_up = "肯尼亚还宣布向特派团捐赠十架无人机和一座太阳能电站。[2]"
    llm = answerer(["英国指出，今年迄今已有83名维和人员殉职。[1]" + made_up], prompts_dir, answer_tokenizer)
    ans = llm.answer("今年有多少维和人员殉职？", "zh", passages)
    assert ans.answer == "英国指出，今年迄今已有83名维和人员殉职。[1]"
    assert ans.citations == (passages[0],)
    (removed,) = ans.diagnostics["removed_sentences"]
    assert removed["sentence"] == made_up and removed["reason"] == "unsupported"
    assert removed["support"] < ans.diagnostics["support_threshold"]


def test_unknown_marker_is_removed_from_answer(passages, prompts_dir, answer_tokenizer):
    llm = answerer(["今年迄今已有83名维和人员殉职。[1]肯尼亚支持社交媒体公司满足特派团的需求。[9]"],
                   prompts_dir, answer_tokenizer)
    ans = llm.answer("q", "zh", passages)
    assert "[9]" not in ans.answer and ans.citations == (passages[0],)
    assert ans.diagnostics["removed_sentences"][0]["reason"] == "unknown_citation"


def test_english_answer_checked_on_its_chinese_quotation(passages, prompts_dir, answer_tokenizer):
    reply = AIMessage(content="Kenya said social media companies should be pushed to meet missions' needs "
                              "(“应该推动社交媒体公司满足特派团的需求”) [2]. Kenya strongly supports drones [2].")
    llm = LLMAnswerer(GenericFakeChatModel(messages=iter([reply])), prompts_dir, tokenizer=answer_tokenizer)
    ans = llm.answer("What did Kenya say about social media companies?", "en", passages)
    assert ans.answer.startswith("Kenya said social media companies") and ans.answer.endswith("[1].")
    assert [r["reason"] for r in ans.diagnostics["removed_sentences"]] == ["no_checkable_content"]


def test_nothing_supported_falls_back_to_extractive(passages, prompts_dir, answer_tokenizer):
    llm = answerer(["无人机将彻底改变维和行动。[1]"], prompts_dir, answer_tokenizer)
    ans = llm.answer("维和人员殉职", "zh", passages)
    assert ans.diagnostics["mode"] == "extractive" and "extractive answer returned" in ans.diagnostics["note"]
    assert ans.diagnostics["removed_sentences"][0]["reason"] == "unsupported"
    assert "“今年迄今已有83名维和人员在为联合国效力时殉职。" in ans.answer


def test_unreachable_model_falls_back_to_extractive(passages, prompts_dir, answer_tokenizer):
    llm = LLMAnswerer(RaisingChatModel(), prompts_dir, tokenizer=answer_tokenizer)
    ans = llm.answer("维和人员殉职", "zh", passages)
    assert ans.answerable and ans.diagnostics["mode"] == "extractive"
    assert ans.diagnostics["llm_error"] == "ConnectionError: LLM endpoint unreachable"
    assert "LLM unavailable" in ans.diagnostics["note"]
    assert ans.citations[0] == passages[0]


def test_no_answer_reply_falls_back(passages, prompts_dir, answer_tokenizer):
    ans = answerer(["NO_ANSWER"], prompts_dir, answer_tokenizer).answer("维和人员殉职", "zh", passages)
    assert ans.diagnostics["llm_declined"] is True and ans.diagnostics["mode"] == "extractive"


def test_prompt_holds_numbered_passages_and_no_invented_symbol(passage, prompts_dir):
    untitled = passage("讲习班讨论了平民保护。", symbol=None, doc_type="letter", title="某信")
    messages = load_answer_prompt(prompts_dir).format_messages(
        question="q", passages=format_passages([untitled]), language_instruction="zh")
    assert "[1] " in messages[1].content and "《某信》（无文号" in messages[1].content


# --- configuration ----------------------------------------------------------------------------

def test_chat_model_from_settings():
    assert chat_model_from_settings(Settings.from_env({})) is None
    env = {"RAG_LLM_BASE_URL": "http://localhost:9/v1", "RAG_LLM_MODEL": "m"}
    model = chat_model_from_settings(Settings.from_env(env))
    assert isinstance(model, ChatOpenAI) and model.model_name == "m"
    with pytest.raises(ConfigError, match="both"):
        chat_model_from_settings(Settings.from_env({"RAG_LLM_MODEL": "m"}))
