"""rag/mentions.py: the part each name plays in a question (speaker, addressee, object, topic,
setting, content), and what parse_query makes of it."""

from __future__ import annotations

import pytest

from rag.entities import load_entities
from rag.mentions import mentioned_entities
from rag.query import parse_query
from rag.records import Document, SpeakerInfo


def roles(question: str) -> tuple[list[str], list[str]]:
    gaz = load_entities()
    speakers, others = mentioned_entities(question, [*gaz.matchers, *gaz.blockers])
    return [e.canonical for e, _ in speakers], [e.canonical for e in others]


@pytest.mark.parametrize("question, speakers, others", [
    # topics: 对/关于 X, X问题/局势, about/regarding/on X, the question/situation of X
    ("委员会对巴勒斯坦问题说了什么？", [], ["巴勒斯坦国"]),
    ("关于海地局势，信中说了什么？", [], ["海地"]),
    ("What did the committee say about Palestine?", [], ["巴勒斯坦国"]),
    ("What does the letter say regarding Haiti?", [], ["海地"]),
    ("What is said on the question of Palestine?", [], ["巴勒斯坦国"]),
    ("乌克兰境内有多少流离失所者？", [], ["乌克兰"]),
    # objects of a verb: the resolution welcomes the Secretary-General's call
    ("决议欢迎秘书长呼吁什么？", [], ["秘书长"]),
    ("The resolution commends the Secretary-General for what?", [], ["秘书长"]),
    ("决议赞赏非洲联盟做了什么？", [], ["非洲联盟"]),
    # objects through an official's title; met, visited, hosted
    ("When did the Bureau meet the Minister for Foreign Affairs of the State of Palestine?", [], ["巴勒斯坦国"]),
    ("委员会主席团会见了巴勒斯坦国哪位部长？", [], ["巴勒斯坦国"]),
    ("When did Kenya host the Secretary-General?", ["肯尼亚"], ["秘书长"]),
    # a title names its state's official: the letter from the Permanent Representative of India
    ("What did the letter from the Permanent Representative of India propose?", ["印度"], []),
    # a delegation named by its representative speaks: `for`/`of` is no topic cue there
    ("Did the Observer for Qatar back the draft report?", ["卡塔尔"], []),
    ("What did the representative of Egypt say?", ["埃及"], []),
    ("Who wrote to the Observer for Qatar?", [], ["卡塔尔"]),
    ("卡塔尔观察员说了什么？", ["卡塔尔"], []),
    ("What did Qatar's observer say?", ["卡塔尔"], []),
    # a UN official's title: the envoy speaks about the state, not for it
    ("What did the Special Envoy for Ukraine say?", [], ["乌克兰"]),
    ("What did the Special Representative for Haiti report?", ["秘书长特别代表"], ["海地"]),
    # addressees
    ("Why did Ukraine write to the Secretary-General?", ["乌克兰"], ["秘书长"]),
    ("给秘书长的普通照会请求什么？", [], ["秘书长"]),
    ("What did Ukraine ask of the Secretary-General?", ["乌克兰"], ["秘书长"]),
    # explicit agents are speakers even after a preposition
    ("According to Ukraine, how many people were displaced?", ["乌克兰"], []),
    ("the statement on behalf of the African Union", ["非洲联盟"], []),
    # subjects stay speakers
    ("中方对新技术提出了哪些建议？", ["中国"], []),
    ("乌克兰为什么想加入执行委员会？", ["乌克兰"], []),
    ("圣基茨和尼维斯希望在咨询小组内做什么？", ["圣基茨和尼维斯"], []),
    ("中国的立场是什么？", ["中国"], []),
    ("在中国的发言中提到了什么？", ["中国"], []),
])
def test_roles(question, speakers, others):
    assert roles(question) == (speakers, others)


DOCS = [Document(id="E/RES/2023/18", symbol="E/RES/2023/18", type="resolution", organ="Economic and Social Council",
                 date="2023-07-25", title_zh="决议", title_en="resolution", author=None, file="x.txt"),
        Document(id="SR", symbol=None, type="summary_record", organ="Committee", date="2023-08-30",
                 title_zh="简要记录", title_en="summary record", author=None, file="y.txt")]
SPEAKERS = [SpeakerInfo(None, "经济及社会理事会", "organ", None, None),
            SpeakerInfo("Mansour", "巴勒斯坦国", "observer", None, None),
            SpeakerInfo("Pedroso Cuesta", "古巴", "vice-chair", None, None),
            SpeakerInfo("尼昂", "塞内加尔", "主席", None, "president")]


def parse(q: str):
    return parse_query(q, DOCS, SPEAKERS)


def test_topic_is_no_speaker_filter():
    intent = parse("对巴勒斯坦问题，委员会有何结论？")
    assert intent.speaker_names == () and intent.missing_speakers == ()
    assert "巴勒斯坦国" in intent.non_speakers


def test_organ_that_speaks_is_a_present_speaker():
    intent = parse("经社理事会在决议中决定了什么？")
    assert intent.speaker_names == ("经济及社会理事会",)


@pytest.mark.parametrize("question", ["What did the General Assembly decide?", "大会通过了什么？",
                                      "安理会强调了什么？"])
def test_organ_that_speaks_nowhere_is_never_an_absent_speaker(question):
    intent = parse(question)
    assert intent.missing_speakers == () and intent.speaker_names == ()


@pytest.mark.parametrize("question", ["卡塔尔的观察员说了什么？", "What did the Qatar observer say?",
                                      "以色列的观察员对巴勒斯坦问题说了什么？"])
def test_an_absent_states_observer_is_that_state_absent_and_no_other_observer(question):
    intent = parse(question)
    assert intent.missing_speakers and intent.speaker_names == ()


def test_state_that_speaks_nowhere_is_absent():
    assert parse("What did Jordan say?").missing_speakers == ("约旦",)


@pytest.mark.parametrize("question, name", [("What did Mr. Mansour say about children?", "Mansour"),
                                            ("Mansour先生说了什么？", "Mansour"),
                                            ("What did Pedroso Cuesta say?", "Pedroso Cuesta")])
def test_latin_person_names_of_the_corpus(question, name):
    assert parse(question).speaker_names == (name,)
