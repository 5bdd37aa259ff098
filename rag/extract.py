"""Text out of a .txt, a PDF's text layer (rag.pdf_text) or a Word .docx (rag.docx_text), for
`rag add` (rag/add.py).

    extract(path) -> Extraction(text, head, source, pages, layout)

- `.txt`: stored as given (UTF-8, a UTF-8 BOM dropped, UTF-16 with a BOM decoded); the layout is
  left to the corpus reader's detection.
- `.pdf` (pypdfium2, the text layer only): characters with their boxes -> rows by baseline ->
  columns (a two-column page is detected from an empty vertical gutter that most rows respect;
  rows crossing it are full-width and cut the page into bands read band by band, left column first)
  -> running headers and footers dropped (page numbers, job numbers, barcodes, a symbol alone,
  the masthead's distribution lines, and any header/footer line repeated on two pages) ->
  paragraphs (a new one at a first-line indent or outdent, after a short line, or after a vertical
  gap wider than the line spacing) -> one paragraph per output line (`layout: paragraphs`).
- `.docx` (python-docx): the body's paragraphs and table cells in reading order, one per line;
  the page header (where the UN templates print the symbol) goes into `head` only.

`head` is what metadata detection (rag/metadata.py) reads: the first page's rows as printed,
masthead and symbol included. Every failure (encrypted, corrupt, no text layer, an unreadable
font, an unsupported type) is an ExtractionError naming the file, and the page when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.errors import ExtractionError

SUFFIXES = (".txt", ".pdf", ".docx")
HEAD_LINES = 40
MASTHEAD_ROWS = 8  # rows at the top of page 1 (PDF) or first paragraphs (Word): the masthead, in `head`


@dataclass(frozen=True)
class Extraction:
    text: str  # what is stored in corpus/: for PDF and Word one paragraph per line
    head: tuple[str, ...]  # the first page's lines as printed (masthead, symbol) for metadata detection
    source: str  # txt | pdf | docx
    pages: int | None = None
    layout: str | None = None  # "paragraphs" when the text has one paragraph per line


def extract(path: Path) -> Extraction:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExtractionError(f"{path}: unsupported file type {suffix or '(none)'!r}; "
                              f"use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise ExtractionError(f"{path}: file not found")
    out = _reader(suffix)(path)
    if not out.text.strip():
        raise ExtractionError(f"{path}: no text in the file")
    return out


def _reader(suffix: str):
    """The reader of a file type; PDF and Word readers (and their libraries) load on first use."""
    if suffix == ".pdf":
        from rag.pdf_text import read_pdf
        return read_pdf
    if suffix == ".docx":
        from rag.docx_text import read_docx
        return read_docx
    return _txt


# ---------------------------------------------------------------- plain text

def _txt(path: Path) -> Extraction:
    data = path.read_bytes()
    try:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ExtractionError(f"{path}: line {line}: not UTF-8 (byte 0x{data[e.start]:02x}); "
                              "convert it first, e.g. iconv -f GB18030 -t UTF-8") from e
    head = tuple(line.strip() for line in text.splitlines() if line.strip())[:HEAD_LINES]
    return Extraction(text=text, head=head, source="txt")
