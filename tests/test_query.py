import pytest

from rag.query import find_doc_types, load_entities, parse_query, speaker_matches
from rag.records import Document, SpeakerInfo


def doc(id_, type_, symbol=None, meeting=None):
    return Document(id=id_, symbol=symbol, type=type_, organ="Security Council", date="2021-08-18",
                    title_zh="标题", title_en="title", author=None, file="x.txt", meeting=meeting)


DOCS = [
    doc("S/PV.8838", "meeting_record", "S/PV.8838", meeting=8838),
    doc("S/2021/681", "letter", "S/2021/681"),
    doc("S/PRST/2021/11", "presidential_statement", "S/PRST/2021/11"),
    doc("letter-2012-04-04-australia-uruguay", "letter"),
    doc("S/RES/2518 (2020)", "resolution", "S/RES/2518 (2020)"),
]

SPEAKERS = [
    SpeakerInfo("古特雷斯", "秘书长", "秘书长", "以英语发言", None),
    SpeakerInfo("苏杰生", "印度", "主席", "以英语发言", "president"),
    SpeakerInfo("苏杰生", "印度", "主席", "以英语发言", "national"),
    SpeakerInfo("戴兵", "中国", "member", "中文", None),
    SpeakerInfo("基马尼", "肯尼亚", "member", "以英语发言", None),
    SpeakerInfo("卡里乌基", "联合王国", "member", "以英语发言", None),
    SpeakerInfo(None, "美利坚合众国", "member", "以英语发言", None),
    SpeakerInfo("涅边贾", "俄罗斯联邦", "member", "以俄语发言", None),
    SpeakerInfo(None, "安全理事会", "council", None, None),
]


def parse(q):
    return parse_query(q, DOCS, SPEAKERS)


# ---------------------------------------------------------------- symbols

@pytest.mark.parametrize("question, doc_id", [
    ("S/RES/2518 (2020)号决议说了什么？", "S/RES/2518 (2020)"),
    ("What does S/RES/2518(2020) request?", "S/RES/2518 (2020)"),
    ("第2518(2020)号决议请秘书长做什么？", "S/RES/2518 (2020)"),
    ("第２５１８（２０２０）号决议请秘书长做什么？", "S/RES/2518 (2020)"),
    ("第2518号决议的要点", "S/RES/2518 (2020)"),
    ("What does resolution 2518 say about training?", "S/RES/2518 (2020)"),
    ("What does resolution 2518 (2020) say?", "S/RES/2518 (2020)"),
    ("S/PV.8838 中中国说了什么", "S/PV.8838"),
    ("第8838次会议讨论了什么？", "S/PV.8838"),
    ("What was discussed at the 8838th meeting?", "S/PV.8838"),
    ("S/PRST/2021/11 要求什么？", "S/PRST/2021/11"),
    ("S/2021/681 的概念说明", "S/2021/681"),
])
def test_symbol_forms_route_to_document(question, doc_id):
    intent = parse(question)
    assert intent.doc_ids == (doc_id,)
    assert intent.unknown_symbols == ()


@pytest.mark.parametrize("question, unknown", [
    ("第2589(2021)号决议说了什么？", "第2589(2021)号决议"),  # shown as written: never a symbol invented
    ("What does resolution 2589 say?", "resolution 2589"),
    ("S/RES/2589(2021) 说了什么？", "S/RES/2589 (2021)"),
    ("大会第2200号决议说了什么？", "第2200号决议"),
    ("第2518(2019)号决议", "第2518(2019)号决议"),  # same number, wrong year: not our document
    ("S/PRST/2021/17 的内容", "S/PRST/2021/17"),
    ("第9000次会议上中国说了什么", "S/PV.9000"),
    ("A/65/698 里写了什么", "A/65/698"),
])
def test_unknown_symbols_are_never_mapped_to_another_document(question, unknown):
    intent = parse(question)
    assert intent.doc_ids == ()
    assert intent.unknown_symbols == (unknown,)


def test_known_and_unknown_symbols_together():
    intent = parse("S/PV.8838 中提到的第2589(2021)号决议")
    assert intent.doc_ids == ("S/PV.8838",)
    assert intent.unknown_symbols == ("第2589(2021)号决议",)


def test_no_symbol():
    intent = parse("维和人员的安全如何保障？")
    assert intent.doc_ids == () and intent.unknown_symbols == ()


def test_document_id_without_symbol():
    assert parse("letter-2012-04-04-australia-uruguay 说了什么").doc_ids == ("letter-2012-04-04-australia-uruguay",)


# ---------------------------------------------------------------- language

def test_lang():
    assert parse("中方说了什么？").lang == "zh"
    assert parse("What did China say about S/PV.8838?").lang == "en"


# ---------------------------------------------------------------- speakers

@pytest.mark.parametrize("question, canonical", [
    ("中国代表说了什么？", "中国"),
    ("中方对新技术提出了哪些建议？", "中国"),
    ("What did China say?", "中国"),
    ("What did the Chinese delegation propose?", "中国"),
    ("What did the Chinese representative propose?", "中国"),
    ("美国代表说了什么？", "美利坚合众国"),
    ("美利坚合众国说了什么？", "美利坚合众国"),
    ("What did the United States say about diesel?", "美利坚合众国"),
    ("What did the US say?", "美利坚合众国"),
    ("英国代表说了什么？", "联合王国"),
    ("联合王国说了什么？", "联合王国"),
    ("What did the UK say?", "联合王国"),
    ("According to the United Kingdom, how many died?", "联合王国"),
    ("俄罗斯怎么看？", "俄罗斯联邦"),
    ("What did Russia say?", "俄罗斯联邦"),
    ("What did the Russian Federation say?", "俄罗斯联邦"),
    ("肯尼亚说了什么？", "肯尼亚"),
    ("What did Kenya say about social media companies?", "肯尼亚"),
    ("秘书长提到了什么？", "秘书长"),
    ("古特雷斯说了什么？", "秘书长"),
    ("What did the Secretary-General say?", "秘书长"),
    ("What did Guterres say?", "秘书长"),
    ("主席说了什么？", "主席"),
    ("What did the President say at the end?", "主席"),
    ("印度外长提出的四点框架是什么？", "印度"),
    ("What did India say about national capacity?", "印度"),
    ("安理会强调了什么？", "安全理事会"),
    ("What did the Security Council stress?", "安全理事会"),
    ("戴兵说了什么？", "戴兵"),
])
def test_speaker_aliases_resolve_and_are_present(question, canonical):
    intent = parse(question)
    assert [s.canonical for s in intent.speakers] == [canonical]
    assert intent.speakers[0].present
    assert intent.speaker_names == (canonical,)
    assert intent.missing_speakers == ()


@pytest.mark.parametrize("question, missing", [
    ("巴西代表说了什么？", "巴西"),
    ("What did the delegate of Japan say?", "日本"),
    ("What did Brazil say?", "巴西"),
    ("印度尼西亚的立场是什么？", "印度尼西亚"),
])
def test_missing_speakers(question, missing):
    intent = parse(question)
    assert intent.missing_speakers == (missing,)
    assert intent.speaker_names == ()
    assert not intent.speakers[0].present and intent.speakers[0].matches == ()


@pytest.mark.parametrize("question", [
    "联合国维和行动面临哪些威胁？",
    "What can the United Nations do?",
    "发展中国家的能力建设",
    "印度洋上的维和",
    "How do the Chinese documents describe peacekeeping?",
    "Is the record available in Chinese?",
    "马里稳定团遭受了多少次袭击？",
    "Tell us about peacekeeping.",  # 'us' is not the US
])
def test_no_false_positive_speakers(question):
    assert parse(question).speakers == ()


def test_longest_match_central_african_republic_and_indonesia():
    intent = parse("中非共和国和印度尼西亚说了什么？")
    assert [s.canonical for s in intent.speakers] == ["中非共和国", "印度尼西亚"]
    assert "中国" not in intent.speaker_names and "印度" not in intent.speaker_names


def test_english_word_boundaries():
    assert [s.canonical for s in parse("What did Nigeria say?").speakers] == ["尼日利亚"]
    assert [s.canonical for s in parse("What did the Niger say?").speakers] == ["尼日尔"]
    assert [s.canonical for s in parse("What did Guinea-Bissau say?").speakers] == ["几内亚比绍"]
    assert [s.canonical for s in parse("What did South Sudan say?").speakers] == ["南苏丹"]


def test_presidential_statement_is_not_the_president_speaking():
    intent = parse("主席声明要求秘书长何时提交报告？")
    assert intent.speakers == ()
    assert intent.doc_types == ("presidential_statement",)
    assert parse("What does the presidential statement request?").speakers == ()
    assert parse("the statement by the President of the Security Council").speakers == ()


@pytest.mark.parametrize("question", [
    "第2518(2020)号决议请秘书长在哪份通报中报告？",
    "决议要求秘书长做什么？",
    "给秘书长的信提到了什么？",
    "What does the resolution request the Secretary-General to do?",
    "the letter addressed to the Secretary-General",
])
def test_addressee_is_not_a_speaker(question):
    intent = parse(question)
    assert intent.speakers == ()
    assert intent.non_speakers == ("秘书长",)


def test_council_as_setting_is_not_a_speaker():
    for q in ("安理会第8838次会议上，中国说了什么？", "安理会会议上中国说了什么", "在安理会，中国说了什么",
              "At the Security Council meeting, what did China say?"):
        assert parse(q).speaker_names == ("中国",), q


def test_possessive_speech_after_setting_cue_is_a_speaker():
    assert parse("In the Secretary-General's briefing, what was said?").speaker_names == ("秘书长",)
    assert parse("在秘书长的发言中提到了什么").speaker_names == ("秘书长",)


def test_several_speakers_in_order():
    intent = parse("中国和巴西对维和有何看法？")
    assert [s.canonical for s in intent.speakers] == ["中国", "巴西"]
    assert intent.speaker_names == ("中国",)
    assert intent.missing_speakers == ("巴西",)


# ---------------------------------------------------------------- speaker_matches

@pytest.mark.parametrize("speaker, name, expected", [
    ("戴兵先生（中国）", "中国", True),
    ("戴兵先生（中国）", "中方", True),
    ("戴兵先生（中国）", "China", True),
    ("戴兵先生（中国）", "戴兵", True),
    ("戴兵先生（中国）", "美国", False),
    ("卡里乌基先生(联合王国)(以英语发言)", "英国", True),
    ("卡里乌基先生(联合王国)(以英语发言)", "United Kingdom", True),
    ("卡里乌基先生(联合王国)(以英语发言)", "大不列颠及北爱尔兰联合王国", True),
    ("印度 (主席以本国身份发言)", "印度", True),
    ("印度 (主席以本国身份发言)", "印度尼西亚", False),
    ("主席(以英语发言)", "主席", True),
    ("主席(以英语发言)", "the President", True),
    ("秘书长", "Guterres", True),
    ("中非共和国", "中国", False),
    (SpeakerInfo(None, "美利坚合众国", "member", None, None), "美国", True),
    (SpeakerInfo(None, "美利坚合众国", "member", None, None), "US", True),
    (SpeakerInfo("涅边贾", "俄罗斯联邦", "member", None, None), "Russia", True),
    (SpeakerInfo("古特雷斯", "秘书长", "秘书长", None, None), "Secretary-General", True),
    (SpeakerInfo("苏杰生", "印度", "主席", None, "president"), "主席", True),
    (SpeakerInfo(None, "安全理事会", "council", None, None), "安理会", True),
    (SpeakerInfo(None, "安全理事会", "council", None, None), "秘书长", False),
])
def test_speaker_matches(speaker, name, expected):
    assert speaker_matches(speaker, name) is expected


def test_speaker_labels_as_corpus_speakers():
    labels = ["主席", "秘书长", "戴兵先生（中国）", "卡里乌基先生(联合王国)"]
    intent = parse_query("英国和中国说了什么？", DOCS, labels)
    assert intent.speaker_names == ("联合王国", "中国")
    assert intent.speakers[0].matches == ("卡里乌基先生(联合王国)",)


# ---------------------------------------------------------------- document kinds

@pytest.mark.parametrize("question, types", [
    ("决议对培训有何要求？", ("resolution",)),
    ("What does the resolution say about training?", ("resolution",)),
    ("主席声明强调了什么？", ("presidential_statement",)),
    ("What does the presidential statement stress?", ("presidential_statement",)),
    ("印度给秘书长的信中说了什么？", ("letter",)),
    ("概念说明提出了哪些问题？", ("letter",)),
    ("What does the concept note ask?", ("letter",)),
    ("What does the letter say?", ("letter",)),
    ("在辩论中中国说了什么？", ("meeting_record", "summary_record")),
    ("安理会会议上中国说了什么", ("meeting_record", "summary_record")),
    ("What did China say in the debate?", ("meeting_record", "summary_record")),
    ("简要记录中巴勒斯坦国观察员说了什么？", ("summary_record",)),
    ("What does the verbatim record say?", ("meeting_record",)),
    ("决议草案建议大会做什么？", ("draft_resolution",)),
    ("What does the draft resolution recommend?", ("draft_resolution",)),
    ("乌克兰的普通照会请求什么？", ("note_verbale",)),
    ("What does the note verbale request?", ("note_verbale",)),
    ("工作文件建议了哪些措施？", ("working_paper",)),
    ("What does the working paper recommend?", ("working_paper",)),
    ("不结盟运动的解释性说明", ("working_paper",)),
    ("该报告指出了什么？", ("report",)),
    ("What does the report say about methane?", ("report",)),
    ("决议请秘书长提交报告", ("resolution",)),  # a report asked for is no report held
    ("What was on the agenda?", ("agenda",)),
    ("理事会第2023/315号决定", ("decision",)),
    ("理事会决定了什么？", ()),  # 决定 as a verb names no document
    ("讲习班讨论了什么？", ()),  # a workshop is no kind of document
    ("新技术如何提供信息和增进信任？", ()),  # 信息, 信任 are not letters
    ("维和人员的安全", ()),
])
def test_doc_types(question, types):
    assert parse(question).doc_types == types


def test_several_kinds_named_keeps_all():
    assert parse("the Council adopted a resolution at the debate").doc_types == ("resolution", "meeting_record",
                                                                               "summary_record")


def test_symbol_words_do_not_add_kinds():
    intent = parse("第2518(2020)号决议请秘书长做什么？")
    assert intent.doc_types == ()
    assert parse("第8838次会议上中国说了什么").doc_types == ()


def test_find_doc_types_plain():
    assert find_doc_types("主席声明和决议") == ("presidential_statement", "resolution")


@pytest.mark.parametrize("question, kinds", [
    ("在这次会议上中方说了什么？", ("meeting_record", "summary_record")),
    ("What did Egypt say at the meeting?", ("meeting_record", "summary_record")),
    # a debate or conference that is the topic names no record
    ("特别委员会的年度专题辩论应与哪份宣言保持一致？", ()),
    ("《马拉喀什移民问题契约》是在何时何地的会议上通过的？", ()),
    ("Where did the Habitat III conference take place?", ()),
    ("When did the meeting close?", ("meeting_record", "summary_record")),
    ("会议是几点结束的？", ("meeting_record", "summary_record")),
])
def test_only_said_at_a_meeting_names_a_record(question, kinds):
    assert find_doc_types(question) == kinds


def test_a_label_written_out_is_that_speaker_not_every_chair():
    speakers = [*SPEAKERS, "第一工作组主席"]
    intent = parse_query("第一工作组主席的文件要求什么？", DOCS, speakers)
    assert [(s.canonical, s.matches) for s in intent.speakers] == [("第一工作组主席", ("第一工作组主席",))]
    assert len(parse_query("主席说了什么？", DOCS, speakers).speakers[0].matches) > 1
    # only the mention the label spells out: another chair named elsewhere stays any chair
    other = parse_query("主席对第一工作组主席的文件说了什么？", DOCS, speakers)
    assert all(s.canonical != "第一工作组主席" for s in other.speakers)
    both = parse_query("安理会主席和第一工作组主席分别说了什么？", DOCS, speakers)
    assert [s.surface for s in both.speakers if s.canonical == "第一工作组主席"] != ["安理会主席"]


# ---------------------------------------------------------------- filters and tables

def test_to_filters():
    f = parse("在S/PV.8838的辩论中，中方和巴西说了什么？").to_filters()
    assert f.doc_ids == ("S/PV.8838",)
    assert f.speakers == ("中国",)
    assert f.doc_types == ("meeting_record", "summary_record")
    assert parse("主席声明强调了什么").to_filters(doc_types=False).doc_types == ()


def test_tables():
    gaz = load_entities()
    states = [e for e in gaz if e.kind == "state"]
    observers = [e for e in gaz if e.kind == "observer"]
    assert len(states) == 193 and len(observers) == 2
    assert len({e.zh_short for e in states}) == 193
    assert len({e.en for e in states}) == 193
    uk = next(e for e in states if e.en.startswith("United Kingdom"))
    assert uk.zh_short == "大不列颠及北爱尔兰联合王国" and uk.canonical == "联合王国"
    assert "联合国" not in gaz.aliases("联合王国")


def test_bad_table_line_names_file_and_line(tmp_path):
    bad = tmp_path / "states.tsv"
    bad.write_text("zh_short\ten_short\taliases\tzh_record\tdemonyms\n中国\tChina\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"states.tsv:2"):
        load_entities(bad)


@pytest.mark.parametrize("question, speakers, others", [
    ("秘书长说联合国马里多层面综合稳定团正在利用机器学习做什么？", ("秘书长",), ()),
    ("马里稳定团和联合国马里多层面综合稳定团", (), ()),
    ("What did the Secretary-General say about the Mission in Mali?", ("秘书长",), ()),
    ("墨西哥提到大会昨天通过了哪项决议？", ("墨西哥",), ("大会",)),
    ("What did Kenya say about Brazil?", ("肯尼亚",), ("巴西",)),
    ("巴西部队在海地做了什么？", (), ("巴西", "海地")),
    ("What did Norway say about Brazil's troops?", ("挪威",), ("巴西",)),
])
def test_reported_content_and_troops_are_not_speakers(question, speakers, others):
    intent = parse(question)
    assert tuple(s.canonical for s in intent.speakers) == speakers
    assert intent.non_speakers == others


def test_each_named_with_its_own_verb_is_a_speaker():
    intent = parse("中国说了什么，巴西说了什么？")
    assert [s.canonical for s in intent.speakers] == ["中国", "巴西"]
    assert intent.missing_speakers == ("巴西",)


def test_concept_note_is_not_a_verb_of_saying():
    # 说明 in 概念说明 is not 说: India named after it is still a speaker
    assert parse("概念说明中印度提出了什么？").speaker_names == ("印度",)


@pytest.mark.parametrize("speaker, name, expected", [
    (SpeakerInfo("加里·昆兰、何塞·路易斯·坎塞拉", "澳大利亚和乌拉圭", "signatory", None, None), "乌拉圭", True),
    (SpeakerInfo("加里·昆兰、何塞·路易斯·坎塞拉", "澳大利亚和乌拉圭", "signatory", None, None), "Australia", True),
    (SpeakerInfo("加里·昆兰、何塞·路易斯·坎塞拉", "澳大利亚和乌拉圭", "signatory", None, None), "坎塞拉", True),
    (SpeakerInfo("加里·昆兰、何塞·路易斯·坎塞拉", "澳大利亚和乌拉圭", "signatory", None, None), "巴西", False),
    ("澳大利亚和乌拉圭常驻联合国代表", "Uruguay", True),
    ("印度常驻联合国代表", "印度", True),
    ("印度常驻联合国代表", "联合国", False),
    (SpeakerInfo(None, "印度", "主席", None, "national"), "主席", False),  # national capacity
    (SpeakerInfo(None, "印度", "主席", None, "national"), "India", True),
    (SpeakerInfo(None, "安全理事会主席", "主席", None, "president"), "the President", True),
    (SpeakerInfo(None, "安全理事会主席", "主席", None, "president"), "安理会", False),  # the chair is not the Council
    (SpeakerInfo("托马斯-格林菲尔德", "美利坚合众国", "member", None, None), "格林菲尔德", True),
])
def test_speaker_matches_compound_and_capacity(speaker, name, expected):
    assert speaker_matches(speaker, name) is expected


def test_signatory_surname_in_question_is_a_speaker():
    speakers = [SpeakerInfo("加里·昆兰、何塞·路易斯·坎塞拉", "澳大利亚和乌拉圭", "signatory", None, None)]
    intent = parse_query("坎塞拉在信中说了什么？", DOCS, speakers)
    assert intent.speaker_names == ("坎塞拉",)
    assert parse_query("乌拉圭说了什么？", DOCS, speakers).speaker_names == ("乌拉圭",)
    # single-character names (邓, 金) are never taken as names: too ambiguous
    assert parse_query("金额是多少？", DOCS, [SpeakerInfo("金", "圣文森特和格林纳丁斯", "member", None, None)]).speakers == ()


def test_real_corpus_speakers():
    from pathlib import Path

    from rag.chunks import chunk_corpus

    docs, chunks = chunk_corpus(Path(__file__).parent.parent / "corpus")
    infos = list(dict.fromkeys(c.speaker_info for c in chunks if c.speaker_info))
    for question, canonical in [("What did Kenya say about social media companies?", "肯尼亚"),
                                ("According to the United Kingdom, how many died?", "联合王国"),
                                ("印度在多少个特派团部署过官兵？", "印度"),
                                ("What did the President say?", "主席"),
                                ("讲习班上乌拉圭说了什么？", "乌拉圭")]:
        assert parse_query(question, docs, infos).speaker_names == (canonical,), question
    intent = parse_query("巴西代表说了什么？", docs, infos)
    assert intent.missing_speakers == ("巴西",)
    india = [c for c in chunks if c.speaker_info and speaker_matches(c.speaker_info, "印度")]
    assert any(c.speaker_info.capacity == "national" for c in india)
    assert all(c.doc_id in ("S/PV.8838", "S/2021/681") for c in india)


@pytest.mark.parametrize("question", ["第3次会议讨论了什么？", "What happened at the 4th meeting?",
                                      "讲习班的第二次会议", "in meeting 2 of the workshop"])
def test_small_meeting_numbers_are_no_symbols(question):
    intent = parse(question)
    assert intent.doc_ids == () and intent.unknown_symbols == ()


def test_document_lookup_finds_every_written_form_in_manifest_order() -> None:
    from rag.query import DocLookup, find_refs

    lookup = DocLookup.of(DOCS)
    by = {r.display(): lookup.find(r) for r in find_refs("S/RES/2518 (2020) 第8838次会议 S/PRST/2021/11 第2518号决议")}
    assert all(by.values()), by
    assert lookup.find(find_refs("第9999号决议")[0]) == []
    assert parse_query("第2518号决议要求什么？", lookup, SPEAKERS).doc_ids == parse_query("第2518号决议要求什么？", DOCS, SPEAKERS).doc_ids


@pytest.mark.parametrize("question, structural", [
    ("会议议程上有什么项目？", True),
    ("会议是几点开始的？", True),
    ("What time did the meeting begin?", True),
    ("When did the meeting close?", True),
    ("这封信的文号是什么？", True),
    ("Which document is the note verbale from Ukraine?", True),
    ("Who chaired the meeting?", True),
    ("中国代表说了什么？", False),
    ("What did Kenya say about technology?", False),
    ("When did the Council adopt the presidential statement?", False),
    ("Which functional commission recommended the resolution on counter-terrorism?", True),
    ("What is the symbol of the proposal on which the resolution was adopted?", True),
    ("决议是根据哪项提案通过的？", True),
    ("What does the resolution recommend to the General Assembly?", False),
    ("Which symbol of peace did Ukraine mention?", False),
    ("What did Kenya say on the proposal to reform peacekeeping?", False),
    # who signed a letter, to whom and when it went: its signature and title blocks
    ("Who signed the letter from Saint Kitts and Nevis?", True),
    ("Which country's Permanent Representative signed the letter?", True),
    ("这封信是谁签署的？", True),
    ("乌克兰的普通照会是哪一天发出的，收件人是谁？", True),
    ("To whom was the note verbale addressed?", True),
    ("哪些国家签署了该条约？", False),
    ("谁签署了该条约？", False),
    ("Who signed the Treaty on the Non-Proliferation of Nuclear Weapons?", False),
    ("What does the paper say about the signature of the Arms Trade Treaty?", False),
    ("哪些国家签名支持该声明？", False),
    ("To whom should States provide assistance?", False),
    ("委员会的报告什么时候发出的？", False),
    ("What is the signature feature of the UK working paper?", False),
    # a Chair named as the speaker is no question about who chaired
    ("What does the Working Group I Chair's paper recommend?", False),
    ("What did the Vice-Chair say about the report?", False),
    ("Which working group does UNODC chair?", False),
    # which session a document belongs to, what a resolution annexes; a long subject before `addressed`
    ("乌克兰常驻团给秘书长的那份照会属于经社理事会哪一届会？", True),
    ("Which session of the Council does the letter belong to?", True),
    ("What is annexed to ECOSOC resolution 2023/18 on coal mine methane?", True),
    ("决议所附的是什么？", True),
    ("What does the decision annexed to the resolution say about methane?", True),
    ("What does the ECE's Guidance say about methane drainage?", False),
    ("To whom was the Group of Friends in Defense of the Charter's letter of 20 July 2023 addressed?", True),
    ("在经社理事会2023年届会上，乌克兰代表说了什么？", False),  # a session as the question's context
    ("What does the note say about the territories annexed in 2014?", False),
    ("该文件呼吁谁签署《禁止核武器条约》？", False),
    ("To whom is the appeal for increased humanitarian funding addressed?", False),
])
def test_questions_about_a_documents_structure(question: str, structural: bool) -> None:
    from rag.query import asks_structure
    assert asks_structure(question) is structural


@pytest.mark.parametrize("question, term", [
    ("会议是几点开始的", "开会"), ("会议什么时候结束", "散会"), ("中国说了什么", None)])
def test_a_meeting_time_question_scores_the_records_own_words(question: str, term: str | None) -> None:
    from rag.query import scoring_text
    assert scoring_text(parse(question)) == (f"{question} {term}" if term else question)
