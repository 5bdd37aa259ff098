"""rag/answer_types.py: what kind of answer a question asks for, and which passages hold one."""

from __future__ import annotations

import pytest

from rag.answer_types import bit, detect, holds, holds_bits


@pytest.mark.parametrize("question, types", [
    ("会议是几点开始的？", ["time", "enumeration"]),  # 几点 is also "which points"
    ("When was the letter sent?", ["time"]),
    ("有多少人流离失所？", ["quantity"]),
    ("How many people are affected?", ["quantity"]),
    ("印度提出了哪些建议？", ["enumeration"]),
    ("四点框架的第一点是什么？", ["ordinal:一"]),
    ("What is the second point?", ["ordinal:二"]),
    ("该决议是根据谁的建议通过的？", ["adoption"]),
    ("On whose recommendation was the resolution adopted?", ["adoption"]),
    ("At which plenary meeting was it adopted?", ["adoption"]),
    ("What is the symbol of the proposal on which the resolution was adopted?", ["adoption"]),
    ("Which commission recommended the ECOSOC resolution?", ["adoption"]),
    ("决议是根据哪项提案通过的？", ["adoption"]),
    ("What did Kenya say on the proposal to reform peacekeeping?", []),
    ("爱尔兰在几月份担任安理会主席？", ["month"]),
    ("In which month did the Bureau meet the Minister?", ["month"]),
    ("中国对维和技术有什么看法？", []),
])
def test_what_a_question_asks_for(question: str, types: list[str]) -> None:
    assert detect(question) == types


@pytest.mark.parametrize("passage, kind, held", [
    ("上午10时15分开会。", "time", True),
    ("会员国应不迟于2021年8月18日提交。", "time", True),
    ("为维和人员提供了20万剂疫苗。", "quantity", True),
    ("这种措施对超过三分之一民众的生活造成有害影响。", "quantity", True),
    ("半数以上的特派团报告了这一问题。", "quantity", True),
    ("我们必须聚焦经验证可操作的技术。", "quantity", False),
    ("第一，我们必须聚焦经验证可操作的技术。", "ordinal:一", True),
    ("[根据欧洲经济委员会的建议(E/2023/15/Add.1)通过]", "adoption", True),
    ("2023年7月25日第43次全体会议", "adoption", True),
    ("[根据全体会议审议的一项提案(E/2023/L.19)通过]", "adoption", True),
    ("安理会建议会员国加强合作，并通过了决议。", "adoption", False),
    ("爱尔兰期待在担任9月份主席期间主办会议。", "month", True),
    ("The Bureau had met the Minister in April.", "month", True),
    ("我们必须聚焦技术。", "month", False),
])
def test_which_passages_hold_an_answer(passage: str, kind: str, held: bool) -> None:
    assert holds(kind, passage) is held
    assert bool(holds_bits(passage) & bit(kind)) is held
