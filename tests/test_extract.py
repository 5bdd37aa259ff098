"""Text out of .txt, PDF and Word files (rag/extract.py), on small files made here (tests/un_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ExtractionError
from rag.extract import extract
from un_docs import JOB_NUMBER, cjk_font, make_docx, make_pdf

LONG = ("安全理事会强调维和人员的安全和保障至关重要，" * 12) + "并请秘书长继续报告。"
PARAGRAPHS = [
    "联合国维持和平行动",
    "秘书长：我感谢印度召开这次辩论。" + "维和数字转型战略侧重于四个目标，第一是提高效率。" * 5,
    "戴兵先生（中国）：中方欢迎安理会通过主席声明（S/PRST/2021/17），支持充分利用技术工具。",
    LONG,
    "1.\t安全理事会决定继续积极处理此案。",
    "第一，新技术应用要以增进维和人员安全为重点。" * 4,
]


def squash(text: str) -> str:
    return "".join(text.split())


def paragraphs_of(text: str) -> list[str]:
    return [squash(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- .txt

def test_txt_is_kept_as_given_without_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeff联合国\r\n S/2021/681\r\n\r\n正文。\r\n".encode())
    out = extract(path)
    assert out.text == "联合国\r\n S/2021/681\r\n\r\n正文。\r\n"
    assert out.head == ("联合国", "S/2021/681", "正文。")
    assert (out.source, out.layout) == ("txt", None)


def test_txt_in_utf16_with_a_bom_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("安全理事会\n".encode("utf-16"))
    assert extract(path).text == "安全理事会\n"


def test_txt_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("第一行\n".encode() + "安全理事会\n".encode("gb18030"))
    with pytest.raises(ExtractionError, match=r"gbk\.txt: line 2: not UTF-8"):
        extract(path)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("a.doc", b"x", r"a\.doc: unsupported file type '\.doc'"),
    ("empty.txt", b" \n\n", r"empty\.txt: no text"),
    ("bad.pdf", b"%PDF-1.4 not really", r"bad\.pdf: PDF cannot be read"),
    ("bad.docx", b"PK not a zip", r"bad\.docx: not a readable Word \.docx file"),
])
def test_unreadable_files_are_named(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ExtractionError, match=message):
        extract(tmp_path / name)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"nope\.pdf: file not found"):
        extract(tmp_path / "nope.pdf")


# ---------------------------------------------------------------- PDF

@pytest.mark.parametrize("columns", [1, 2])
@pytest.mark.parametrize("space_after", [4.0, 0.0])
def test_pdf_paragraphs_come_out_whole_in_reading_order(tmp_path: Path, columns: int, space_after: float) -> None:
    paragraphs = PARAGRAPHS * 6  # several pages: paragraphs cross page and column breaks
    path = make_pdf(tmp_path / "doc.pdf", paragraphs, symbol="S/PV.8838", masthead=["安全理事会"],
                    columns=columns, space_after=space_after)
    out = extract(path)
    assert out.pages > 2 and out.layout == "paragraphs"
    assert paragraphs_of(out.text) == ["安全理事会"] + [squash(p) for p in paragraphs]


def test_pdf_running_header_footer_and_masthead_furniture_are_dropped(tmp_path: Path) -> None:
    out = extract(make_pdf(tmp_path / "doc.pdf", PARAGRAPHS * 6, symbol="S/PV.8838", masthead=["安全理事会"]))
    assert "S/PV.8838" not in out.text and "22456" not in out.text and "/" + str(out.pages) not in out.text
    assert "联合国" not in out.text.splitlines()
    assert out.head[0] == "联合国 S/PV.8838"  # the masthead as printed, for metadata detection
    assert JOB_NUMBER not in out.head[:2]


def test_pdf_english_words_keep_their_spaces(tmp_path: Path) -> None:
    english = ["Statement by the President of the Security Council",
               "The Security Council reaffirms its primary responsibility for the maintenance of international "
               "peace and security, and stresses the importance of the safety and security of peacekeepers. " * 3]
    out = extract(make_pdf(tmp_path / "en.pdf", english, symbol="S/PRST/2021/11"))
    assert out.text.splitlines() == [" ".join(p.split()) for p in english]


def test_pdf_without_text_layer_is_refused(tmp_path: Path) -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas
    from PIL import Image

    image = tmp_path / "scan.png"
    Image.new("RGB", (40, 40), "white").save(image)
    canvas = Canvas(str(tmp_path / "scan.pdf"))
    canvas.drawImage(ImageReader(str(image)), 100, 100, 200, 200)
    canvas.showPage()
    canvas.save()
    with pytest.raises(ExtractionError, match=r"scan\.pdf: (page 1 has no text layer|the PDF has no text layer)"):
        extract(tmp_path / "scan.pdf")


def test_blank_pdf_has_no_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas
    canvas = Canvas(str(tmp_path / "blank.pdf"))
    canvas.showPage()
    canvas.save()
    with pytest.raises(ExtractionError, match=r"blank\.pdf: the PDF has no text layer"):
        extract(tmp_path / "blank.pdf")


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas
    canvas = Canvas(str(tmp_path / "locked.pdf"), encrypt="secret")
    canvas.setFont(cjk_font(), 12)
    canvas.drawString(100, 700, "安全理事会")
    canvas.showPage()
    canvas.save()
    with pytest.raises(ExtractionError, match=r"locked\.pdf: PDF encrypted"):
        extract(tmp_path / "locked.pdf")


# ---------------------------------------------------------------- Word

def test_docx_paragraphs_tables_and_header(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "doc.docx", PARAGRAPHS, symbol="E/RES/2023/18", masthead=["经济及社会理事会"],
                     table=[["主席：", "尼昂先生 (塞内加尔)"], ["报告员：", "Pedroso Cuesta先生 (古巴)"]])
    out = extract(path)
    lines = out.text.splitlines()
    assert lines[0] == "经济及社会理事会"
    assert [squash(x) for x in lines[1:len(PARAGRAPHS) + 1]] == [squash(p) for p in PARAGRAPHS]
    assert lines[-2:] == ["主席： 尼昂先生 (塞内加尔)", "报告员： Pedroso Cuesta先生 (古巴)"]
    assert out.head[0] == "联合国 E/RES/2023/18"  # the page header, where UN templates print the symbol
    assert "E/RES/2023/18" not in out.text
    assert (out.source, out.layout) == ("docx", "paragraphs")


def test_docx_automatic_paragraph_numbers_are_written_out(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("经济及社会理事会，")
    for text in ("决定请会员国考虑。", "请秘书长报告。", "决定继续审议。"):
        document.add_paragraph(text, style="List Number")
    document.save(str(tmp_path / "numbered.docx"))
    assert extract(tmp_path / "numbered.docx").text.splitlines() == [
        "经济及社会理事会，", "1. 决定请会员国考虑。", "2. 请秘书长报告。", "3. 决定继续审议。"]


def test_docx_long_cells_stay_separate_paragraphs(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "t.docx", ["正文。"], table=[[LONG, "第二栏。"]])
    assert extract(path).text.splitlines()[-2:] == [LONG, "第二栏。"]
