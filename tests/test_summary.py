"""Summary records: speakers from indirect speech, the chair from the front matter, procedural
lines and headings outside turns; the exact turn sequence of the real 101_ceirpp_sr413.txt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.chunks import chunk_document, parse
from rag.corpus import load_manifest, read_source
from rag.records import Document, Paragraph
from rag.reflow import reflow
from rag.roles import roles
from rag.summary import boundary, chair_of, opener, procedural, split_summary

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.mark.parametrize("text,label,name,affiliation,role", [
    ("2. Mansour先生(巴勒斯坦国观察员)说，巴勒斯坦被占领土的局势极其令人沮丧。", "Mansour先生（巴勒斯坦国观察员）",
     "Mansour", "巴勒斯坦国", "observer"),
    ("副主席Pedroso Cuesta先生(古巴)代表特别报告员发言说，在巴勒斯坦人民正因…的时候。", "Pedroso Cuesta先生（古巴）",
     "Pedroso Cuesta", "古巴", "vice-chair, for the rapporteur"),
    ("副主席Pedroso Cuesta先生(古巴)代表特别报告员发言，介绍了委员会的年度报告(A/78/35)，他说，报告概述了工作。",
     "Pedroso Cuesta先生（古巴）", "Pedroso Cuesta", "古巴", "vice-chair, for the rapporteur"),
    ("Lynk先生(1967年以来被占领的巴勒斯坦领土人权状况前特别报告员)通过视频链接发言，介绍了该研究报告，他说，占领非法。",
     "Lynk先生（1967年以来被占领的巴勒斯坦领土人权状况前特别报告员）", "Lynk",
     "1967年以来被占领的巴勒斯坦领土人权状况前特别报告员", "former special rapporteur"),
    ("Salah先生 (突尼斯) 说：突尼斯支持委员会2023年工作方案。", "Salah先生（突尼斯）", "Salah", "突尼斯", "member"),
    ("de la Fuente Ramírez先生（墨西哥）回顾说，墨西哥一贯支持。", "de la Fuente Ramírez先生（墨西哥）",
     "de la Fuente Ramírez", "墨西哥", "member"),
    ("García先生(西班牙)说，西班牙支持。", "García先生（西班牙）", "García", "西班牙", "member"),
    ("van der Berg女士(荷兰)代表欧洲联盟发言说，欧盟支持。", "van der Berg女士（荷兰）", "van der Berg", "荷兰",
     "member, for 欧洲联盟"),
    ("王毅先生（中国）指出，中方支持。", "王毅先生（中国）", "王毅", "中国", "member"),
])
def test_person_openers(text, label, name, affiliation, role):
    found = opener(text)
    assert found is not None
    assert (found.label, found.info.name, found.info.affiliation, found.info.role) == (label, name, affiliation, role)
    assert found.info.capacity is None and found.info.language is None


@pytest.mark.parametrize("text", ["主席说，鉴于长期问题，委员会已委托开展研究。", "主席回顾说，秘书处已分发报告草稿。",
                                  "1. 主席说：会议开始。", "主席请各国政府和各组织支持委员会执行其任务。"])
def test_the_chair_speaks_with_the_name_from_the_front_matter(text):
    chair = chair_of([Paragraph("主席：尼昂先生 (塞内加尔)", 0, 14, 4)], "巴勒斯坦人民行使不可剥夺权利委员会")
    found = opener(text, chair)
    assert found is not None and found.label == "主席"
    assert (found.info.name, found.info.affiliation, found.info.role, found.info.capacity) == (
        "尼昂", "巴勒斯坦人民行使不可剥夺权利委员会主席", "chair", "president")


@pytest.mark.parametrize("text", [
    "主席团于4月会见了巴勒斯坦国外交与侨民部长。",  # the Bureau, not the Chair
    "秘书长重申本组织支持两国解决方案，并表示期待访问。",  # reported, not a speaker
    "他说，以色列必须撤出。",
    "委员会敦促以色列停止并扭转吞并。",
    "阿兰·佩莱认为，“斡旋”是唯一重要的方法。",  # no honorific
    "秘书长请会员国提交意见。",  # only a chair invites
])
def test_sentences_that_open_no_turn(text):
    assert opener(text) is None


@pytest.mark.parametrize("text,expected", [
    ("上午11时35分散会。", True), ("上午10时10分宣布开会。", True), ("报告草稿获得通过。", True),
    ("1. 议程通过。", True), ("就这样决定。", True), ("决议草案未获通过。", True),
    ("主席说，报告获得通过后将转递秘书长。", False), ("按照惯例，报告获得通过后将转递秘书长，以便提交大会。", False),
])
def test_procedural_lines(text, expected):
    assert procedural(text) is expected
    assert (boundary(text) == "alone") is expected


def test_a_turn_lasts_until_the_next_speaker_a_heading_or_a_procedural_line():
    source = "\n".join(["主席：尼昂先生 (塞内加尔)", "上午10时10分宣布开会。", "巴勒斯坦国观察员发言",
                        "2. Mansour先生(巴勒斯坦国观察员)说，局势令人沮丧。", "以色列必须撤出。",
                        "Nasir先生(印度尼西亚)说，必须提供资金。", "报告草稿获得通过。", "按照惯例，报告将转递秘书长。",
                        "审议资格认可请求", "主席说，委员会网站上介绍了标准。", "他认为委员会有意批准。", "就这样决定。"]) + "\n"
    paras = reflow(source, layout="segments", boundary=boundary)
    found = roles(paras)
    turns, outside = split_summary(paras, found, "委员会")
    assert [(t.speaker, [p.text for p in t.paragraphs]) for t in turns] == [
        ("Mansour先生（巴勒斯坦国观察员）", ["2. Mansour先生(巴勒斯坦国观察员)说，局势令人沮丧。以色列必须撤出。"]),
        ("Nasir先生（印度尼西亚）", ["Nasir先生(印度尼西亚)说，必须提供资金。"]),
        ("主席", ["主席说，委员会网站上介绍了标准。他认为委员会有意批准。"]),
    ]
    assert [p.text for p in outside] == ["主席：尼昂先生 (塞内加尔)", "上午10时10分宣布开会。", "巴勒斯坦国观察员发言",
                                         "报告草稿获得通过。", "按照惯例，报告将转递秘书长。", "审议资格认可请求",
                                         "就这样决定。"]
    assert turns[2].info.name == "尼昂" and all(t.header is None for t in turns)


def test_a_summary_record_without_any_speaker_is_an_error():
    doc = Document(id="x", symbol=None, type="summary_record", organ="General Assembly", date="2023-01-01",
                   title_zh="简要记录", title_en=None, author=None, file="x.txt")
    with pytest.raises(ValueError, match="summary record without any speaker"):
        chunk_document(doc, "通过议程\n1. 议程通过。\n")


# --- the real summary record: its turns, read by hand from 101_ceirpp_sr413.txt ---------------------

MANSOUR = ("Mansour先生（巴勒斯坦国观察员）", "Mansour", "巴勒斯坦国", "observer")
PEDROSO = ("Pedroso Cuesta先生（古巴）", "Pedroso Cuesta", "古巴", "vice-chair, for the rapporteur")
CHAIR = ("主席", "尼昂", "巴勒斯坦人民行使不可剥夺权利委员会主席", "chair")
# (first line, last line, (label, name, affiliation, role)) of every turn, in order
EXPECTED_TURNS = [
    (16, 27, MANSOUR),
    (28, 33, PEDROSO),
    (34, 39, ("Elshandawily先生（埃及观察员）", "Elshandawily", "埃及", "observer")),
    (40, 45, ("Alqaisi先生（约旦观察员）", "Alqaisi", "约旦", "observer")),
    (46, 49, ("Salah先生（突尼斯）", "Salah", "突尼斯", "member")),
    (51, 52, CHAIR),
    (53, 67, ("Lynk先生（1967年以来被占领的巴勒斯坦领土人权状况前特别报告员）", "Lynk",
              "1967年以来被占领的巴勒斯坦领土人权状况前特别报告员", "former special rapporteur")),
    (68, 69, CHAIR),
    (70, 71, MANSOUR),
    (73, 73, CHAIR),
    (74, 82, PEDROSO),
    (83, 88, ("Nasir先生（印度尼西亚）", "Nasir", "印度尼西亚", "member")),
    (90, 91, CHAIR),
    (93, 98, CHAIR),
    (101, 107, CHAIR),
]
OUTSIDE_LINES = [*range(1, 16), 50, 72, 89, 92, 99, 100, 108]  # front matter, headings, procedural lines


@pytest.fixture(scope="module")
def record() -> tuple[Document, str]:
    doc = next(d for d in load_manifest(CORPUS) if d.file == "101_ceirpp_sr413.txt")
    return doc, read_source(CORPUS, doc)


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def test_real_summary_record_turn_sequence(record):
    doc, source = record
    placed = parse(doc, source)
    turns: list = []
    for p in placed:
        if p.turn is not None and (not turns or turns[-1][0] is not p.turn):
            turns.append([p.turn, _line_of(source, p.para.start), 0])
        if p.turn is not None:
            turns[-1][2] = _line_of(source, p.para.end - 1)
    got = [(first, last, (t.speaker, t.info.name, t.info.affiliation, t.info.role)) for t, first, last in turns]
    assert got == EXPECTED_TURNS
    assert [t.index for t, _, _ in turns] == list(range(len(EXPECTED_TURNS)))
    outside = sorted({line for p in placed if p.turn is None
                      for line in range(_line_of(source, p.para.start), _line_of(source, p.para.end - 1) + 1)})
    assert outside == OUTSIDE_LINES


def test_real_summary_record_chunks_stay_in_their_turn(record):
    doc, source = record
    chunks = chunk_document(doc, source)
    by_line = {}
    for first, last, who in EXPECTED_TURNS:
        for line in range(first, last + 1):
            by_line[line] = who[0]
    for c in chunks:
        lines = range(_line_of(source, c.start), _line_of(source, c.end - 1) + 1)
        assert {by_line.get(line) for line in lines} == {c.speaker}, (c.paragraph, c.text[:30])
        assert (c.turn is None) == (c.speaker is None)
    roles_by_text = {c.text: c.role for c in chunks}
    assert roles_by_text["审议民间社会组织的资格认可请求"] == "heading"
    assert roles_by_text["上午11时35分散会。"] == "body"
    assert next(c for c in chunks if c.paragraph == "p1-p11").role == "front_matter"
    assert json.dumps([c.to_dict() for c in chunks], ensure_ascii=False)  # serialisable
