"""Speaker headers, turns, national capacity, false colons; the real S/PV.8838 turn sequence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.corpus import load_manifest, read_source
from rag.errors import CorpusError
from rag.records import Document, Paragraph
from rag.reflow import reflow
from rag.speakers import Turn, country_of, document_speaker, parse_header, split_record, split_turns

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
WS = re.compile(r"\s")


@pytest.mark.parametrize("text,label,name,affiliation,language", [
    ("利梅茨女士（爱沙尼亚)(以英语发言):首先，请允许我感谢印度。", "利梅茨女士（爱沙尼亚）", "利梅茨", "爱沙尼亚", "以英语发言"),
    ("拉德卜先生（突尼斯）（以阿拉伯语发言）：", "拉德卜先生（突尼斯）", "拉德卜", "突尼斯", "以阿拉伯语发言"),
    ("戴兵先生（中国）：我欢迎苏杰生外长主持今天的会议。", "戴兵先生（中国）", "戴兵", "中国", "中文"),
    ("卡里乌基先生(联合王国)(以英语发言):主席先生，谢谢你。", "卡里乌基先生（联合王国）", "卡里乌基", "联合王国", "以英语发言"),
    ("伯恩·内森女士（爱尔兰)(以英语发言) :", "伯恩·内森女士（爱尔兰）", "伯恩·内森", "爱尔兰", "以英语发言"),
    ("托马斯-格林菲尔德夫人（美利坚合众国)(以英语发言):主席先生，我感谢你。", "托马斯-格林菲尔德夫人（美利坚合众国）",
     "托马斯-格林菲尔德", "美利坚合众国", "以英语发言"),
    ("主席(以英语发言)：我感谢秘书长的通报。", "主席", None, "安全理事会主席", "以英语发言"),
    ("主席（以英语发言）：在结束会议之前，我谨再次感谢今天所有的与会者。", "主席", None, "安全理事会主席", "以英语发言"),
    ("秘书长(以英语发言)：我感谢印度政府召开今天的公开辩论会。", "秘书长", None, "秘书长", "以英语发言"),
])
def test_header_shapes(text, label, name, affiliation, language):
    h = parse_header(text)
    assert h is not None
    assert h.label == label
    assert (h.info.name, h.info.affiliation, h.info.language) == (name, affiliation, language)
    assert text[h.end - 1] in "：:"
    assert h.info.capacity == ("president" if label == "主席" else None)
    assert h.info.role == {"主席": "主席", "秘书长": "秘书长"}.get(label, "member")


@pytest.mark.parametrize("text", [
    "对保护者的保护：技术与维和",  # agenda title
    "主席：澳大利亚大使兼常驻联合国代表团常驻代表加里·昆兰",  # list of panellists
    "指导说明：提交书面发言",
    "与此同时，经常出现这样的情况：维和行动部署了几十年。",
    "主席先生，我们欢迎你亲自参加今天的会议。",
])
def test_colons_that_are_not_headers(text):
    assert parse_header(text) is None


def _lines_source(*lines: str) -> tuple[str, list[Paragraph]]:
    source = "\n\n".join(lines) + "\n"
    return source, reflow(source, layout="lines")


def test_broken_header_across_lines():
    source = ("托马斯-格林菲尔德夫人（美利坚合众国)(以英\n"
              "语发言):主席先生，我感谢你提请安全理事会处理\n\n"
              "这一重要问题。我还要感谢秘书长所作的通报。\n")
    paras = reflow(source, layout="wrapped")
    assert len(paras) == 1
    [turn] = split_turns(paras, source)
    assert turn.speaker == "托马斯-格林菲尔德夫人（美利坚合众国）"
    assert source[turn.header[0]:turn.header[1]] == "托马斯-格林菲尔德夫人（美利坚合众国)(以英\n语发言):"
    body = turn.paragraphs[0]
    assert body.text.startswith("主席先生，我感谢你") and source[body.start:body.start + 4] == "主席先生"
    assert body.line == 2


def test_national_capacity_and_procedural_lines():
    source, paras = _lines_source(
        "主席(以英语发言)：我感谢秘书长的通报。",
        "我现在以印度外交部长的身份发言。",
        "首先，我要感谢秘书长的通报。",
        "我现在恢复行使安理会主席的职能。",
        "我请爱沙尼亚外交部长发言。",
        "利梅茨女士（爱沙尼亚)(以英语发言):首先，请允许我感谢印度。",
    )
    turns = split_turns(paras, source)
    assert [t.speaker for t in turns] == ["主席", "印度 (主席以本国身份发言)", "主席", "利梅茨女士（爱沙尼亚）"]
    national = turns[1].info
    assert (national.affiliation, national.role, national.capacity, national.language) == \
        ("印度", "主席", "national", "以英语发言")
    assert turns[1].header is None and turns[1].paragraphs[0].text == "我现在以印度外交部长的身份发言。"
    assert [p.text for p in turns[2].paragraphs] == ["我现在恢复行使安理会主席的职能。", "我请爱沙尼亚外交部长发言。"]
    assert turns[2].info.capacity == "president" and turns[2].info == turns[0].info
    assert [t.index for t in turns] == [0, 1, 2, 3]


def test_national_announcement_outside_the_chair_turn_is_plain_text():
    source, paras = _lines_source("戴兵先生（中国）：我欢迎外长主持今天的会议。", "我现在以中国代表的身份发言。")
    turns = split_turns(paras, source)
    assert [t.speaker for t in turns] == ["戴兵先生（中国）"] and len(turns[0].paragraphs) == 2


def test_country_of_strips_office_words():
    assert country_of("印度外交部长") == "印度"
    assert country_of("法国常驻联合国代表") == "法国"
    assert country_of("澳大利亚和乌拉圭常驻联合国代表") == "澳大利亚和乌拉圭"


def test_opening_agenda_block_and_closing_annotation_have_no_speaker():
    source, paras = _lines_source(
        "上午10时15分开会。", "通过议程", "对保护者的保护：技术与维和",
        "主席(以英语发言)：安全理事会现在开始审议其议程上的项目。", "上午11时45分散会。")
    turns, outside = split_record(paras, source)
    assert [p.text for p in outside] == ["上午10时15分开会。", "通过议程", "对保护者的保护：技术与维和", "上午11时45分散会。"]
    assert len(turns) == 1 and turns[0].paragraphs[0].text == "安全理事会现在开始审议其议程上的项目。"


def test_header_glued_to_previous_paragraph_still_opens_a_turn():
    source = ("秘书长(以英语发言)：我们齐心协力，就可以应对联\n\n"
              "合国维和行动数字化转型挑战。我感谢安全理事会的\n\n"
              "参与和支持，我们将共同推进这一进程并取得成果。\n\n"
              "主席(以英语发言)：我感谢秘书长的通报。\n")
    para = Paragraph(WS.sub("", source), 0, len(source.rstrip()), 1)
    turns = split_turns([para], source)
    assert [t.speaker for t in turns] == ["秘书长", "主席"]
    assert turns[1].paragraphs[0].text == "我感谢秘书长的通报。"
    assert turns[1].paragraphs[0].line == 7


def test_title_speaker_name_from_the_chair_invitation():
    source, paras = _lines_source(
        "主席(以英语发言)：安全理事会现在开始审议其议程上的项目。",
        "我现在热烈欢迎秘书长安东尼奥·古特雷斯先生阁下，并请他发言。",
        "秘书长(以英语发言)：我感谢印度政府召开今天的公开辩论会。")
    turns = split_turns(paras, source)
    assert turns[1].info.name == "安东尼奥·古特雷斯"


def _doc(**over) -> Document:
    base = dict(id="d", symbol=None, type="letter", organ="Security Council", date="2021-07-26",
                title_zh="2021年7月26日印度常驻联合国代表给秘书长的信（附概念说明：对保护者的保护：技术与维和）",
                title_en="Letter", author=None, file="d.txt")
    return Document(**(base | over))


def test_documents_without_turns_have_a_speaker():
    label, info = document_speaker(_doc(), "请将本函分发给为荷。\n\n蒂鲁穆尔蒂(签名)\n")
    assert label == "印度常驻联合国代表" and info.affiliation == "印度" and info.name == "蒂鲁穆尔蒂"
    label, info = document_speaker(_doc(title_zh="2012年4月4日澳大利亚和乌拉圭常驻联合国代表给大会主席的信"), "")
    assert label == "澳大利亚和乌拉圭常驻联合国代表"
    assert "澳大利亚" in info.affiliation and "乌拉圭" in info.affiliation
    assert document_speaker(_doc(type="resolution"), "")[0] == "安全理事会"
    assert document_speaker(_doc(type="resolution"), "")[1].role == "organ"
    assert document_speaker(_doc(type="presidential_statement"), "")[0] == "安全理事会主席（代表安理会）"


@pytest.mark.parametrize("kind,organ,label", [
    ("resolution", "Economic and Social Council", "经济及社会理事会"),
    ("resolution", "General Assembly", "大会"),
    ("decision", "Human Rights Council", "人权理事会"),
    ("draft_resolution", "Security Council", "安全理事会"),
    ("resolution", "Disarmament Commission (General Assembly)", "裁军审议委员会"),
    ("decision", "ECOSOC", "经济及社会理事会"),
    ("resolution", "经社理事会", "经济及社会理事会"),
])
def test_resolutions_and_decisions_speak_for_their_organ_in_chinese(kind, organ, label):
    speaker, info = document_speaker(_doc(type=kind, organ=organ, title_zh="决议"), "")
    assert speaker == label and info.affiliation == label and info.role == "organ" and info.name is None


def test_an_organ_outside_the_table_is_an_error_naming_the_field():
    with pytest.raises(CorpusError, match=r"d\.txt: field 'organ' 'Galactic Council'.*organs\.tsv"):
        document_speaker(_doc(type="resolution", organ="Galactic Council"), "")


@pytest.mark.parametrize("kind,title,author,label,affiliation", [
    ("note_verbale", "2023年4月26日乌克兰常驻联合国代表团给秘书长的普通照会", None, "乌克兰常驻联合国代表团", "乌克兰"),
    ("working_paper", "大不列颠及北爱尔兰联合王国提交的工作文件（外层空间活动中的透明度和建立信任措施）", None,
     "大不列颠及北爱尔兰联合王国", "大不列颠及北爱尔兰联合王国"),
    ("working_paper", "第一工作组主席提交的工作文件：关于实现核裁军和不扩散核武器目标的建议", None,
     "第一工作组主席", "第一工作组主席"),
    ("working_paper", "不结盟运动关于确定大会第77/109号决议第5(b)段所写的《联合国宪章》第三十三条第一项中和平解决争端用"
     "“其他和平方法”的解释性说明", None, "不结盟运动", "不结盟运动"),
    ("letter", "2023年7月20日捍卫《联合国宪章》之友小组给经济及社会理事会主席的信", None,
     "捍卫《联合国宪章》之友小组", "捍卫《联合国宪章》之友小组"),
    ("letter", "2023年2月7日圣基茨和尼维斯常驻联合国代表给经济及社会理事会主席的信", None,
     "圣基茨和尼维斯常驻联合国代表", "圣基茨和尼维斯"),
    ("report", "秘书长关于儿童与武装冲突的报告", None, "秘书长", "秘书长"),
    # no title form: the manifest author through the tables
    ("note_verbale", "普通照会", "Permanent Mission of Ukraine to the United Nations", "乌克兰常驻联合国代表团", "乌克兰"),
    ("working_paper", "工作文件", "Non-Aligned Movement", "不结盟运动", "不结盟运动"),
    ("working_paper", "工作文件", "United Kingdom of Great Britain and Northern Ireland",
     "大不列颠及北爱尔兰联合王国", "大不列颠及北爱尔兰联合王国"),
    ("letter", "信", "Permanent Representative of Saint Kitts and Nevis to the United Nations (Nerys Dockery)",
     "圣基茨和尼维斯常驻联合国代表", "圣基茨和尼维斯"),
    ("working_paper", "工作文件", "Chair of Working Group I of the Disarmament Commission", None, None),
    ("other", "其他", "Group of 77", "77国集团", "77国集团"),
])
def test_letters_notes_and_papers_speak_for_their_author_in_chinese(kind, title, author, label, affiliation):
    speaker, info = document_speaker(_doc(type=kind, title_zh=title, author=author), "内里斯·多克里(签名)\n")
    if label is None:  # an English author no table translates is kept as given, never guessed
        assert speaker == author
        return
    assert (speaker, info.affiliation) == (label, affiliation)
    assert info.name == "内里斯·多克里" and info.role == ("signatory" if kind == "letter" else "author")


def test_kinds_without_a_voice_and_missing_authors():
    assert document_speaker(_doc(type="agenda", title_zh="临时议程"), "") is None
    assert document_speaker(_doc(type="other", title_zh="说明"), "") is None
    with pytest.raises(CorpusError, match="names no author"):
        document_speaker(_doc(type="working_paper", title_zh="工作文件"), "")


# --- the real meeting record ----------------------------------------------------------------

EXPECTED_TURNS = [
    ("主席", "安全理事会主席"), ("秘书长", "秘书长"), ("主席", "安全理事会主席"),
    ("印度 (主席以本国身份发言)", "印度"), ("主席", "安全理事会主席"),
    ("利梅茨女士（爱沙尼亚）", "爱沙尼亚"), ("主席", "安全理事会主席"),
    ("托马斯-格林菲尔德夫人（美利坚合众国）", "美利坚合众国"), ("拉德卜先生（突尼斯）", "突尼斯"),
    ("戴兵先生（中国）", "中国"), ("基马尼先生（肯尼亚）", "肯尼亚"), ("卡里乌基先生（联合王国）", "联合王国"),
    ("奥吉先生（尼日尔）", "尼日尔"), ("布罗德赫斯特·埃斯蒂瓦尔夫人（法国）", "法国"), ("邓先生（越南）", "越南"),
    ("夸尔海姆先生（挪威）", "挪威"), ("金女士（圣文森特和格林纳丁斯）", "圣文森特和格林纳丁斯"),
    ("涅边贾先生（俄罗斯联邦）", "俄罗斯联邦"), ("布恩罗斯特罗·马谢乌夫人（墨西哥）", "墨西哥"),
    ("伯恩·内森女士（爱尔兰）", "爱尔兰"), ("主席", "安全理事会主席"),
]


@pytest.fixture(scope="module")
def record() -> tuple[str, list[Turn], list[Paragraph]]:
    doc = load_manifest(CORPUS)[0]
    source = read_source(CORPUS, doc)
    turns, outside = split_record(reflow(source), source)
    return source, turns, outside


def test_real_record_turn_sequence(record):
    _, turns, _ = record
    assert [(t.speaker, t.info.affiliation) for t in turns] == EXPECTED_TURNS
    assert sum(t.header is not None for t in turns) == 19
    assert len({t.speaker for t in turns}) == 17
    assert [t.info.capacity for t in turns[2:5]] == ["president", "national", "president"]
    assert turns[1].info.name == "安东尼奥·古特雷斯"
    assert turns[9].info.language == "中文" and turns[8].info.language == "以阿拉伯语发言"


def test_real_record_president_turn_split(record):
    _, turns, _ = record
    assert [p.text for p in turns[2].paragraphs] == ["我感谢秘书长的通报。"]
    assert turns[3].paragraphs[0].text == "我现在以印度外交部长的身份发言。"
    assert turns[3].paragraphs[-1].text.endswith("重申其意图。")
    assert [p.text for p in turns[4].paragraphs] == ["我现在恢复行使安理会主席的职能。", "我请爱沙尼亚外交部长发言。"]


def test_real_record_headers_and_outside_text(record):
    source, turns, outside = record
    for t in turns:
        if t.header:
            assert source[t.header[1] - 1] in "：:"
            assert parse_header(WS.sub("", source[t.header[0]:t.header[1]])).label == t.speaker
    assert [p.text for p in outside][:3] == ["上午10时15分开会。", "通过议程", "议程通过。"]
    assert outside[-1].text == "上午11时45分散会。"
    assert all(p.end <= turns[0].start for p in outside[:-1])
