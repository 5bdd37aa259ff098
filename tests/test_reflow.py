"""Reflow: the three layouts (and the two PDF variants), page breaks, Latin words, segments and
their grouping, CRLF/CR/BOM/tab/wide-space normalisation with offsets into the stored text,
paragraph numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag.normalize import normalize
from rag.reflow import (Offsets, char_offsets, check_layout, detect_layout, display_width, group_segments, reflow,
                        sub_paragraph, units)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

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
    assert detect_layout(WRAPPED) == "pdf_wrapped"
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
    assert detect_layout(MARKED) == "pdf_wrapped"
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
    paras = reflow(LINES, layout="paragraphs")
    assert reflow(LINES, layout="lines") == paras  # the old internal name still reads
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


# --- layout detection on the real files ----------------------------------------------------------

def _manifest() -> list[dict]:
    return json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))["documents"]


def test_detected_layouts_of_the_real_files():
    expected = {"000_e4646aa08b16e44c.txt": "pdf_wrapped", "001_b58583f89434a69b.txt": "paragraphs",
                "002_99a3dbd648b90818.txt": "paragraphs", "003_66b0234b9bc52c3d.txt": "pdf_wrapped",
                "004_7f5882877200526b.txt": "pdf_wrapped"}
    for entry in _manifest():
        text = (CORPUS / entry["file"]).read_text(encoding="utf-8")
        assert detect_layout(text) == expected.get(entry["file"], "segments"), entry["file"]
        for name in (entry.get("translations") or {}).values():  # the English columns too
            assert detect_layout((CORPUS / name).read_text(encoding="utf-8")) == "segments", name


def test_layout_names_are_checked():
    assert check_layout("wrapped") == check_layout("marked") == "pdf_wrapped"
    assert check_layout("lines") == "paragraphs" and check_layout(None) is None
    with pytest.raises(ValueError, match="pdf_wrapped, paragraphs, segments"):
        reflow("正文。\n", layout="columns")


# --- segments: one line each, numbered paragraphs absorb the lines after them ---------------------

SEGMENTS = "\n".join([
    "巴勒斯坦人民行使不可剥夺权利委员会",
    "2023年8月30日星期三上午10时在纽约总部举行",
    "主席：尼昂先生 (塞内加尔)",
    "2. Mansour先生(巴勒斯坦国观察员)说，局势令人沮丧。",
    "根据人道主义事务协调厅的数据，被杀害的人数已经超过2022年。",
    "3. 以色列目前由其历史上最极端的右翼政府领导。",
    "一位部长发表了一份宣言。",
    "通报委员会委托开展的研究的结果",
    "主席说，委员会已于2021年委托开展一项独立研究。",
    "重申一切形式和表现的恐怖主义是最严重威胁之一，",
    "还重申不可也不应将恐怖主义与任何宗教联系起来，",
]) + "\n"


def test_segments_lines_are_units_and_headings_stay_apart():
    found = units(SEGMENTS, "segments")
    assert len(found) == 11 and [u.line for u in found] == list(range(1, 12))
    paras = reflow(SEGMENTS, layout="segments")
    texts = [p.text for p in paras]
    # the glued heading of the old reading (`…在纽约总部举行主席：尼昂先生 (塞内加尔)`) is two paragraphs
    assert texts[1] == "2023年8月30日星期三上午10时在纽约总部举行" and texts[2] == "主席：尼昂先生 (塞内加尔)"
    assert texts[3] == "2. Mansour先生(巴勒斯坦国观察员)说，局势令人沮丧。根据人道主义事务协调厅的数据，被杀害的人数已经超过2022年。"
    assert paras[3].number == "2" and paras[4].number == "3" and texts[4].endswith("一位部长发表了一份宣言。")
    assert texts[5] == "通报委员会委托开展的研究的结果"  # a heading closes the numbered paragraph
    # unnumbered lines after a heading, and preambular lines ending in "，", are paragraphs of their own
    assert texts[6:] == ["主席说，委员会已于2021年委托开展一项独立研究。", "重申一切形式和表现的恐怖主义是最严重威胁之一，",
                         "还重申不可也不应将恐怖主义与任何宗教联系起来，"]
    _roundtrip(SEGMENTS, paras)


def test_segments_boundary_opens_and_isolates_lines():
    def boundary(text: str) -> str | None:
        return "open" if text.startswith("主席说") else "alone" if text == "就这样决定。" else None

    src = "主席说，第一句。\n第二句。\n就这样决定。\n第三句。\n"
    paras = reflow(src, layout="segments", boundary=boundary)
    assert [p.text for p in paras] == ["主席说，第一句。第二句。", "就这样决定。", "第三句。"]
    assert group_segments(units(src, "segments")) == units(src, "segments")  # nothing opens: all alone


def test_resolution_preambular_paragraphs_are_their_own_paragraphs():
    entry = next(e for e in _manifest() if e["file"].startswith("107_"))
    text = (CORPUS / entry["file"]).read_text(encoding="utf-8")
    paras = reflow(text)  # detected: segments
    preamble = [p for p in paras if p.text.endswith("，")]
    assert len(preamble) >= 20  # 13 paragraphs became 1 when the file was read as a PDF
    assert all(p.text.count("\n") == 0 and text[p.start:p.end] == p.text for p in preamble)


# --- normalisation: CRLF, CR, BOM, tabs, wide spaces --------------------------------------------

def test_normalize_maps_back_to_the_stored_text():
    raw = "\ufeff第一行\r\n\r\n第二\t行\u3000。\r第三行\n"
    n = normalize(raw)
    assert n.text == "第一行\n\n第二 行 。\n第三行\n"
    for i, c in enumerate(n.text):
        r = n.raw_start(i)
        assert raw[r] == c or (c == " " and raw[r] in "\t\u3000") or (c == "\n" and raw[r] in "\r\n")
    assert raw[:n.raw_end(3)] == "\ufeff第一行" and n.raw_end(len(n.text)) == len(raw)


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_crlf_and_cr_give_the_same_paragraphs_with_stored_offsets(ending):
    for src in (WRAPPED, MARKED, LINES, SEGMENTS):
        stored = "\ufeff" + src.replace("\n", ending)
        lf, other = reflow(src), reflow(stored)
        assert detect_layout(stored) == detect_layout(src)
        assert [(p.text, p.line, p.number) for p in other] == [(p.text, p.line, p.number) for p in lf]
        _roundtrip(stored, other)
        assert all(not stored[p.start].isspace() and not stored[p.end - 1].isspace() for p in other)


def test_tabs_and_wide_spaces_do_not_change_the_reading():
    src = SEGMENTS.replace(" (塞内加尔)", "\t(塞内加尔)").replace("2. ", "2.\u3000")
    paras = reflow(src, layout="segments")
    assert paras[2].text == "主席：尼昂先生 (塞内加尔)" and paras[3].number == "2"
    _roundtrip(src, paras)


def test_offsets_pieces_on_crlf_text():
    stored = "第一句话在这里。第二句\r\n话在这里。\r\n第三句。 \r\n"  # the 35-column variant: a trailing space ends it
    [para] = reflow(stored, layout="pdf_wrapped")
    offs = Offsets(stored, para)
    k = para.text.index("第二句")
    piece = offs.piece(k, len(para.text))
    assert piece.text == "第二句话在这里。第三句。" and stored[piece.start:piece.start + 3] == "第二句"
    assert piece.end == len(stored.rstrip()) and piece.line == 1
    assert para.text == "第一句话在这里。第二句话在这里。第三句。"
    assert offs.piece(len(para.text) - 4, len(para.text)).line == 3
    assert char_offsets(stored, para)[k] == piece.start
