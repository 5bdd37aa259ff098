import json

import numpy as np
import pytest

from rag.lexical import BM25, EnglishAnalyzer, Tokenizer, has_cjk, table_words


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


@pytest.mark.parametrize("term", ["马里稳定团", "联刚稳定团", "达尔富尔混合行动", "简易爆炸装置", "部队派遣国",
                                  "以行动促维和", "维和人员", "态势感知", "联合王国", "美利坚合众国"])
def test_terms_kept_whole(tok, term):
    assert term in tok.tokenize(f"关于{term}的问题，安理会进行了讨论。")


@pytest.mark.parametrize("text, expected", [
    ("安理会通过了S/RES/2518 (2020)。", ["s/res/2518(2020)", "2518(2020)"]),
    ("见S/RES/2518(2020)号决议", ["s/res/2518(2020)", "2518(2020)"]),
    ("第２５１８（２０２０）号决议", ["2518(2020)"]),
    ("第2589(2021)号决议", ["2589(2021)"]),
    ("S/PV.8838 会议记录", ["s/pv.8838"]),
    ("文件S/2021/681和A/65/698", ["s/2021/681", "a/65/698"]),
    ("主席声明S/PRST/2021/11", ["s/prst/2021/11"]),
])
def test_symbols_are_single_tokens(tok, text, expected):
    tokens = tok.tokenize(text)
    for sym in expected:
        assert sym in tokens
    assert "2518" not in tokens and "2020" not in tokens


def test_symbol_forms_meet(tok):
    assert set(tok.tokenize("S/RES/2518 (2020)")) & set(tok.tokenize("第2518(2020)号决议")) == {"2518(2020)"}


def test_lowercase_punctuation_and_stopwords_dropped(tok):
    tokens = tok.tokenize("What did Kenya say about Social Media? 中国的立场是：维和。")
    assert "kenya" in tokens and "social" in tokens and "media" in tokens
    assert "Kenya" not in tokens
    for dropped in ("?", "。", "：", "的", "是", "what", "did"):
        assert dropped not in tokens
    assert "中国" in tokens and "立场" in tokens


def test_has_cjk():
    assert has_cjk("What did 中国 say")
    assert not has_cjk("What did China say about S/PV.8838?")


def test_dictionary_includes_table_names(tok):
    words = set(tok.words())
    assert {"联合王国", "中方", "肯尼亚", "古特雷斯", "马里稳定团"} <= words
    assert "United Kingdom" not in words  # Latin aliases are cut by jieba's own rules
    assert "俄罗斯联邦" in table_words()


def test_private_jieba_instance(tok):
    import jieba

    tok.tokenize("马里稳定团")
    assert tok._jieba is not jieba.dt


DOCS = [
    "秘书长介绍了维和行动的数字化转型战略。",
    "肯尼亚代表说，应该推动社交媒体公司满足特派团的需求，打击仇恨言论。",
    "简易爆炸装置是马里稳定团维和人员面临的主要威胁。",
    "安理会第2518(2020)号决议请秘书长报告维和人员安全和安保的进展。",
]


@pytest.fixture(scope="module")
def bm(tok) -> BM25:
    return BM25(tok).fit(DOCS)


@pytest.mark.parametrize("query, best", [
    ("社交媒体公司", 1),
    ("马里稳定团的简易爆炸装置", 2),
    ("S/RES/2518 (2020)", 3),
    ("数字化转型战略", 0),
])
def test_bm25_ranks_relevant_first(bm, query, best):
    hits = bm.search(query, k=4)
    assert hits[0][0] == best
    assert all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_bm25_no_hit_is_empty(bm):
    assert bm.search("What did Kenya say?", k=4) == []


def test_bm25_allowed_mask_and_indices(bm):
    hits = bm.search("简易爆炸装置威胁维和人员", k=4)
    assert {i for i, _ in hits} == {0, 2, 3}
    mask = np.array([True, True, False, True])
    assert [i for i, _ in bm.search("简易爆炸装置威胁维和人员", k=4, allowed=mask)] == [3, 0]
    assert [i for i, _ in bm.search("维和人员", k=4, allowed=np.array([2]))] == [2]
    with pytest.raises(ValueError):
        bm.search("维和人员", allowed=np.array([True, False]))


def test_bm25_k_limits(bm):
    assert len(bm.search("维和人员", k=1)) == 1


def test_search_mode_subwords_meet_whole_terms(tok, bm):
    tokens = tok.tokenize("维和人员")
    assert "维和人员" in tokens and "维和" in tokens
    assert {i for i, _ in bm.search("维和", k=4)} == {0, 2, 3}


def test_bm25_saves_and_loads_memory_mapped(bm, tok, tmp_path):
    files = bm.save(tmp_path / "bm25")
    assert {f.name for f in files} >= {"vocab.index.json", "data.csc.index.npy", "ids.npy", "unrag.json"}
    again = BM25.load(tmp_path / "bm25", tok)
    assert isinstance(again.ids, np.memmap)
    for query in ("社交媒体公司", "维和人员", "第2518(2020)号决议"):
        assert again.search(query, k=4) == bm.search(query, k=4)


def test_bm25_load_rejects_other_tokenizer(bm, tmp_path):
    bm.save(tmp_path / "bm25")
    other = Tokenizer(extra_words=["一个别的词"])
    with pytest.raises(ValueError, match="tokenizer"):
        BM25.load(tmp_path / "bm25", other)


def test_bm25_returns_the_ids_it_was_given(tok):
    bm = BM25(tok).fit_tokens([tok.tokenize(d) for d in DOCS], ids=[10, 20, 30, 40])
    assert bm.search("简易爆炸装置", k=2)[0][0] == 30
    mask = np.zeros(41, dtype=bool)
    mask[[10, 40]] = True
    assert {i for i, _ in bm.search("维和人员", k=4)} == {10, 30, 40}
    assert {i for i, _ in bm.search("维和人员", k=4, allowed=mask)} == {10, 40}


def test_bm25_matches_the_okapi_formula(tok):
    """bm25s's Lucene scores are Okapi BM25 divided by (k1 + 1): the same ranking."""
    import math
    docs = [tok.tokenize(d) for d in DOCS]
    bm = BM25(tok).fit_tokens(docs)
    query = tok.tokenize("维和人员的安全")
    avg = sum(map(len, docs)) / len(docs)
    expected = []
    for d in docs:
        score = 0.0
        for term in dict.fromkeys(query):
            n = sum(term in x for x in docs)
            tf = d.count(term)
            if tf:
                idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
                score += idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(d) / avg))
        expected.append(score)
    assert np.allclose(bm.scores(query), expected, rtol=1e-5)


def test_ids_with_finds_symbols_and_numbers(tok):
    bm = BM25(tok).fit(DOCS)
    assert list(bm.ids_with("2518")) == [3]
    assert list(bm.ids_with("S/RES/2518 (2020)")) == []  # the text writes 第2518(2020)号, not the symbol
    assert list(bm.ids_with("2518(2020)")) == [3]
    assert list(bm.ids_with("9999")) == []


def test_empty_bm25_finds_nothing(tok, tmp_path):
    bm = BM25(tok).fit([])
    assert bm.search("维和", k=3) == []
    bm.save(tmp_path / "empty")
    assert BM25.load(tmp_path / "empty", tok).search("维和", k=3) == []


def test_english_analyzer_stems_and_drops_stopwords():
    en = EnglishAnalyzer()
    tokens = en.tokenize("The Council recommended that the recommendations of S/RES/2518 (2020) be implemented.")
    assert tokens.count("recommend") == 2
    assert "the" not in tokens and "of" not in tokens
    assert "s/res/2518(2020)" in tokens
    assert en.signature() == EnglishAnalyzer().signature()


def test_english_bm25_matches_inflected_forms():
    bm = BM25(EnglishAnalyzer()).fit(["Peacekeepers face improvised explosive devices.",
                                      "The Secretary-General recommended new technologies."])
    assert [i for i, _ in bm.search("recommendations on technology", k=2)] == [1]
    assert [i for i, _ in bm.search("a peacekeeper's explosive device", k=2)] == [0]


def test_english_analyzer_writes_out_un_drafting_abbreviations():
    en = EnglishAnalyzer()
    assert en.tokenize("[Alt. para 22]") == en.tokenize("alternative paragraph 22")
    assert en.tokenize("paras. 3 and 4") == en.tokenize("paragraphs 3 and 4")
    assert "articl" not in en.tokenize("state-of-the-art technology")  # `art` stays a word
