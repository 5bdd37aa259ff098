"""Headings and front matter: their own role, never glued to body text."""

from __future__ import annotations

import pytest

from rag.records import Paragraph
from rag.roles import is_heading, is_masthead, is_organ_line, roles


@pytest.mark.parametrize("text", ["通过议程", "秘书长特别代表", "2023年2月7日圣基茨和尼维斯常驻联合国代表给经济及社会理事会主席的信", "透明度和建立信任措施", "附件", "第43次全体会议", "2023年7月25日", "一.", "II.",
                                  "经济及社会理事会，", "大会，", "The General Assembly,", "Introduction",
                                  "[根据欧洲经济委员会的建议(E/2023/15/Add.1)通过]", "G (70)号决定",
                                  "审议委员会提交大会的报告草稿(A/78/35)", "主席：尼昂先生 (塞内加尔)"])
def test_headings(text):
    assert is_heading(text)


@pytest.mark.parametrize("text", ["1. 议程通过。", "就这样决定。", "建议大会通过下列决议草案：", "内里斯·多克里(签名)",
                                  "- 联合国秘书长", "重申一切形式和表现的恐怖主义是对国际和平与安全的最严重威胁之一，",
                                  "The agenda was adopted.", "常驻代表", "尼加拉瓜共和国常驻联合国代表",
                                  "Permanent Representative", "Chargé d'affaires a.i.",
                                  "维和" * 50])
def test_not_headings(text):
    assert not is_heading(text)


def test_organ_lines_and_mastheads():
    assert is_organ_line("欧洲经济委员会，") and not is_organ_line("欧洲经济委员会")
    assert all(is_masthead(t) for t in ("联合国", "经济及社会理事会", "大 会", "2023年届会", "议程项目19 (e)",
                                        "2022年7月25日至2023年7月26日", "E/RES/2023/18", "United Nations"))
    assert not is_masthead("联合国毒品和犯罪问题办公室在反恐方面提供的技术援助")


def _paras(*texts: str) -> list[Paragraph]:
    return [Paragraph(t, i * 100, i * 100 + len(t), i + 1) for i, t in enumerate(texts)]


def test_roles_of_a_resolution():
    found = roles(_paras("2023年届会", "议程项目15", "区域合作", "2023年7月25日经济及社会理事会决议",
                         "[根据欧洲经济委员会的建议(E/2023/15/Add.1)通过]", "经济及社会理事会，",
                         "注意到欧洲经济委员会在第七十届会议上核可了指南，", "决定请会员国考虑采取适当措施。",
                         "第43次全体会议", "联合国", "经济及社会理事会"))
    assert found == ["front_matter"] * 5 + ["heading", "body", "body", "heading", "front_matter", "front_matter"]


def test_roles_of_a_record_and_a_working_paper():
    record = roles(_paras("巴勒斯坦人民行使不可剥夺权利委员会", "第413次会议简要记录", "主席：尼昂先生 (塞内加尔)", "目录",
                          "通过议程", "上午10时10分宣布开会。", "通过议程", "1. 议程通过。"))
    assert record == ["front_matter"] * 5 + ["body", "heading", "body"]
    paper = roles(_paras("裁军审议委员会", "第一工作组主席提交的工作文件", "一.", "导言", "裁军审议委员会通过了议程。"))
    assert paper == ["front_matter", "front_matter", "heading", "heading", "body"]


def test_list_entries_after_a_lead_in_are_body():
    found = roles(_paras("正文开始了。", "讨论小组的发言者：", "卢旺达常驻联合国代表、大使尤金-理查德·加萨纳", "达尔富尔混合行动参谋长马马杜·索乌",
                         "正文继续。", "结论", "正文。"))
    assert found == ["body", "body", "body", "body", "body", "heading", "body"]  # the list ends at a sentence
