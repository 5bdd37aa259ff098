"""Chunking speed on generated inputs: the shapes that used to be quadratic (issue 10).

    .venv/bin/python bench/chunking.py [--mb 5]

Prints, for each input, its size, the seconds chunk_document took (best of 2) and the characters
per second. Chunking should be linear: the per-character rate should stay about the same when
--mb doubles. A benchmark that prints numbers, not a timed test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.chunks import chunk_document  # noqa: E402
from rag.records import Document  # noqa: E402

SPEECH = "我们欢迎秘书长关于维持和平行动中使用新技术的报告，并支持加强维和人员的安全与安保。"


def _doc(kind: str, layout: str | None) -> Document:
    return Document(id="bench", symbol=None, type=kind, organ="Security Council", date="2021-08-18",
                    title_zh="2021年7月26日印度常驻联合国代表给秘书长的信", title_en=None, author=None,
                    file="bench.txt", layout=layout)


def stops_paragraph(n: int) -> tuple[str, Document]:
    """One paragraph of n sentences ending in 。 (the issue's 20k-。 paragraph)."""
    return "".join(f"第{i}点。" for i in range(n)) + "\n", _doc("letter", "paragraphs")


def one_line(chars: int) -> tuple[str, Document]:
    """One unbroken line without any sentence end."""
    return ("维和" * (chars // 2)) + "\n", _doc("letter", "paragraphs")


def wrapped_record(chars: int) -> tuple[str, Document]:
    """A verbatim meeting record wrapped at 22 columns with a blank line between lines."""
    turns, size, i = [], 0, 0
    while size < chars:
        speech = f"戴兵先生（中国）：{SPEECH * 6}" if i % 2 else f"主席(以英语发言)：{SPEECH * 3}"
        lines = [speech[k:k + 22] for k in range(0, len(speech), 22)]
        turns.append("\n\n".join(lines))
        size += len(turns[-1]) + 2
        i += 1
    return "上午10时15分开会。\n\n" + "\n\n".join(turns) + "\n", _doc("meeting_record", None)


def summary_segments(chars: int) -> tuple[str, Document]:
    """A summary record, one segment per line, numbered paragraphs and speakers."""
    lines, size, n = ["主席：尼昂先生 (塞内加尔)", "上午10时10分宣布开会。"], 0, 1
    while size < chars:
        lines += [f"{n}. Mansour先生(巴勒斯坦国观察员)说，{SPEECH}", SPEECH, SPEECH, "主席说，" + SPEECH]
        size += sum(len(x) + 1 for x in lines[-4:])
        n += 1
    doc = _doc("summary_record", "segments")
    return "\n".join(lines) + "\n", Document(**{**doc.__dict__, "organ": "Committee on the Exercise of the "
                                              "Inalienable Rights of the Palestinian People"})


def timed(text: str, doc: Document) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(2):
        t0 = time.perf_counter()
        n = len(chunk_document(doc, text))
        best = min(best, time.perf_counter() - t0)
    return best, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=5.0, help="size of the large generated files in MB (UTF-8)")
    args = ap.parse_args()
    chars = int(args.mb * 1_000_000 / 3)  # CJK characters are 3 bytes in UTF-8
    cases = [("20k sentences in one paragraph", *stops_paragraph(20_000)),
             ("one line of 1M characters", *one_line(1_000_000)),
             (f"verbatim record, wrapped, {args.mb:g} MB", *wrapped_record(chars)),
             (f"summary record, segments, {args.mb:g} MB", *summary_segments(chars))]
    print(f"{'input':40} {'MB':>6} {'chunks':>7} {'seconds':>8} {'kchars/s':>9}")
    for name, text, doc in cases:
        seconds, n = timed(text, doc)
        mb = len(text.encode("utf-8")) / 1e6
        print(f"{name:40} {mb:6.2f} {n:7d} {seconds:8.2f} {len(text) / seconds / 1000:9.0f}")


if __name__ == "__main__":
    main()
