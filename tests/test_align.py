"""Official translations: paragraph-level alignment (anchors, Gale-Church), English of split
paragraphs, the ten 2023 documents (every body chunk has its English; 10 pairs checked by hand),
shifted, junk-laden and re-wrapped English still aligned. Pure text: no model, no index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.align import Translation, align_units, gale_church
from rag.chunks import chunk_corpus, chunk_document
from rag.corpus import load_manifest, read_source, read_translation
from rag.records import Document
from rag.reflow import units
from rag.text import squash

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def corpus():
    return chunk_corpus(CORPUS)


def _ten(docs: list[Document]) -> list[Document]:
    return [d for d in docs if d.translations]


def test_gale_church_prefers_one_to_one_and_absorbs_an_extra_sentence():
    zh = [(20, frozenset()), (40, frozenset({"2023"})), (10, frozenset())]
    en = [(70, frozenset()), (60, frozenset({"2023"})), (75, frozenset({"2023"})), (33, frozenset())]
    assert gale_church(zh, en, 3.4) == [(0, 1, 0, 1), (1, 2, 1, 3), (2, 3, 3, 4)]
    assert gale_church([(20, frozenset())] * 3, [(68, frozenset())] * 3, 3.4) == [(0, 1, 0, 1), (1, 2, 1, 2), (2, 3, 2, 3)]
    assert gale_church([], [(5, frozenset())], 3.0) == [(0, 0, 0, 1)]


def test_paragraph_numbers_anchor_the_alignment():
    zh = "\n".join(["1. 议程通过。", "标题", "2. 第二段很长很长很长很长很长很长很长很长很长。", "3. 第三段。"]) + "\n"
    # the English has an extra line before 2 and no heading: the numbers still pin 2 and 3
    en = "\n".join(["1. The agenda was adopted.", "An extra line the Chinese does not have at all, quite long indeed.",
                    "2. The second paragraph is very very very long indeed, much longer than usual.",
                    "3. The third one."]) + "\n"
    beads = align_units(units(zh, "segments"), units(en, "segments"))
    assert (2, 3, 2, 3) in beads and (3, 4, 3, 4) in beads


def _pairs(corpus) -> dict[str, str]:
    return {c.text: c.text_en for c in corpus[1] if c.text_en}


# (document file, a Chinese substring, the English it must carry) read by hand from the files
SPOT_CHECKS = [
    ("101", "Mansour先生(巴勒斯坦国观察员)说，这项研究将支持提交国际法院的法律论据",
     "the study would buttress the legal arguments submitted to the International Court of Justice"),
    ("101", "主席说，委员会于5月举行了纪念浩劫七十五周年的活动", "commemorated the seventy-fifth anniversary of the Nakbah"),
    ("102", "表示注意到秘书长的报告；", "Takes note of the report of the Secretary-General;"),
    ("103", "乌克兰是1951年《关于难民地位的公约》", "Ukraine is a party to the Convention relating to the Status of Refugees of 1951"),
    ("104", "阿兰·佩莱认为", "According to Alain Pellet, “good offices” is the only significant “missing means”"),
    ("105", "联合王国依照《登记公约》登记空间物体", "The United Kingdom registers its space objects in accordance with"),
    ("107", "还请秘书长向大会第七十八届会议提交报告", "Also requests the Secretary-General to submit to the General Assembly "
     "at its seventy-eighth session"),
    ("108", "[备选22] 有关国家应继续努力", "[Alt. para 22] States concerned should resume efforts"),
    ("109", "内里斯·多克里(签名)", "(Signed) Nerys Dockery"),
    ("110", "决定请联合国会员国、国际组织和各区域委员会考虑", "Decides to invite States Members of the United Nations"),
]


@pytest.mark.parametrize("prefix,zh,en", SPOT_CHECKS)
def test_spot_checked_pairs(corpus, prefix, zh, en):
    docs = {d.id: d for d in corpus[0]}
    found = [c for c in corpus[1] if zh in c.text and docs[c.doc_id].file.startswith(prefix)]
    assert len(found) == 1, zh
    assert found[0].text_en and en in found[0].text_en, (found[0].text_en or "")[:200]


def test_every_body_chunk_of_the_ten_documents_has_its_english(corpus):
    docs, chunks = corpus
    ten = _ten(docs)
    assert len(ten) == 10
    for doc in ten:
        english = read_translation(CORPUS, doc)
        for c in (c for c in chunks if c.doc_id == doc.id):
            if c.role != "body":
                continue
            assert c.text_en and 0 <= c.en_start < c.en_end <= len(english), (doc.id, c.paragraph, c.text[:30])
            span = squash(english[c.en_start:c.en_end])
            assert span.startswith(squash(c.text_en)[:20]) and span.endswith(squash(c.text_en)[-20:])


def test_documents_without_a_translation_keep_text_en_null(corpus):
    docs, chunks = corpus
    plain = {d.id for d in docs if not d.translations}
    assert len(plain) == 5
    assert all(c.text_en is None and c.en_start is None and c.en_end is None for c in chunks if c.doc_id in plain)


def test_a_split_paragraph_splits_its_english_at_the_aligned_sentence(corpus):
    docs, chunks = corpus
    doc = next(d for d in docs if d.file.startswith("101"))
    lynk = [c for c in chunks if c.doc_id == doc.id and c.speaker and c.speaker.startswith("Lynk")]
    assert len(lynk) == 2  # one paragraph of 15 lines, cut in two at a sentence end
    first, second = lynk
    assert first.en_end <= second.en_start  # the English is partitioned, in order
    cut_zh = second.text[:12]
    assert cut_zh == "以色列的占领符合所有三个标准"[:12]
    assert second.text_en.startswith("The Israeli occupation met all three criteria")
    assert first.text_en.endswith("apartheid.") or first.text_en.rstrip().endswith(".")


def _expected(zh: str, en: str) -> dict[int, str]:
    """Line i of the delivered Chinese -> line i of the delivered English (the ground truth of
    a line-aligned file)."""
    return {i: e for i, (z, e) in enumerate(zip(zh.split("\n"), en.split("\n"))) if z.strip() and e.strip()}


def _accuracy(zh: str, en_stored: str, truth: dict[int, str], skip: tuple[int, ...] = ()) -> float:
    """Share of the body chunks (one per line here) whose English holds the start of their
    line's true English; lines in `skip` (whose English was removed) are not counted."""
    doc = Document(id="t", symbol=None, type="working_paper", organ=None, date="2023-04-03",
                   title_zh="大不列颠及北爱尔兰联合王国提交的工作文件", title_en=None, author=None, file="t.txt",
                   layout="segments")
    chunks = [c for c in chunk_document(doc, zh, translation=en_stored)
              if c.role == "body" and zh.count("\n", 0, c.start) not in skip]
    good = 0
    for c in chunks:
        line = zh.count("\n", 0, c.start)
        good += bool(c.text_en) and squash(truth[line])[:40] in squash(c.text_en)
    return good / len(chunks)


@pytest.fixture(scope="module")
def uk_paper() -> tuple[str, str]:
    doc = next(d for d in load_manifest(CORPUS) if d.file.startswith("105"))
    return read_source(CORPUS, doc), read_translation(CORPUS, doc)


def test_shifted_english_with_junk_and_a_missing_line_still_aligns(uk_paper):
    zh, en = uk_paper
    truth = _expected(zh, en)
    lines = en.split("\n")
    shifted = "\n".join(["United Nations, Treaty Series, vol. 2161, No. 37770.", "<<ODS DOC SYMBOL2>>"]
                        + lines[:20] + lines[21:]) + "\n"
    assert _accuracy(zh, en, truth) == 1.0
    assert _accuracy(zh, shifted, truth, skip=(20,)) >= 0.95  # line 20 has no English left


def test_english_rewrapped_into_paragraphs_still_aligns(uk_paper):
    """Another user's English: two segments per paragraph, CRLF, a blank line between paragraphs."""
    zh, en = uk_paper
    truth = _expected(zh, en)
    lines = [x for x in en.split("\n") if x.strip()]
    paragraphs = [" ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
    rewrapped = "\r\n\r\n".join(paragraphs) + "\r\n"
    assert _accuracy(zh, rewrapped, truth) >= 0.9


def test_the_shifted_delivered_document_110_aligns_its_body(corpus):
    docs, chunks = corpus
    doc = next(d for d in docs if d.file.startswith("110"))
    body = {c.text[:8]: c.text_en for c in chunks if c.doc_id == doc.id and c.role == "body"}
    assert body["注意到欧洲经济委"].startswith("Noting that, at its seventieth session")
    assert body["决定请联合国会员"].startswith("Decides to invite States Members")
    heading = {c.text: c.text_en for c in chunks if c.doc_id == doc.id and c.role == "heading"}
    assert heading["经济及社会理事会，"] == "The Economic and Social Council,"


def test_alignment_imports_no_model_or_index():
    code = ("import sys, rag.chunks, rag.align; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'faiss', 'sentence_transformers', "
            "'openvino', 'jieba') or m in ('rag.index', 'rag.embed', 'rag.retrieve')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_translation_english_of_a_span_outside_any_bead_is_none():
    t = Translation.build("第一句。\n第二句。\n", "First.\nSecond.\n", "segments")
    assert t.english(0, 4) == (0, 6, "First.")
    assert t.english(5, 9) == (7, 14, "Second.")
    assert t.english(100, 120) is None


def test_a_cut_inside_a_bead_maps_to_the_same_english_with_crlf_or_lf():
    """A chunk cut inside an aligned bead is interpolated by length; the length counts non-blank
    characters, so a CRLF copy (one more character per line) gives the same English."""
    zh = ("1. 委员会注意到各国在执行方面取得的进展，\n包括监测、报告、核查和缓解措施，\n并鼓励区域委员会分享经验，\n"
          "以便在全世界适用这些准则，\n同时考虑到各国的具体情况和能力，\n并请秘书处提供技术援助。\n")
    en = ("1. The Commission notes the progress made by States in implementation, including monitoring, reporting, "
          "verification and mitigation measures, and encourages the regional commissions to share experience, so that "
          "the guidance is applied worldwide, taking into account national circumstances and capacities, and requests "
          "the secretariat to provide technical assistance.\n")
    lf, crlf = Translation.build(zh, en, "paragraphs"), Translation.build(zh.replace("\n", "\r\n"), en, "paragraphs")
    texts = []
    for cut in range(4, len(zh.rstrip()) - 4):
        shifted = cut + zh[:cut].count("\n")  # the same character in the CRLF copy
        texts.append((lf.english(0, cut)[2], crlf.english(0, shifted)[2]))
    assert all(a == b for a, b in texts)
    assert len({a for a, _ in texts}) > 3  # cuts at different places do map to different English
