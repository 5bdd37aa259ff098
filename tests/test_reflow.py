"""Reflow: the three layouts, page breaks, Latin words, offsets, paragraph numbers."""

from __future__ import annotations

import re

from rag.reflow import char_offsets, detect_layout, display_width, reflow, sub_paragraph

WS = re.compile(r"\s")


def _roundtrip(source: str, paragraphs) -> None:
    for p in paragraphs:
        assert WS.sub("", source[p.start:p.end]) == WS.sub("", p.text)


# meeting record: ~22 columns, blank line between lines, page-break line starts with a space
WRAPPED = (
    " 上午10时15分开会。\n\n"
    "通过议程\n\n"
    "近几十年来，冲突变得更加棘手和旷日持久。\n\n"  # indented first line, ends a sentence, continues
    "行为体成倍增加并且多样化，战争工具日益复杂，\n\n"
    "国内战争越来越国际化，使得解决这些问题变得更\n\n"
    "加复杂。\n\n"
    "75年来，联合国一直在适应和创新。维持和\n\n"
    "平理念本身就是可能性艺术的产物。但是，联合国\n"
    " 维和是在模拟世界中构想出来的。现在至关重要的\n\n"
    "是，联合国维和必须充分拥抱我们生活的数字世\n\n"
    "界。\n\n"
    "维持和平继续在印度确保国际和平与安全的愿\n\n"
    "景中发挥关键作用。为我们的联合国维和行动提供\n\n"
    "更大的清晰度、方向和专业性是这一愿景的核心。\n\n"  # full line ending a sentence ...
    "印度一直踊跃参与联合国维和行动，多年来在\n\n"  # ... followed by an indented first line
    "多达49个联合国维和特派团中部署了超过25万名官\n\n"
    "兵。\n"
)


def test_display_width_counts_ascii_half():
    assert display_width("维和") == 2
    assert display_width("S/2021") == 3
    assert display_width("75年来") == 3


def test_wrapped_layout_paragraphs():
    assert detect_layout(WRAPPED) == "wrapped"
    paras = reflow(WRAPPED)
    texts = [p.text for p in paras]
    assert texts[0] == "上午10时15分开会。"
    assert texts[1] == "通过议程"  # a very short line ends its paragraph
    assert texts[2].startswith("近几十年来") and texts[2].endswith("加复杂。")
    assert "旷日持久。行为体" in texts[2]  # the indented full first line does not end the paragraph
    assert len(paras) == 6
    assert texts[4].endswith("核心。") and texts[5].startswith("印度一直踊跃")
    _roundtrip(WRAPPED, paras)


def test_page_break_joins_without_space():
    paras = reflow(WRAPPED)
    page = next(p for p in paras if p.text.startswith("75年来"))
    assert "但是，联合国维和是在模拟世界中构想出来的" in page.text
    assert page.line == 13
    assert WRAPPED[page.start:page.start + 3] == "75年"
    assert WRAPPED[page.end - 2:page.end] == "界。"


def test_punctuation_at_line_start_continues_paragraph():
    src = "挪威欢迎《联合国维持和平数字化转型战略》\n\n。正如秘书长本人强调的那样，这项战略是对他所\n\n阐述的愿景的重要贡献。\n\n" * 3
    paras = reflow(src, layout="wrapped")
    assert paras[0].text.startswith("挪威欢迎《联合国维持和平数字化转型战略》。正如")


# 2012 letter / resolution: ~35 columns, trailing space marks the end of a paragraph
MARKED = (
    "   第 2518(2020)号决议 \n\n"
    " 谨致函阁下论及 2012 年 2 月 9 日澳大利亚和乌拉圭常驻联合国代表团在纽\n\n"
    "约共同主办的“第四次关于联合国维持和平行动中平民保护问题的讲习班”。 \n\n"
    " 13. 表示注意到秘书处正在努力制定一项战略，以更好地综合利用新技术加\n\n"
    "强安全和安保，改进态势感知，保护矩阵将各地区归为(a) “必须保护”、\n"
    "(b) “应当保护”，鼓励部队和警察派遣国及特派团支持新技术； \n"
    "  14. 请秘书长在安理会第 2378(2017)号决议规定的全面年度通报中报告关\n\n"
    " 于本决议所述问题的进展情况； \n\n"
    " 联海稳定团警察署副署长 Tabasky Diouf \n"
)


def test_marked_layout_paragraphs_and_numbers():
    assert detect_layout(MARKED) == "marked"
    paras = reflow(MARKED)
    assert [p.number for p in paras] == [None, None, "13", "14", None]
    assert paras[0].text == "第2518(2020)号决议"
    assert paras[1].text.startswith("谨致函阁下论及2012年2月9日澳大利亚")
    assert "在纽约共同主办" in paras[1].text
    assert paras[2].text.startswith("13. 表示注意到")
    assert "(b)“应当保护”" in paras[2].text  # "(b)" at a line start inside a paragraph is no new item
    assert paras[3].text.endswith("规定的全面年度通报中报告关于本决议所述问题的进展情况；")  # page break
    _roundtrip(MARKED, paras)


def test_marked_layout_keeps_spaces_only_between_latin_words():
    paras = reflow(MARKED)
    assert "2012年2月9日" in paras[1].text
    assert "第2378(2017)号决议" in paras[3].text
    assert paras[4].text == "联海稳定团警察署副署长Tabasky Diouf"


# concept note / presidential statement: one paragraph per line
LINES = (
    "2021年7月26日印度常驻联合国代表给秘书长的信\n\n"
    "邀请希望参会的会员国和观察员通过 e-deleGATE+门户网站的 eSpeakers 电子发言人模块提交约 500 字的书面发言(见附件)。\n\n"
    "3. 利用现代技术帮助维和特派团建立和保持态势感知，使他们有效和高效地执行任务并保护自己，该战略正在定稿中，它将追求四个目标：\n"
    " - (a) 推动创新，以创新定位维和行动，使维和行动不断发展并利用技术创新有效执行任务和保障安全；\n"
    "- 维和特派团可如何将技术纳入保护平民战略的设计和 implementation，特别是其预警和早期响应机制？\n"
    "“安全理事会表示严重关切针对许多维持和平特派团内联合国维持和平人员的安全威胁和蓄意攻击，安理会再次促请所有维持和平行动东道国迅速调查并有效\n\n\n\n"
    "起诉应对攻击联合国人员行为负责者，并向相关的部队和警察派遣国通报此类调查和起诉的进展情况。\n"
)


def test_lines_layout_paragraphs():
    assert detect_layout(LINES) == "lines"
    paras = reflow(LINES)
    assert [p.number for p in paras] == [None, None, "3", "(a)", None, None]
    assert "e-deleGATE+门户网站的 eSpeakers 电子发言人模块" in paras[1].text
    assert "设计和 implementation，" in paras[4].text
    assert paras[5].text.endswith("迅速调查并有效起诉应对攻击联合国人员行为负责者，并向相关的部队和警察派遣国通报此类调查和起诉的进展情况。")
    _roundtrip(LINES, paras)


def test_latin_words_split_by_a_line_break_keep_their_space():
    src = ("最后，我们赞扬启动联合国维和特派团的“Unite\n\n"
           "Aware”平台的倡议，以利用现代技术加强维和人员的安\n\n"
           "全。\n")
    paras = reflow(src, layout="wrapped")
    assert len(paras) == 1
    assert "“Unite Aware”平台" in paras[0].text
    _roundtrip(src, paras)


def test_char_offsets_and_sub_paragraph():
    paras = reflow(WRAPPED)
    page = next(p for p in paras if p.text.startswith("75年来"))
    offs = char_offsets(WRAPPED, page)
    k = page.text.index("维和是在")
    assert WRAPPED[offs[k]:offs[k] + 4] == "维和是在"
    sub = sub_paragraph(WRAPPED, page, k, len(page.text))
    assert sub is not None and sub.text.startswith("维和是在") and sub.line == 16
    assert WS.sub("", WRAPPED[sub.start:sub.end]) == WS.sub("", sub.text)
