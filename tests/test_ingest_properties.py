"""Property tests over reflow, speakers and chunks: on any text, every kind and layout, with any
line ends, chunking raises nothing but the project's own errors, and the offset and coverage
invariants hold on the text as stored."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunks import chunk_document
from rag.errors import RagError
from rag.kinds import KINDS
from rag.records import Document
from rag.reflow import LAYOUTS

WS = re.compile(r"\s")
PIECES = ["主席说，", "Mansour先生(巴勒斯坦国观察员)说，", "戴兵先生（中国）：", "主席(以英语发言)：", "我现在以印度外交部长的身份发言。",
          "2. ", "(a) ", "通过议程", "上午10时10分宣布开会。", "经济及社会理事会，", "一.", "维和人员的安全。", "，", "。", "；",
          "内里斯·多克里(签名)", "\n", "\r\n", "\r", "\n\n", " ", "\t", "\u3000", "\ufeff", "The Council,", "“", "”", "A/78/35"]
TEXT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), min_size=1, max_size=60).map("".join)


def _doc(kind: str, layout: str | None) -> Document:
    return Document(id="p", symbol=None, type=kind, organ="Economic and Social Council", date="2023-01-01",
                    title_zh="2023年1月1日乌克兰常驻联合国代表团给秘书长的普通照会", title_en=None, author=None, file="p.txt",
                    layout=layout)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, kind=st.sampled_from(list(KINDS)), layout=st.sampled_from([None, *LAYOUTS]),
       english=st.one_of(st.none(), TEXT), max_chars=st.integers(50, 120))
def test_chunking_any_text_keeps_the_invariants(text, kind, layout, english, max_chars):
    try:
        chunks = chunk_document(_doc(kind, layout), text, max_chars=max_chars, translation=english)
    except (ValueError, RagError):
        return  # a record without any speaker, a document without a voice: the project's own errors
    covered = [0] * len(text)
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text)
        assert WS.sub("", text[c.start:c.end]) == WS.sub("", c.text) and c.text == c.text.strip()
        assert len(c.text) <= max_chars
        assert c.role in ("body", "heading", "front_matter")
        assert (c.turn is None) or c.speaker
        if c.text_en is not None:
            assert english is not None and 0 <= c.en_start < c.en_end <= len(english)
        for i in range(c.start, c.end):
            covered[i] += 1
    assert all(n <= 1 for n in covered)
    if kind != "meeting_record":  # verbatim headers are cut out; everything else is covered once
        assert all(covered[i] == 1 for i, ch in enumerate(text) if not ch.isspace() and ch != "\ufeff")
