"""Property tests (hypothesis) for query understanding: any text, however odd, gives an intent
that only names what the corpus holds, and never raises anything but the project's own errors."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.entities import load_entities
from rag.query import find_refs, parse_query, scoring_text
from rag.records import Document, SpeakerInfo
from rag.text import nfkc

DOCS = [Document(id="S/PV.8838", symbol="S/PV.8838", type="meeting_record", organ="Security Council",
                 date="2021-08-18", title_zh="t", title_en="t", author=None, file="a.txt", meeting=8838),
        Document(id="S/RES/2518 (2020)", symbol="S/RES/2518 (2020)", type="resolution", organ="Security Council",
                 date="2020-03-30", title_zh="t", title_en="t", author=None, file="b.txt"),
        Document(id="letter-2012-04-04-australia-uruguay", symbol=None, type="letter", organ="General Assembly",
                 date="2012-04-04", title_zh="t", title_en="t", author=None, file="c.txt")]
SPEAKERS = [SpeakerInfo("戴兵", "中国", "member", "中文", None), SpeakerInfo("古特雷斯", "秘书长", "秘书长", None, None),
            SpeakerInfo("Mansour", "巴勒斯坦国", "observer", None, None)]
IDS = {d.id for d in DOCS}

# words that exercise the grammar, mixed with arbitrary text
WORDS = st.sampled_from(["中国", "中方", "China", "秘书长", "Secretary-General", "巴勒斯坦", "问题", "对", "给", "请",
                         "欢迎", "说", "said", "about", "第2518(2020)号决议", "S/PV.8838", "S / RES / 2518 ( 2020 )",
                         "resolution 2589", "第9999次会议", "A/65/698", "决议", "会议", "the", "in", "在", "的发言",
                         "Mansour", "？", "，", " ", "\n", "（", ")", "#", "ＳＰＶ"])
TEXT = st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=12).map("".join)
RELAXED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RELAXED
@given(TEXT)
def test_intent_names_only_what_the_corpus_holds(question):
    gaz = load_entities()
    intent = parse_query(question, DOCS, SPEAKERS, gaz)
    text = nfkc(question)
    assert set(intent.doc_ids) <= IDS
    assert intent.lang in ("zh", "en")
    for ref in intent.speakers:
        assert ref.surface in text
        assert ref.present == bool(ref.matches)
    assert set(intent.missing_speakers) <= {s.canonical for s in intent.speakers if not s.present}
    assert isinstance(intent.structural, bool)
    assert scoring_text(intent).strip() or not question.strip()


@RELAXED
@given(TEXT)
def test_references_are_ordered_spans_of_the_text(question):
    text = nfkc(question)
    refs = find_refs(question)
    for a, b in zip(refs, refs[1:]):
        assert a.end <= b.start
    for r in refs:
        assert 0 <= r.start < r.end <= len(text)
        assert r.display()
