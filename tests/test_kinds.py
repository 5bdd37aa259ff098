"""The document-kind vocabulary and the Chinese names of organs, states and authors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.kinds import KINDS, ORGAN_KINDS, RECORD_KINDS, author_zh, check_kind, organ_zh, state_zh

REPO = Path(__file__).resolve().parents[1]


def test_the_vocabulary_is_closed_and_every_kind_has_a_rule():
    assert list(KINDS) == ["meeting_record", "summary_record", "resolution", "decision", "presidential_statement",
                           "letter", "note_verbale", "report", "working_paper", "draft_resolution", "agenda", "other"]
    assert set(ORGAN_KINDS) == {"resolution", "decision", "draft_resolution", "presidential_statement"}
    assert RECORD_KINDS == ("meeting_record", "summary_record")
    with pytest.raises(ValueError, match="meeting_record, summary_record, resolution"):
        check_kind("minutes")


def test_readme_and_ingestion_doc_list_the_same_kinds():
    """README's corpus section and docs/ingestion.md name every kind (and no other)."""
    for path in (REPO / "README.md", REPO / "docs" / "ingestion.md"):
        text = path.read_text(encoding="utf-8")
        table = text[text.index("<!-- kinds -->"):text.index("<!-- /kinds -->")]
        named = re.findall(r"^\| `([a-z_]+)`", table, re.M)
        assert named == list(KINDS), path


@pytest.mark.parametrize("organ,zh", [
    ("Economic and Social Council", "经济及社会理事会"), ("the General Assembly", "大会"), ("UNGA", "大会"),
    ("Human Rights Council", "人权理事会"), ("Security Council", "安全理事会"),
    ("Disarmament Commission (General Assembly)", "裁军审议委员会"),
    ("Committee on the Exercise of the Inalienable Rights of the Palestinian People (General Assembly)",
     "巴勒斯坦人民行使不可剥夺权利委员会"),
    ("Special Committee on the Charter of the United Nations and on the Strengthening of the Role of the "
     "Organization (General Assembly)", "联合国宪章和加强联合国作用特别委员会"),
    ("Economic Commission for Europe", "欧洲经济委员会"), ("UNHCR", "联合国难民事务高级专员办事处"),
    ("United Nations Office on Drugs and Crime", "联合国毒品和犯罪问题办公室"), ("经社理事会", "经济及社会理事会"),
    ("Galactic Council", None), (None, None),
])
def test_organ_names_in_chinese(organ, zh):
    assert organ_zh(organ) == zh


def test_states_and_authors_in_chinese():
    assert state_zh("Ukraine") == "乌克兰" and state_zh("the United Kingdom") == "大不列颠及北爱尔兰联合王国"
    assert author_zh("Permanent Mission of Ukraine to the United Nations") == "乌克兰常驻联合国代表团"
    assert author_zh("Permanent Representative of Saint Kitts and Nevis to the United Nations (Nerys Dockery)") == \
        "圣基茨和尼维斯常驻联合国代表"
    assert author_zh("Non-Aligned Movement") == "不结盟运动"
    assert author_zh("Group of Friends in Defense of the Charter of the United Nations (transmitted by the "
                     "Permanent Representative of Nicaragua)") == "捍卫《联合国宪章》之友小组"
    assert author_zh("Chair of the Disarmament Commission") == "裁军审议委员会主席"
    assert author_zh("巴勒斯坦人民行使不可剥夺权利委员会") == "巴勒斯坦人民行使不可剥夺权利委员会"
    assert author_zh("Somebody Unknown") is None and author_zh(None) is None


def test_the_organ_table_keeps_its_format():
    lines = (REPO / "rag" / "data" / "organs.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "zh\ten\taliases\tkind"
    for n, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        assert len(cells) == 4 and cells[0] and cells[1], n
        assert cells[3] in ("organ", "role", "office", "organization"), n
    names = [c for line in lines[1:] for c in [line.split("\t")[0]]]
    assert len(names) == len(set(names))
    for zh in ("裁军审议委员会", "巴勒斯坦人民行使不可剥夺权利委员会", "联合国宪章和加强联合国作用特别委员会", "欧洲经济委员会",
               "联合国难民事务高级专员办事处", "联合国毒品和犯罪问题办公室", "不结盟运动", "77国集团", "加勒比共同体", "秘书长"):
        assert zh in names
