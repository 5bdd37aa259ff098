"""Chunks: splitting, merging, labels; integration over the five real documents."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from rag.chunks import CHUNKER_VERSION, SEGMENT_CHARS, chunk_corpus, chunk_document, sentence_cuts
from rag.corpus import CorpusError, read_source
from rag.records import Chunk, Document
from rag.reflow import reflow
from rag.speakers import split_record

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
WS = re.compile(r"\s")


def _doc(type_: str = "meeting_record", **over) -> Document:
    base = dict(id="d", symbol="S/1", type=type_, organ="Security Council", date="2021-08-18",
                title_zh="2021年7月26日印度常驻联合国代表给秘书长的信", title_en="t", author=None, file="d.txt")
    return Document(**(base | over))


def test_sentence_cuts_split_long_text_at_sentence_ends():
    text = "".join(f"第{i}句话在这里说明一些关于维和的内容。" for i in range(40))  # 40 sentences
    cuts = sentence_cuts(text, 200)
    pieces = [text[i:j] for i, j in zip(cuts, cuts[1:])]
    assert "".join(pieces) == text
    assert all(len(p) <= 200 for p in pieces) and len(pieces) == -(-len(text) // 200)
    assert all(p.endswith("。") for p in pieces)


def test_sentence_cuts_keep_closing_quotes_and_fall_back_without_sentence_end():
    text = "他说：“" + "维和" * 60 + "。”" + "这是第二句话。" * 20
    cuts = sentence_cuts(text, 130)
    assert text[cuts[1] - 2:cuts[1]] == "。”"
    nocut = "维和人员，" * 50
    cuts = sentence_cuts(nocut, 100)
    assert all(j - i <= 100 for i, j in zip(cuts, cuts[1:])) and nocut[cuts[1] - 1] == "，"


MEETING = "\n\n".join([
    "上午10时15分开会。",
    "主席(以英语发言)：安全理事会现在开始审议其议程上的项目。",
    "我请爱沙尼亚外交部长发言。",
    "利梅茨女士（爱沙尼亚)(以英语发言):首先，请允许我感谢印度召开本次高级别公开辩论会。",
    "好。",
    "正如已经强调的那样，" + "将相关的现有技术和新技术纳入维和特派团能够加强任务授权的履行。" * 12,
    "谢谢。",
    "主席(以英语发言)：我现在请美利坚合众国常驻代表发言。",
]) + "\n"


def test_meeting_chunks_never_cross_turns_and_merge_short_paragraphs():
    chunks = chunk_document(_doc(), MEETING, max_chars=200)
    assert chunks[0].speaker is None and chunks[0].turn is None and chunks[0].text == "上午10时15分开会。"
    assert chunks[1].speaker == "主席" and "\n我请爱沙尼亚外交部长发言。" in chunks[1].text  # merged, same turn
    estonia = [c for c in chunks if c.turn == 1]
    assert all(c.speaker == "利梅茨女士（爱沙尼亚）" for c in estonia)
    assert estonia[0].paragraph == "p4-p5" and estonia[0].text.endswith("辩论会。\n好。")
    assert all(len(c.text) <= 200 for c in chunks)
    long_parts = [c for c in estonia if c.paragraph == "p6"]
    assert len(long_parts) >= 2 and all(c.text.endswith("。") for c in long_parts[:-1])
    assert estonia[-1].text.endswith("谢谢。")  # a short last paragraph has no next one: it joins nothing
    assert chunks[-1].turn == 2 and chunks[-1].speaker == "主席"
    for c in chunks:
        assert WS.sub("", MEETING[c.start:c.end]) == WS.sub("", c.text)


def test_numbered_paragraphs_keep_their_number_and_are_never_merged():
    long = "维和特派团必须能够快速行动，从广泛的公开可得来源获取、验证和融合信息，以增加对局势的了解。"
    text = "\n\n".join(["概念说明", "1. " + long, "2. 短。", "3. 目标如下：" + long, " - (a) 推动创新；" + long,
                       " - (b) 发挥潜力。" + long, "形式", "这次活动将采取高级别公开辩论的形式。" + long]) + "\n"
    chunks = chunk_document(_doc("letter"), text)
    assert [c.paragraph for c in chunks] == ["p1", "1", "2", "3", "3(a)", "3(b)", "p7", "p8"]
    assert [c.role for c in chunks] == ["front_matter"] + ["body"] * 5 + ["heading", "body"]
    assert chunks[0].text == "概念说明" and chunks[1].text.startswith("1. 维和特派团")  # never glued to the body
    assert chunks[2].text == "2. 短。"  # numbered paragraphs never absorb the next one
    assert chunks[6].text == "形式" and chunks[6].speaker == chunks[7].speaker  # a letter's heading is the letter's
    # a letter speaks with one voice: its opening title block is the author's too
    assert all(c.speaker == "印度常驻联合国代表" and c.turn is None for c in chunks)


def test_letter_with_a_colon_list_entry_has_no_turns():
    text = "\n\n".join(["第二次会议", "主席：澳大利亚大使兼常驻联合国代表团常驻代表加里·昆兰", "讨论小组的发言者：",
                       "秘书长联刚稳定团特别副代表莱拉·泽鲁圭"]) + "\n"
    chunks = chunk_document(_doc("letter", title_zh="2012年4月4日澳大利亚和乌拉圭常驻联合国代表给大会主席的信"), text)
    assert {c.speaker for c in chunks if c.role == "body"} == {"澳大利亚和乌拉圭常驻联合国代表"}
    assert all(c.turn is None for c in chunks)
    assert "主席：澳大利亚大使" in "".join(c.text for c in chunks)
    assert [c.role for c in chunks] == ["front_matter", "body"]  # the list after a lead-in colon is body


def test_headings_are_chunks_of_their_own_and_never_glued_to_body():
    text = "\n".join(["2023年届会", "议程项目15", "经济及社会理事会，", "注意到欧洲经济委员会在第七十届会议上核可了2021年12月通过的指南，",
                      "决定请会员国考虑采取适当措施。", "一.", "导言", "短。", "工作组在三次实质性会议上就该议程项目进行了广泛的讨论。"]) + "\n"
    doc = _doc("resolution", organ="Economic and Social Council", title_zh="决议", layout="segments")
    chunks = chunk_document(doc, text)
    assert [(c.role, c.text) for c in chunks] == [
        ("front_matter", "2023年届会\n议程项目15"), ("heading", "经济及社会理事会，"),
        ("body", "注意到欧洲经济委员会在第七十届会议上核可了2021年12月通过的指南，"), ("body", "决定请会员国考虑采取适当措施。"),
        ("heading", "一.\n导言"),
        ("body", "短。\n工作组在三次实质性会议上就该议程项目进行了广泛的讨论。")]
    assert [c.speaker for c in chunks] == ["经济及社会理事会"] * 6  # title block, headings and body: the organ's
    assert chunks[0].paragraph == "p1-p2" and chunks[4].paragraph == "p6-p7"


SENTENCE = "各国应公布军事和安全方面的空间战略、政策、理论和开支，作为执行报告所载建议的一部分。"  # 42 characters


def test_sentence_segments_of_a_working_paper_are_grouped_into_passages():
    lines = ["工作文件", *[f"{i}{SENTENCE}" for i in range(12)], "透明度和建立信任措施", "这类信息也可以放在联合国网页上。"]
    doc = _doc("working_paper", author="United Kingdom of Great Britain and Northern Ireland", layout="segments")
    chunks = chunk_document(doc, "\n".join(lines) + "\n")
    body = [c for c in chunks if c.role == "body"]
    assert [c.text.count("各国应公布") for c in body[:-1]] == [7, 5]  # 7 lines of 43 pass SEGMENT_CHARS (300)
    assert len(body[0].text) >= SEGMENT_CHARS and body[0].paragraph == "p2-p8"
    assert body[-1].text == "这类信息也可以放在联合国网页上。"  # a heading closes the group
    assert [c.text for c in chunks if c.role == "heading"] == ["透明度和建立信任措施"]


def test_sentences_before_a_numbered_paragraph_keep_their_own_label():
    lines = ["工作文件", SENTENCE, SENTENCE, "1. " + SENTENCE, SENTENCE]
    doc = _doc("working_paper", author="United Kingdom of Great Britain and Northern Ireland", layout="segments")
    body = [c for c in chunk_document(doc, "\n".join(lines) + "\n") if c.role == "body"]
    assert [c.paragraph for c in body] == ["p2-p3", "1"]  # the numbered paragraph absorbs what follows
    assert body[0].text.count("各国应公布") == 2 and body[1].text.startswith("1. ")


@pytest.mark.parametrize("kind, layout", [("resolution", "segments"), ("working_paper", "paragraphs")])
def test_resolution_lines_and_real_paragraphs_are_never_grouped(kind, layout):
    lines = ["决议", *[f"{i}{SENTENCE}" for i in range(6)]]
    doc = _doc(kind, organ="Economic and Social Council", author="Economic and Social Council", layout=layout)
    body = [c for c in chunk_document(doc, "\n".join(lines) + "\n") if c.role == "body"]
    assert len(body) == 6 and all(c.text.count("各国应公布") == 1 for c in body)


def test_chunk_corpus_raises_on_bad_input(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": [
        {"id": "x", "symbol": None, "file": "x.txt", "type": "letter", "organ": "o", "date": "2020-01-01",
         "title_zh": "t", "title_en": "t"}]}), encoding="utf-8")
    (tmp_path / "x.txt").write_bytes(b"\xff")
    with pytest.raises(CorpusError, match=r"x\.txt: line 1"):
        chunk_corpus(tmp_path)
    (tmp_path / "x.txt").write_text("正文。\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x\.txt: no speaker rule"):  # no title rule, no author
        chunk_corpus(tmp_path)


# --- the five real documents --------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Document], list[Chunk]]:
    return chunk_corpus(CORPUS)


def _by_doc(corpus, doc_id: str) -> list[Chunk]:
    return [c for c in corpus[1] if c.doc_id == doc_id]


# sha256 of every chunk of the real corpus, one sorted-key JSON line each, as of this chunker version.
GOLDEN_CHUNKER_VERSION = "6"
GOLDEN_CHUNKS_SHA256 = "47f1f80db766f54bed952e8d01a20e5ad3d1800d49fc039cb380f2a602919d22"


def test_chunk_output_matches_golden_hash(corpus):
    lines = "\n".join(json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True) for c in corpus[1])
    digest = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    assert (CHUNKER_VERSION, digest) == (GOLDEN_CHUNKER_VERSION, GOLDEN_CHUNKS_SHA256), (
        "chunk output changed: if intended, bump rag.chunks.CHUNKER_VERSION and update this hash")


def test_offsets_roundtrip_and_ids(corpus):
    docs, chunks = corpus
    sources = {d.id: read_source(CORPUS, d) for d in docs}
    for c in chunks:
        assert WS.sub("", sources[c.doc_id][c.start:c.end]) == WS.sub("", c.text), c
        assert c.text == c.text.strip() and c.text
        assert len(c.text) <= 500
    assert len({c.id for c in chunks}) == len(chunks)
    assert chunk_corpus(CORPUS)[1] == chunks  # deterministic


def _check_coverage(corpus_dir: Path, docs: list[Document], chunks: list[Chunk]) -> None:
    """Every non-blank stored character (a BOM counts as blank) lies in exactly one chunk, except
    the text of verbatim speaker headers, which lies in none."""
    for doc in docs:
        source = read_source(corpus_dir, doc)
        count = [0] * len(source)
        for c in (c for c in chunks if c.doc_id == doc.id):
            for i in range(c.start, c.end):
                count[i] += 1
        headers = set()
        if doc.type == "meeting_record":
            turns, _ = split_record(reflow(source, doc.layout), source)
            for t in turns:
                if t.header:
                    headers.update(range(*t.header))
        for i, ch in enumerate(source):
            if ch.isspace() or ch == "\ufeff":
                continue
            expected = 0 if i in headers else 1
            assert count[i] == expected, (doc.id, i, source[max(0, i - 10):i + 10])


def test_coverage_every_char_in_exactly_one_chunk_except_headers(corpus):
    _check_coverage(CORPUS, *corpus)


def test_meeting_chunks_stay_inside_their_turn(corpus):
    docs, chunks = corpus
    source = read_source(CORPUS, docs[0])
    turns, _ = split_record(reflow(source), source)
    bounds = [t.start for t in turns] + [len(source)]
    for c in _by_doc(corpus, "S/PV.8838"):
        if c.turn is None:
            assert c.speaker is None and c.speaker_info is None
            assert c.end <= turns[0].start or c.text == "上午11时45分散会。"
            continue
        t = turns[c.turn]
        assert t.start <= c.start and c.end <= bounds[c.turn + 1]
        assert c.speaker == t.speaker and c.speaker_info == t.info and c.role == "body"
    outside = [(c.role, c.text) for c in _by_doc(corpus, "S/PV.8838") if c.speaker is None]
    assert outside == [("body", "上午10时15分开会。"), ("heading", "通过议程"), ("body", "议程通过。"),
                       ("heading", "联合国维持和平行动\n对保护者的保护：技术与维和\n"
                                   "2021年7月26日印度常驻联合国代表给秘书长的信(S/2021/681)"),
                       ("body", "上午11时45分散会。")]
    speakers = [c.speaker for c in _by_doc(corpus, "S/PV.8838")]
    assert "印度 (主席以本国身份发言)" in speakers and "戴兵先生（中国）" in speakers


def test_documents_without_turns_all_have_speakers(corpus):
    expected = {"S/2021/681": "印度常驻联合国代表", "S/PRST/2021/11": "安全理事会主席（代表安理会）",
                "letter-2012-04-04-australia-uruguay": "澳大利亚和乌拉圭常驻联合国代表",
                "S/RES/2518 (2020)": "安全理事会",
                "ECOSOC-RES-2023-06-23-humanitarian": "经济及社会理事会",
                "NV-2023-04-26-Ukraine-UNHCR-ExCom": "乌克兰常驻联合国代表团",
                "NAM-2023-charter-committee-other-peaceful-means": "不结盟运动",
                "DC-2023-UK-WP-space-TCBM": "大不列颠及北爱尔兰联合王国",
                "LTR-2023-07-20-Group-of-Friends-Charter": "捍卫《联合国宪章》之友小组",
                "ECOSOC-RES-2023-07-25-UNODC-CT": "经济及社会理事会",
                "DC-2023-WG1-Chair-nuclear": "第一工作组主席",
                "LTR-2023-02-07-SaintKittsNevis-Haiti": "圣基茨和尼维斯常驻联合国代表",
                "E/RES/2023/18": "经济及社会理事会"}
    affiliations = {"NV-2023-04-26-Ukraine-UNHCR-ExCom": "乌克兰", "LTR-2023-02-07-SaintKittsNevis-Haiti": "圣基茨和尼维斯",
                    "DC-2023-UK-WP-space-TCBM": "大不列颠及北爱尔兰联合王国", "E/RES/2023/18": "经济及社会理事会"}
    for doc_id, label in expected.items():
        chunks = _by_doc(corpus, doc_id)
        body = [c for c in chunks if c.role == "body"]
        assert body and {c.speaker for c in body} == {label}, doc_id
        assert all(c.turn is None and c.speaker_info is not None for c in body)
        # one voice: the opening title block and the headings are the document's too
        assert all(c.speaker == label and c.speaker_info == body[0].speaker_info for c in chunks
                   if c.role in ("front_matter", "heading"))
        if doc_id in affiliations:
            assert body[0].speaker_info.affiliation == affiliations[doc_id]
    [signed] = [c for c in _by_doc(corpus, "LTR-2023-02-07-SaintKittsNevis-Haiti") if "(签名)" in c.text]
    assert signed.speaker_info.name == "内里斯·多克里" and signed.role == "body"
    letter = [c for c in _by_doc(corpus, "letter-2012-04-04-australia-uruguay") if c.role == "body"]
    assert "澳大利亚" in letter[0].speaker_info.affiliation and "乌拉圭" in letter[0].speaker_info.affiliation
    assert all(c.symbol is None for c in letter)
    assert _by_doc(corpus, "S/2021/681")[1].speaker_info.affiliation == "印度"


def _numbered(chunks: list[Chunk]) -> list[str]:
    seen: list[str] = []
    for c in chunks:
        if c.paragraph.isdigit() and c.paragraph not in seen:
            seen.append(c.paragraph)
    return seen


def test_own_paragraph_numbers(corpus):
    assert _numbered(_by_doc(corpus, "S/RES/2518 (2020)")) == [str(i) for i in range(1, 16)]
    assert _numbered(_by_doc(corpus, "S/2021/681")) == [str(i) for i in range(1, 15)]
    assert _numbered(_by_doc(corpus, "letter-2012-04-04-australia-uruguay")) == [str(i) for i in range(1, 22)]
    res = {c.paragraph: c.text for c in _by_doc(corpus, "S/RES/2518 (2020)")}
    assert res["15"] == "15. 决定继续处理此案。"
    assert res["13"].startswith("13. 表示注意到秘书处正在努力制定一项战略")
    note = [c.paragraph for c in _by_doc(corpus, "S/2021/681")]
    assert note[note.index("3"):note.index("4")] == ["3", "3(a)", "3(b)", "3(c)", "3(d)"]


# --- the corpus as stored by another system: CRLF line ends, a BOM, tabs -----------------------------


@pytest.fixture(scope="module")
def crlf_corpus(tmp_path_factory) -> Path:
    """A copy of the whole corpus with CRLF line ends, a UTF-8 BOM and tabs for double spaces
    (the translations too)."""
    d = tmp_path_factory.mktemp("crlf")
    for f in CORPUS.iterdir():
        data = f.read_bytes()
        if f.suffix == ".txt":
            data = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n").replace(b"  ", b"\t")
        (d / f.name).write_bytes(data)
    return d


def test_a_crlf_copy_of_the_corpus_gives_the_same_turns_and_speakers(corpus, crlf_corpus):
    docs, chunks = chunk_corpus(crlf_corpus)
    assert len(chunks) == len(corpus[1])

    def reading(c: Chunk) -> tuple:
        return (c.doc_id, c.speaker, c.speaker_info, c.turn, c.role, c.paragraph, WS.sub("", c.text),
                WS.sub("", c.text_en or ""))

    assert [reading(c) for c in chunks] == [reading(c) for c in corpus[1]]
    record = [c for c in chunks if c.doc_id == "S/PV.8838"]
    assert len({c.turn for c in record if c.turn is not None}) == 21  # the turns of tests/test_speakers.py
    for doc in docs:  # offsets index the CRLF files as stored
        source = read_source(crlf_corpus, doc)
        english = (crlf_corpus / doc.translation("en")).read_bytes().decode("utf-8") if doc.translations else ""
        for c in (c for c in chunks if c.doc_id == doc.id):
            assert WS.sub("", source[c.start:c.end]) == WS.sub("", c.text)
            if c.text_en and c.role == "body":
                assert WS.sub("", english[c.en_start:c.en_end]).startswith(WS.sub("", c.text_en)[:20])
    _check_coverage(crlf_corpus, docs, chunks)


def test_rag_chunks_json_lists_the_fifteen_documents_with_no_chunk_across_a_turn():
    from click.testing import CliRunner

    from rag.cli import main

    result = CliRunner().invoke(main, ["chunks", "--json", "--corpus", str(CORPUS)], catch_exceptions=False)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    docs = list(dict.fromkeys(r["doc_id"] for r in rows))
    assert len(docs) == 15
    for doc_id in docs:
        mine = [r for r in rows if r["doc_id"] == doc_id]
        assert any(r["role"] == "body" and r["speaker"] for r in mine), doc_id
        # a turn is one run of chunks in document order: a chunk of another turn never sits inside it
        seen: list[int] = []
        for r in sorted(mine, key=lambda r: r["start"]):
            if r["turn"] is not None and (not seen or seen[-1] != r["turn"]):
                assert r["turn"] not in seen, (doc_id, r["turn"])
                seen.append(r["turn"])
        speakers = {}
        for r in mine:  # one speaker per turn
            if r["turn"] is not None:
                assert speakers.setdefault(r["turn"], r["speaker"]) == r["speaker"]
