"""rag/answer_types.py: what kind of answer a question asks for, and which passages hold one."""

from __future__ import annotations

import pytest

from rag.answer_types import bit, detect, holds, holds_bits


@pytest.mark.parametrize("question, types", [
    ("会议是几点开始的？", ["time", "enumeration", "opening"]),  # 几点 is also "which points"
    ("When was the letter sent?", ["time"]),
    ("有多少人流离失所？", ["quantity"]),
    ("How many people are affected?", ["quantity"]),
    ("印度提出了哪些建议？", ["enumeration"]),
    ("四点框架的第一点是什么？", ["ordinal:一"]),
    ("What is the second point?", ["ordinal:二"]),
    ("该决议是根据谁的建议通过的？", ["adoption"]),
    ("On whose recommendation was the resolution adopted?", ["adoption"]),
    ("At which plenary meeting was it adopted?", ["adoption", "plenary"]),
    ("What is the symbol of the proposal on which the resolution was adopted?", ["adoption"]),
    ("Which commission recommended the ECOSOC resolution?", ["adoption"]),
    ("决议是根据哪项提案通过的？", ["adoption"]),
    ("What did Kenya say on the proposal to reform peacekeeping?", []),
    ("爱尔兰在几月份担任安理会主席？", ["month"]),
    ("In which month did the Bureau meet the Minister?", ["month"]),
    ("中国对维和技术有什么看法？", []),
    # a document's place in the UN's business and its letter form
    ("该决议列在哪个议程项目之下？", ["agenda_item"]),
    ("Under which agenda item was the letter circulated?", ["agenda_item"]),
    ("这份照会属于经社理事会哪一届会？", ["session"]),
    ("Which session of the Council does the note belong to?", ["session"]),
    ("To whom was the Group of Friends in Defense of the Charter's letter of 20 July 2023 addressed?", ["addressee"]),
    ("这封信是写给谁的？", ["addressee"]),
    ("What is annexed to the resolution on coal mine methane?", ["annex"]),
    ("决议所附的是什么？", ["annex"]),
    ("来信由谁签署？", ["signature"]),
    ("Who signed the letter from Saint Kitts and Nevis?", ["signature"]),
    ("Who signed the Treaty on the Non-Proliferation of Nuclear Weapons?", []),  # a treaty is content
    ("议程上有什么？", []),  # the agenda, not an agenda item: STRUCTURE_RE's (rag.question_kinds)
    ("在议程项目15下，理事会决定了什么？", []),  # an agenda item as context, not asked for
    ("At what time was the 413th meeting called to order?", ["time", "opening"]),
    ("When did the meeting end?", ["time", "closing"]),
    ("何时开始实施该战略？", ["time"]),  # something else that starts
    ("At which plenary meeting was the resolution adopted?", ["adoption", "plenary"]),
    ("Which climate treaty does the resolution recognize as important?", ["instrument"]),
    ("决议把哪份文件视作关键的国际框架？", ["instrument"]),
    ("该决议是在第几次全体会议上通过的？", ["quantity", "adoption", "plenary"]),  # 几次 also counts
    ("The session rose without agreement; why?", []),
    # content questions that name a signature, an addressee, a session or an annexation
    ("该文件呼吁谁签署《禁止核武器条约》？", []),
    ("哪些国家是该条约的签署人？", ["enumeration"]),
    ("What does the resolution note about the guidance signed by member States?", []),
    ("To whom is the appeal for increased humanitarian funding addressed?", []),
    ("To whom are the recommendations of the Working Group I Chair's paper addressed?", []),
    ("在经社理事会2023年届会上，乌克兰代表说了什么？", []),
    ("哪一届政府承诺加入执行委员会？", []),
    ("What does the note say about the territories annexed in 2014?", []),
    ("2026年审议大会何时开始？", ["time"]),
    ("What agreement did the Committee reach?", []),
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
    ("2023年届会\n议程项目19 (e)\n社会与人权问题", "agenda_item", True),
    ("2023年届会\n议程项目19 (e)", "session", True),
    ("第六十六届会议\n议程项目54", "session", True),
    ("委员会在本届会议期间开展了工作。", "session", False),
    ("2023年7月20日捍卫《联合国宪章》之友小组给经济及社会理事会主席的信", "addressee", True),
    ("乌克兰常驻联合国代表团向联合国秘书长致意，并谨告知…", "addressee", True),
    ("第43次全体会议\n2023年7月25日\n附件\nG (70)号决定", "annex", True),
    ("在本决议所附G (70)号决定中核可了指南。", "annex", True),
    ("第76/181号决议，附件。", "annex", False),  # a footnote citing another text's annex
    ("本函已得到充分认可。\n内里斯·多克里(签名)\n常驻代表", "signature", True),
    ("尼加拉瓜共和国常驻联合国代表", "signature", True),
    ("常驻代表在会上发言，介绍了报告。", "signature", False),
    ("上午10时10分宣布开会。", "opening", True),
    ("上午10时15分开会。", "opening", True),
    ("安全理事会开会讨论技术对联合国维和的影响。", "opening", False),
    ("上午11时35分散会。", "closing", True),
    ("2023年6月23日\n第35次全体会议", "plenary", True),
    ("在这方面认识到《巴黎协定》尤为重要，", "instrument", True),
    ("在这方面认识到气候变化的影响，", "instrument", False),
    ("大会高级别全体会议通过了宣言。", "plenary", False),
    ("上午10时10分宣布开会。", "closing", False),
])
def test_which_passages_hold_an_answer(passage: str, kind: str, held: bool) -> None:
    assert holds(kind, passage) is held
    assert bool(holds_bits(passage) & bit(kind)) is held
