"""Glossary: English question -> Chinese UN terms (rag/glossary.py, rag/data/glossary_en_zh.tsv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.glossary import GLOSSARY_FILE, Glossary, key, read_glossary
from rag.lexical import has_cjk

SMALL = """en\tzh
# a comment line
social media\t社交媒体
media\t媒体
company;companies\t公司;企业
improvised explosive device;ied\t简易爆炸装置
drone;unmanned aerial vehicle\t无人机;无人驾驶飞行器
country\t国家
troop-contributing country\t部队派遣国
woman;women\t妇女
deploy;deployed;deploying\t部署
peacekeeper\t维和人员
peacekeeping\t维持和平;维和
"""


def _glossary(tmp_path: Path, text: str = SMALL) -> Glossary:
    path = tmp_path / "g.tsv"
    path.write_text(text, encoding="utf-8")
    return Glossary(path)


@pytest.fixture(scope="module")
def shipped() -> Glossary:
    return Glossary()


def test_multiword_longest_match_wins(tmp_path):
    g = _glossary(tmp_path)
    assert g.terms("What did Kenya say about social media companies?") == ["社交媒体", "公司", "企业"]
    assert g.matches("Social media") == [("social media", ["社交媒体"])]
    assert g.terms("the media") == ["媒体"]
    assert g.terms("troop-contributing countries and other countries") == ["部队派遣国", "国家"]


def test_plurals_case_and_listed_variants(tmp_path):
    g = _glossary(tmp_path)
    assert g.terms("IEDs") == ["简易爆炸装置"]
    assert g.terms("Improvised Explosive Devices") == ["简易爆炸装置"]
    assert g.terms("UNMANNED AERIAL VEHICLES and drones") == ["无人机", "无人驾驶飞行器"]
    assert g.terms("many countries") == ["国家"]  # -y -> -ies
    assert g.terms("women deployed") == ["妇女", "部署"]
    assert g.terms("Peacekeepers") == ["维和人员"]


def test_separators_between_words_are_interchangeable(tmp_path):
    g = _glossary(tmp_path)
    assert g.terms("troop contributing countries") == ["部队派遣国"]
    assert g.terms("troop\u2013contributing country") == ["部队派遣国"]
    assert key("Troop-Contributing  Country") == "troop contributing country"


def test_word_boundaries(tmp_path):
    g = _glossary(tmp_path)
    assert g.terms("iedx xied ied2 multimedia") == []
    assert g.terms("peacekeeping") == ["维持和平", "维和"]  # not 维和人员 + leftover
    assert g.terms("the peacekeeper's helmet") == ["维和人员"]
    assert g.terms("(IED)") == ["简易爆炸装置"]


def test_matches_give_surfaces_in_order(tmp_path):
    g = _glossary(tmp_path)
    assert g.matches("Drones help peacekeepers find IEDs") == [
        ("drones", ["无人机", "无人驾驶飞行器"]),
        ("peacekeepers", ["维和人员"]),
        ("ieds", ["简易爆炸装置"]),
    ]
    assert g.matches("nothing relevant here") == []


def test_terms_are_deduplicated_in_order(tmp_path):
    g = _glossary(tmp_path)
    assert g.terms("drones, an unmanned aerial vehicle, and drones again") == ["无人机", "无人驾驶飞行器"]


def test_table_loads_lazily(tmp_path):
    g = Glossary(tmp_path / "missing.tsv")  # cheap constructor: nothing read yet
    with pytest.raises(FileNotFoundError):
        g.terms("drones")


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("drone\t无人机\textra", "expected 2 tab-separated cells"),
        ("drone", "expected 2 tab-separated cells"),
        ("\t无人机", "empty en cell"),
        ("drone\t ; ", "empty zh cell"),
        ("drone\tdrone", "must contain Chinese"),
        ("Drone\t无人机", "must be lowercase"),
    ],
)
def test_malformed_line_fails_naming_the_line(tmp_path, bad_line, message):
    g = _glossary(tmp_path, "en\tzh\nmedia\t媒体\n\n" + bad_line + "\n")
    with pytest.raises(ValueError, match=rf"g\.tsv:4: .*{message}"):
        g.terms("media")


def test_bad_header_and_duplicate_variant_fail(tmp_path):
    with pytest.raises(ValueError, match=r"g\.tsv:1: expected the header"):
        _glossary(tmp_path, "english\tchinese\nmedia\t媒体\n").terms("media")
    dup = "en\tzh\ncapacity-building\t能力建设\nmedia\t媒体\ncapacity building;cb\t能力\n"
    with pytest.raises(ValueError, match=r"g\.tsv:4: en variant 'capacity building' already listed on line 2"):
        _glossary(tmp_path, dup).terms("media")


def test_listed_variant_beats_generated_plural(tmp_path):
    g = _glossary(tmp_path, "en\tzh\narm\t手臂\narms\t武器\n")
    assert g.terms("arms") == ["武器"]
    assert g.terms("arm") == ["手臂"]


# ------------------------------------------------------------------ the shipped table

def test_shipped_table_size_and_chinese(shipped):
    rows = read_glossary(GLOSSARY_FILE)
    assert 300 <= len(rows) <= 500
    assert len(shipped) == len(rows)
    for n, en, zh in rows:
        assert all(has_cjk(t) for t in zh), (n, zh)
        assert not any(has_cjk(v) for v in en), (n, en)


def test_shipped_table_has_no_duplicate_en_variants():
    seen: dict[str, int] = {}
    for n, en, _ in read_glossary(GLOSSARY_FILE):
        for variant in en:
            assert key(variant) not in seen, f"{variant!r} on lines {seen.get(key(variant))} and {n}"
            seen[key(variant)] = n


def test_shipped_table_core_vocabulary(shipped):
    t = shipped.terms
    assert t("What did Kenya say about social media companies?")[:1] == ["社交媒体"]
    assert "公司" in t("social media companies")
    assert "和平行动部" in t("the Department of Peace Operations")
    assert "行动支助部" in t("Department of Operational Support")
    assert "部队派遣国" in t("troop-contributing countries")
    assert "警察派遣国" in t("police-contributing countries")
    assert "东道国" in t("host States")
    assert "简易爆炸装置" in t("counter IEDs")
    assert "伤员后送" in t("casualty evacuation")
    assert "医疗后送" in t("medevac")
    assert "部队地位协定" in t("status-of-forces agreements")
    assert "以行动促维和" in t("Action for Peacekeeping (A4P)")
    assert "联合感知" in t("Unite Aware")
    assert "无人机" in t("unmanned aerial vehicles")
    assert "柴油发电机" in t("diesel generators")
    assert "可再生能源" in t("renewable energy")
    assert "马里稳定团" in t("MINUSMA")
    assert "联黎部队" in t("UNIFIL")
    assert "有罪不罚" in t("impunity")
    assert {"错误信息", "虚假信息"} <= set(t("misinformation and disinformation"))
    assert t("Which country said what?") == ["国家"]  # question words are not terms


def test_verb_forms_of_the_last_word() -> None:
    from rag.glossary import verb_forms
    assert verb_forms("chair") == ["chaired", "chairing"]
    assert verb_forms("provide") == ["provided", "providing"]
    assert set(verb_forms("submit")) >= {"submitted", "submitting"}
    assert verb_forms("deploy") == ["deployed", "deploying"]
    assert verb_forms("supply") == ["supplied", "supplying"]
    assert verb_forms("open debate")[0] == "open debated"  # only the last word inflects
    assert verb_forms("10-1-2") == [] and verb_forms("un") == []
