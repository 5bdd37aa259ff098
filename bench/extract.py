"""PDF extraction: rag.extract against pypdfium2's plain page text, on UN-style PDFs made from the
ten 2023 Chinese texts (one paragraph per line; tests/un_docs.py lays them out with a masthead,
running headers and footers, in one and in two columns). Prints numbers; asserts nothing.

    .venv/bin/python bench/extract.py

- intact: source paragraphs whose text (whitespace aside) comes out contiguous and in order;
- exact: source paragraphs that come out as exactly one output line (paragraph breaks kept);
- ms/page: wall time per page (noisy on a shared machine: compare the two rows, not absolute values).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from rag.extract import extract  # noqa: E402
from un_docs import make_pdf  # noqa: E402

SOURCES = REPO / "corpus"  # the ten 2023 texts are in the bundled corpus


def squash(text: str) -> str:
    return "".join(text.split())


def intact(paragraphs: list[str], text: str) -> int:
    """Paragraphs found in order as contiguous text."""
    flat, at, found = squash(text), 0, 0
    for p in paragraphs:
        i = flat.find(squash(p), at)
        if i >= 0:
            found, at = found + 1, i + len(squash(p))
    return found


def exact(paragraphs: list[str], text: str) -> int:
    lines = {squash(line) for line in text.splitlines()}
    return sum(squash(p) in lines for p in paragraphs)


def pdfium_text(path: Path) -> str:
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def timed(fn, path: Path, repeat: int = 3) -> tuple[str, float]:
    best, out = float("inf"), ""
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(path)
        best = min(best, time.perf_counter() - t)
    return out, best


def main() -> None:
    texts = [f for f in sorted(SOURCES.glob("1??_*.txt")) if not f.name.endswith(".en.txt")]  # the 2023 ten
    paragraphs = [line for f in texts for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"{len(paragraphs)} paragraphs from {len(texts)} texts")
    print(f"{'layout':10} {'extractor':18} {'pages':>5} {'intact':>9} {'exact':>9} {'ms/page':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for columns in (1, 2):
            pdf = make_pdf(Path(tmp) / f"c{columns}.pdf", paragraphs, symbol="E/RES/2023/18",
                           masthead=["经济及社会理事会"], columns=columns)
            ours, t_ours = timed(lambda p: extract(p).text, pdf)
            pages = extract(pdf).pages
            plain, t_plain = timed(pdfium_text, pdf)
            for name, text, seconds in (("pypdfium2 text", plain, t_plain), ("rag.extract", ours, t_ours)):
                print(f"{columns} column{'s' if columns > 1 else ' '} {name:18} {pages:5d} "
                      f"{intact(paragraphs, text):4d}/{len(paragraphs)} {exact(paragraphs, text):4d}/{len(paragraphs)} "
                      f"{seconds * 1000 / pages:8.1f}")


if __name__ == "__main__":
    main()
