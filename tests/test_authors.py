"""rag/authors.py: authors the tables do not know, named loosely, become speakers."""

from __future__ import annotations

from rag.authors import author_entities, author_matchers
from rag.entities import load_entities
from rag.query import parse_query

VOICES = [("第一工作组主席", "Chair of Working Group I of the Disarmament Commission"),
          ("捍卫《联合国宪章》之友小组", "Group of Friends in Defense of the Charter of the United Nations "
                                  "(transmitted by the Permanent Representative of Nicaragua)"),
          ("乌克兰常驻联合国代表团", "Permanent Mission of Ukraine to the United Nations"),
          ("安全理事会主席（代表安理会）", "President of the Security Council, on behalf of the Council"),
          ("巴勒斯坦人民行使不可剥夺权利委员会主席", None)]


def test_short_forms_of_authors_the_tables_do_not_resolve():
    found = {e.canonical: e.aliases for e in author_entities(VOICES, load_entities())}
    # a state's mission, an organ's president, a committee named after a people: the tables resolve them
    assert set(found) == {"第一工作组主席", "捍卫《联合国宪章》之友小组"}
    assert "工作组主席" in found["第一工作组主席"] and "Working Group I" in found["第一工作组主席"]
    assert "之友小组" in found["捍卫《联合国宪章》之友小组"] and "Group of Friends" in found["捍卫《联合国宪章》之友小组"]
    assert "Working Group" not in found["第一工作组主席"]  # fewer than three words name any group
    # a tail or phrase that another author shares names neither
    two = author_entities([*VOICES, ("第二工作组主席", "Chair of Working Group II of the Disarmament Commission")],
                          load_entities())
    aliases = {e.canonical: e.aliases for e in two}
    assert "工作组主席" not in aliases["第一工作组主席"] and "一工作组主席" in aliases["第一工作组主席"]
    assert "Working Group I" in aliases["第一工作组主席"] and "Working Group II" in aliases["第二工作组主席"]


def test_a_loosely_named_author_is_the_speaker_and_only_that_one():
    gaz = load_entities()
    people = author_matchers(VOICES, gaz)
    speakers = [label for label, _ in VOICES]
    for question, label in [("之友小组认为经社理事会应该把精力集中在哪里？", "捍卫《联合国宪章》之友小组"),
                            ("According to the Working Group I paper, what should States avoid?", "第一工作组主席"),
                            ("工作组主席的文件要求什么？", "第一工作组主席")]:
        intent = parse_query(question, [], speakers, gaz, people)
        refs = [s for s in intent.speakers if s.canonical == label]
        assert refs and refs[0].matches == (label,), question


def test_a_tail_inside_another_name_names_no_author():
    gaz = load_entities()
    people = author_matchers(VOICES, gaz)
    speakers = [label for label, _ in VOICES]
    for question in ("第二工作组主席的文件说了什么？", "海地之友小组说了什么？"):
        intent = parse_query(question, [], speakers, gaz, people)
        assert not {"第一工作组主席", "捍卫《联合国宪章》之友小组"} & {s.canonical for s in intent.speakers}, question
    assert author_entities([("", "Somebody"), ("甲", None)], gaz) == []  # no empty or one-character label
