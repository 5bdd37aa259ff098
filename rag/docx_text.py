"""A Word .docx, for `rag add` (see rag.extract): python-docx's body paragraphs and table cells in
reading order, one per line, automatic numbering written out; the page header goes into `head`."""

from __future__ import annotations

import zipfile
from pathlib import Path

from rag.errors import ExtractionError
from rag.extract import MASTHEAD_ROWS, Extraction


def read_docx(path: Path) -> Extraction:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ExtractionError(f"{path}: not a readable Word .docx file ({e})") from e
    numbering = _Numbering(document)
    body = [t for t in _block_texts(document.element.body, numbering) if t]
    header: list[str] = []
    for part in (document.sections[0].first_page_header, document.sections[0].header) if document.sections else ():
        if not part.is_linked_to_previous:  # a header this section defines
            header += [t for t in _block_texts(part._element, numbering) if t]
    head = tuple(dict.fromkeys(header)) + tuple(body)
    return Extraction(text="\n".join(body) + "\n", head=head[:MASTHEAD_ROWS + len(header)], source="docx",
                      layout="paragraphs")


def _block_texts(element, numbering: _Numbering) -> list[str]:
    """Paragraph texts of a body, header or cell in document order. Tables are read row by row:
    a row of one-line cells (a layout table: `主席：` | `尼昂先生 (塞内加尔)`) becomes one line, the
    cells of other rows one paragraph each. Content controls are opened."""
    from docx.oxml.ns import qn
    out: list[str] = []
    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            out.append(numbering.label(child) + _paragraph_text(child))
        elif child.tag == qn("w:tbl"):
            for row in child.iterchildren(qn("w:tr")):
                cells = [[t for t in _block_texts(cell, numbering) if t] for cell in row.iterchildren(qn("w:tc"))]
                if all(len(c) <= 1 and len(c[0] if c else "") <= 60 for c in cells):
                    out.append(" ".join(c[0] for c in cells if c))
                else:
                    out += [t for c in cells for t in c]
        elif child.tag == qn("w:sdt"):
            for content in child.iterchildren(qn("w:sdtContent")):
                out += _block_texts(content, numbering)
    return out


def _paragraph_text(p) -> str:
    from docx.oxml.ns import qn
    parts: list[str] = []
    for node in p.iter(qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:noBreakHyphen")):
        if node.tag == qn("w:t"):
            parts.append(node.text or "")
        elif node.tag == qn("w:noBreakHyphen"):
            parts.append("-")
        else:
            parts.append(" ")
    return " ".join("".join(parts).split())


class _Numbering:
    """Word's automatic paragraph numbers (`1.`, `(a)`, `一、`), which python-docx does not render:
    counted per list and level from numbering.xml (start value, format, level text)."""

    FORMATS = {
        "decimal": str, "lowerLetter": lambda n: _letters(n).lower(), "upperLetter": lambda n: _letters(n),
        "lowerRoman": lambda n: _roman(n).lower(), "upperRoman": lambda n: _roman(n),
        "chineseCounting": lambda n: _chinese(n), "chineseCountingThousand": lambda n: _chinese(n),
        "ideographTraditional": lambda n: "甲乙丙丁戊己庚辛壬癸"[(n - 1) % 10],
    }

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn
        self.levels: dict[str, dict[int, tuple[int, str, str]]] = {}  # numId -> ilvl -> (start, fmt, text)
        self.counts: dict[str, list[int]] = {}
        self.styles = {}  # styleId -> the numPr a paragraph style carries (List Number, ...)
        for style in document.styles.element.iterchildren(qn("w:style")):
            num_pr = style.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
            if num_pr is not None:
                self.styles[style.get(qn("w:styleId"))] = num_pr
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract = {a.get(qn("w:abstractNumId")): a for a in root.iterchildren(qn("w:abstractNum"))}
        for num in root.iterchildren(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            a = abstract.get(ref.get(qn("w:val")) if ref is not None else None)
            if a is None:
                continue
            levels = {}
            for lvl in a.iterchildren(qn("w:lvl")):
                start, fmt, text = (lvl.find(qn(f"w:{k}")) for k in ("start", "numFmt", "lvlText"))
                levels[int(lvl.get(qn("w:ilvl")))] = (
                    int(start.get(qn("w:val"))) if start is not None else 1,
                    fmt.get(qn("w:val")) if fmt is not None else "decimal",
                    text.get(qn("w:val")) if text is not None else "")
            self.levels[num.get(qn("w:numId"))] = levels

    def label(self, p) -> str:
        """The number Word would print before this paragraph, with a space; "" when none."""
        from docx.oxml.ns import qn
        num_pr = p.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
        if num_pr is None:
            style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
            num_pr = self.styles.get(style.get(qn("w:val")) if style is not None else None)
        if num_pr is None:
            return ""
        num_id, ilvl = num_pr.find(qn("w:numId")), num_pr.find(qn("w:ilvl"))
        levels = self.levels.get(num_id.get(qn("w:val")) if num_id is not None else None)
        level = int(ilvl.get(qn("w:val"))) if ilvl is not None else 0
        if not levels or level not in levels:
            return ""
        counts = self.counts.setdefault(num_id.get(qn("w:val")), [0] * 9)
        counts[level] += 1
        counts[level + 1:] = [0] * (8 - level)
        text = levels[level][2]
        for k in range(level + 1):
            start, fmt, _ = levels.get(k, (1, "decimal", ""))
            value = start + max(counts[k], 1) - 1
            text = text.replace(f"%{k + 1}", self.FORMATS.get(fmt, str)(value) if fmt != "bullet" else "")
        return f"{text} " if text.strip() and levels[level][1] not in ("bullet", "none") else ""


def _letters(n: int) -> str:
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _roman(n: int) -> str:
    out = ""
    for value, digits in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, n = divmod(n, value)
        out += digits * count
    return out


def _chinese(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n >= 100:
        return str(n)
    tens, ones = divmod(n, 10)
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")
