"""rag.followup: two- and three-turn conversations in Chinese and English, resolved into one
standalone question (the real entity tables; small inline documents and speakers)."""

from __future__ import annotations

import pytest

from rag.entities import load_entities
from rag.followup import resolve
from rag.query import parse_query
from rag.records import Document, SpeakerInfo


def _doc(id_: str, type_: str, date: str, meeting: int | None = None) -> Document:
    return Document(id=id_, symbol=id_, type=type_, organ="Security Council", date=date, title_zh=id_, title_en=id_,
                    author=None, file=f"{id_.replace('/', '_')}.txt", meeting=meeting)


DOCS = (_doc("S/PV.8838", "meeting_record", "2021-08-18", 8838), _doc("S/PRST/2021/11", "presidential_statement",
        "2021-05-24"), _doc("S/RES/2518 (2020)", "resolution", "2020-03-30"), _doc("S/2021/681", "letter", "2021-07-26"))


def _member(name: str, state: str) -> SpeakerInfo:
    return SpeakerInfo(name=name, affiliation=state, role="member", language="以英语发言", capacity=None)


SPEAKERS = (
    SpeakerInfo(name="安东尼奥·古特雷斯", affiliation="秘书长", role="秘书长", language="以英语发言", capacity=None),
    _member("基马尼", "肯尼亚"), _member("戴兵", "中国"), _member("卡里乌基", "联合王国"),
    _member("托马斯-格林菲尔德", "美利坚合众国"), _member("涅边贾", "俄罗斯联邦"),
    SpeakerInfo(name=None, affiliation="印度", role="主席", language="以英语发言", capacity="national"),
    SpeakerInfo(name=None, affiliation="安全理事会", role="council", language=None, capacity=None),
)


@pytest.fixture(scope="module")
def gaz():
    return load_entities()


def ask(gaz, *messages: str):
    return resolve(list(messages), DOCS, SPEAKERS, gaz)


def speakers_of(gaz, question: str) -> set[str]:
    return {s.canonical for s in parse_query(question, DOCS, SPEAKERS, gaz).speakers}


KENYA_EN = "What did Kenya say about social media companies?"
KENYA_ZH = "肯尼亚对社交媒体公司说了什么？"
CHINA_ZH = "中方对维和行动使用新技术提出了哪些建议？"

# (messages, the standalone question, its speakers, documents carried into the filters, what was carried)
CONVERSATIONS = [
    # the examples
    ((KENYA_EN, "And what did China say about that?"), "What did China say about social media companies?",
     {"中国"}, (), ["topic"]),
    ((KENYA_EN, "And China?"), "What did China say about social media companies?", {"中国"}, (), ["topic"]),
    ((KENYA_ZH, "那中方呢？"), "中国对社交媒体公司说了什么？", {"中国"}, (), ["topic"]),
    ((KENYA_ZH, "他还说了什么？"), "肯尼亚还说了什么？", {"肯尼亚"}, (), ["speaker"]),
    ((KENYA_EN, "what about the resolution?"), "What did the resolution say about social media companies?",
     set(), (), ["topic"]),
    # replacing the speaker keeps the frame of the earlier question
    ((CHINA_ZH, "那印度呢？"), "印度对维和行动使用新技术提出了哪些建议？", {"印度"}, (), ["topic"]),
    ((CHINA_ZH, "还有美国呢？"), "美利坚合众国对维和行动使用新技术提出了哪些建议？", {"美利坚合众国"}, (), ["topic"]),
    ((KENYA_EN, "What about the United Kingdom?"),
     "What did United Kingdom of Great Britain and Northern Ireland say about social media companies?",
     {"联合王国"}, (), ["topic"]),
    ((KENYA_EN, "And the Secretary-General?"), "What did the Secretary-General say about social media companies?",
     {"秘书长"}, (), ["topic"]),
    # several speakers only when the user names several
    ((KENYA_EN, "And China and India?"), "What did China and India say about social media companies?",
     {"中国", "印度"}, (), ["topic"]),
    # a pronoun takes the earlier speaker; a topic of its own is kept
    ((KENYA_EN, "What did he say about peacekeepers?"), "What did Kenya say about peacekeepers?", {"肯尼亚"}, (),
     ["speaker"]),
    ((KENYA_ZH, "他对维和人员的安全怎么看？"), "肯尼亚对维和人员的安全怎么看？", {"肯尼亚"}, (), ["speaker"]),
    ((KENYA_EN, "What else did they say?"), "What else did Kenya say?", {"肯尼亚"}, (), ["speaker"]),
    # a follow-up with its own topic keeps the earlier speaker
    ((CHINA_ZH, "那么关于培训呢？"), "中国关于培训说了什么？", {"中国"}, (), ["speaker"]),
    (("What did China say about training?", "And what did the UK say on this issue?"),
     "What did United Kingdom of Great Britain and Northern Ireland say about training?", {"联合王国"}, (),
     ["topic"]),
    # documents carried, replaced, or dropped for a named kind
    (("在第8838次会议上，肯尼亚说了什么？", "那中方呢？"), "在第8838次会议上，中国说了什么？", {"中国"}, ("S/PV.8838",),
     ["document"]),
    (("What did Kenya say in S/PV.8838 about social media?", "What else did he say?"),
     "What else did Kenya say in S/PV.8838?", {"肯尼亚"}, ("S/PV.8838",), ["speaker", "document"]),
    (("What does S/PRST/2021/11 say about improvised explosive devices?", "And resolution 2518 (2020)?"),
     "What did resolution 2518 (2020) say about improvised explosive devices?", set(), (), ["topic"]),
    (("秘书长在S/PV.8838中谈到了哪些数字化目标？", "那主席声明呢？"), "主席声明关于数字化目标说了什么？", set(), (),
     ["topic"]),
    # three turns: each builds on the resolved one before
    ((KENYA_EN, "And China?", "What else did they say?"), "What else did China say?", {"中国"}, (), ["speaker"]),
    ((KENYA_ZH, "那中方呢？", "那印度呢？"), "印度对社交媒体公司说了什么？", {"印度"}, (), ["topic"]),
    ((CHINA_ZH, "那印度呢？", "他们还说了什么？"), "印度还说了什么？", {"印度"}, (), ["speaker"]),
    (("在第8838次会议上，肯尼亚说了什么？", "那中方呢？", "他还说了什么？"), "在S/PV.8838中，中国还说了什么？", {"中国"},
     ("S/PV.8838",), ["speaker", "document"]),
    # an absent speaker is asked about as such (the pipeline then says who did speak)
    ((KENYA_EN, "And Brazil?"), "What did Brazil say about social media companies?", {"巴西"}, (), ["topic"]),
]


@pytest.mark.parametrize("messages, question, speakers, doc_ids, carried", CONVERSATIONS,
                         ids=[" / ".join(c[0]) for c in CONVERSATIONS])
def test_conversation(gaz, messages, question, speakers, doc_ids, carried):
    r = ask(gaz, *messages)
    assert r.follow_up and r.message == messages[-1]
    assert r.question == question
    assert set(r.speakers) == speakers == speakers_of(gaz, r.question)  # one attribution: exactly these
    assert r.doc_ids == doc_ids and list(r.carried) == carried
    assert (r.filters() is None) == (not doc_ids) and (not doc_ids or r.filters().doc_ids == doc_ids)


@pytest.mark.parametrize("messages", [
    (KENYA_EN, "How do improvised explosive devices threaten peacekeepers?"),
    (KENYA_ZH, CHINA_ZH),
    ("秘书长说了什么？", "简易爆炸装置对维和人员构成了什么威胁？"),
    ("And China?",),  # nothing to follow
])
def test_a_standalone_message_is_asked_as_written(gaz, messages):
    r = ask(gaz, *messages)
    assert r.question == messages[-1] and not r.follow_up and r.carried == () and r.filters() is None


def test_never_two_speakers_under_one_attribution(gaz):
    """Every resolution's question names exactly the speakers it reports, across all conversations."""
    for messages, *_ in CONVERSATIONS:
        for n in range(1, len(messages) + 1):
            r = ask(gaz, *messages[:n])
            assert set(r.speakers) == speakers_of(gaz, r.question) or r.rule == "as_written", messages[:n]
