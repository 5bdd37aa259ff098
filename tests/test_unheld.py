"""rag/unheld.py: a question naming a document the corpus does not hold."""

from __future__ import annotations

import pytest

from rag.query import DocLookup, find_refs
from rag.records import Document
from rag.unheld import asks_its_text, names_symbol


def named(question: str) -> str:
    """The unheld document the question names, as messages show it."""
    (ref,) = find_refs(question)
    return ref.display()


@pytest.mark.parametrize("question", [
    "What does resolution 2086 (2013) say about peacekeeping?",
    "What arms embargo did Security Council resolution 1970 (2011) impose on Libya?",
    "What does ECOSOC resolution 2023/1 on the United Nations Forum on Forests decide?",
    "A/78/35 states what about settlements?",
    "According to A/78/35, how many meetings were held?",
    "主席声明S/PRST/2021/17第5段的内容是什么？",
    "根据第2589(2021)号决议，秘书长应当做什么？",
    "大会第77/247号决议要求国际法院做什么？",
    "What does paragraph 4 of resolution 2086 (2013) say?",
    "Under resolution 2086 (2013), what must missions do?",
    "第2589(2021)号决议中有哪些规定？",
])
def test_questions_for_the_documents_own_text(question: str) -> None:
    assert asks_its_text(question, named(question))


@pytest.mark.parametrize("question", [
    "Who introduced the annual report A/78/35?",
    "Which speakers welcomed the adoption of resolution 2589 (2021)?",
    "谁提到了第2589(2021)号决议？",
    "Who mentioned General Assembly resolution 77/247?",
    "Who spoke in favour of resolution 2086 (2013)?",
    "What did Russia say in the debate on resolution 2086 (2013)?",
    "How did Kenya respond to resolution 2086 (2013) adopted that year?",
    "委员会就第77/247号决议说了什么？",
    "哪些国家在第77/247号决议表决中投了反对票？",
    "Who mentioned resolution 77/247 in paragraph 3?",
])
def test_questions_about_the_document_as_others_speak_of_it(question: str) -> None:
    assert not asks_its_text(question, named(question))


def test_a_document_is_named_by_its_reference_not_by_a_bare_number() -> None:
    assert names_symbol("安理会今天通过第2589(2021)号决议。", "S/RES/2589 (2021)")
    assert names_symbol("安理会今天通过第2589(2021)号决议。", "S/RES/2589")  # no year: any year
    assert not names_symbol("安理会今天通过第2589(2020)号决议。", "S/RES/2589 (2021)")
    assert not names_symbol("共有2589名维和人员。", "S/RES/2589 (2021)")
    assert names_symbol("大会第77/247号决议要求国际法院", "resolution 77/247")
    assert names_symbol("介绍了委员会的年度报告(A/78/35)", "A/78/35")


def test_a_resolution_numbered_by_session_routes_to_its_document_and_is_never_given_a_prefix() -> None:
    lookup = DocLookup.of([Document(id="E/RES/2023/18", symbol="E/RES/2023/18", type="resolution",
                                    organ="经济及社会理事会", date="2023-07-25", title_zh="t", title_en=None,
                                    author=None, file="f.txt")])
    (held,) = find_refs("What does ECOSOC resolution 2023/18 decide?")
    assert lookup.find(held) == ["E/RES/2023/18"]
    (other,) = find_refs("What does ECOSOC resolution 2023/1 decide?")
    assert lookup.find(other) == [] and other.display() == "resolution 2023/1"
    (zh,) = find_refs("经社理事会第2023/18号决议")
    assert lookup.find(zh) == ["E/RES/2023/18"] and zh.display() == "第2023/18号决议"
