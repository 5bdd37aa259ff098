"""Lexical coverage (rag.relevance): a question's content words that the index's vocabulary holds,
weighted by idf; question words left out; glossary terms and stems that begin a word count."""

from __future__ import annotations

import pytest

from rag.lexical import BM25, EnglishAnalyzer
from rag.entities import load_entities
from rag.relevance import coverage, question_words, unmentioned

ZH = ["维和人员的安全和安保至关重要。", "安理会欢迎秘书长的报告。", "新技术可以提高维和行动的效率。"]
EN = ["Peacekeepers face threats from improvised explosive devices.",
      "The definition of a space weapon remains difficult."]


@pytest.fixture(scope="module")
def zh() -> BM25:
    return BM25().fit(ZH)


@pytest.fixture(scope="module")
def en() -> BM25:
    return BM25(EnglishAnalyzer()).fit(EN)


def test_words_of_the_corpus_cover_and_unknown_words_do_not(zh: BM25) -> None:
    assert coverage("维和人员的安全", zh).score == 1.0
    c = coverage("红烧肉的做法", zh)
    assert c.score == 0.0 and c.missing and c.measured


def test_question_words_are_not_content(zh: BM25) -> None:
    c = coverage("谁说了什么关于新技术？", zh)
    assert "谁" not in c.content and "什么" not in c.content
    assert c.score == 1.0
    assert "谁" in question_words() and "how" in question_words()


def test_unknown_words_weigh_more_than_common_ones(zh: BM25) -> None:
    half = coverage("维和人员 披萨", zh).score
    assert 0.0 < half < 1.0


def test_english_stems_glossary_terms_and_prefixes(en: BM25) -> None:
    assert coverage("How do I bake sourdough bread?", en).score == 0.0
    assert coverage("What threats do peacekeepers face?", en).score == 1.0
    # "define" stems to "defin", which begins "definit" (definition): covered
    assert coverage("Why is a space weapon hard to define?", en).missing == ("hard",)
    assert coverage("What about the blue helmets?", en, covered=["blue", "helmet"]).score == 1.0


def test_no_vocabulary_means_not_measured() -> None:
    c = coverage("What did Kenya say?", None)
    assert not c.measured and c.score == 1.0


def test_no_content_words_is_full_coverage(zh: BM25) -> None:
    c = coverage("？？？", zh)
    assert c.content == () and c.score == 1.0


def test_a_question_word_glued_to_its_noun_is_not_content(zh: BM25) -> None:
    """jieba's search mode keeps 哪些项目 beside 项目: the compound is the question word's."""
    c = coverage("议程包括哪些项目？", zh)
    assert "项目" in c.content
    assert all(not t.startswith("哪些") for t in c.content)


def test_bodies_and_titles_no_held_text_names_are_reported() -> None:
    gaz = load_entities()
    corpus = "近东救济工程处主任专员介绍了情况。各国应遵守《联合国宪章》。"
    mentioned = lambda names: any(n in corpus for n in names)  # noqa: E731
    entities = [gaz.entity(n) for n in ("世界知识产权组织", "近东救济工程处", "中国", "安全理事会")]
    question = "《联合国宪章》和《生物多样性公约》对世界知识产权组织、近东救济工程处、中国和安全理事会说了什么？"
    # a state is never reported here (states are speakers: rag.pipeline._absent)
    assert unmentioned(question, entities, mentioned) == ["世界知识产权组织", "安全理事会", "生物多样性公约"]
    assert unmentioned("近东救济工程处说了什么？", [gaz.entity("近东救济工程处")], mentioned) == []


def test_the_day_and_the_addressee_asked_for_are_not_content(zh: BM25) -> None:
    c = coverage("照会是哪一天发出的，收件人是谁？", zh)
    assert not {"一天", "收件", "收件人"} & set(c.content) and "照会" in c.content
