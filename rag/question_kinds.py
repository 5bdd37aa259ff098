"""What kind of question it is, from its words alone: the kinds of UN document it names (a boost
toward them, rag.filters) and whether it asks about a document's structure (only such questions
may be answered from headings and front matter). Read by rag.query.parse_query and rag.followup.
"""

from __future__ import annotations

import re

from rag.answer_types import ADDRESSEE_Q, ADOPTION_EN, ANNEX_Q, SESSION_Q, SIGNATURE_Q
from rag.text import nfkc


# ---------------------------------------------------------------- document kinds

# Words that name a kind of UN document (the manifest's closed vocabulary, docs/ingestion.md).
# A word may name several kinds ("meeting": a verbatim or a summary record). Longer terms come
# first and are blanked once found, so 决议草案 is not also 决议 and 主席声明 not also 声明.
_LETTER_ZH = r"信函|信件|书信|来信|封信|(?:该|此|这|的)信(?![息任心号用誉念仰赖托守使奉服贷])"
DOC_TYPE_PATTERNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("presidential_statement",), re.compile(
        r"主席声明|presidential\s+statements?|statements?\s+by\s+the\s+President|\bPRST\b", re.I)),
    (("draft_resolution",), re.compile(r"决议草案|\bdraft\s+resolutions?\b", re.I)),
    (("resolution",), re.compile(r"决议|\bresolutions?\b", re.I)),
    (("decision",), re.compile(r"(?:该|此|这项|这一|一项|项|号)决定|\bdecisions?\b", re.I)),
    (("summary_record",), re.compile(r"简要记录|\bsummary\s+records?\b", re.I)),
    (("meeting_record",), re.compile(r"逐字记录|\bverbatim\s+records?\b", re.I)),
    # the meeting itself: `会议上`, `这次会议`, `会议是几点…`, `meeting`, `debate`. A bare Chinese 会议/辩论
    # is often the topic (`年度专题辩论`, `政府间会议`, `在…举行的会议上通过`), not the record asked
    # about (tuning sets: hit@1 93 -> 94 of 110)
    (("meeting_record", "summary_record"), re.compile(
        r"(?<!的)会议上|辩论中|在(?:这次|本次|该次|此次)?会议|^会议|(?:这次|本次|该次|此次)会议|"
        r"会议(?:是|于|在|几点|何时|什么时候)|\bmeetings?\b|\bdebates?\b",
        re.I)),
    (("note_verbale",), re.compile(r"普通照会|照会|\bnotes?\s+verbales?\b", re.I)),
    (("working_paper",), re.compile(r"工作文件|解释性说明|\bworking\s+papers?\b|\bexplanatory\s+notes?\b", re.I)),
    (("letter",), re.compile(_LETTER_ZH + r"|概念说明|\bletters?\b|\bconcept\s+notes?\b", re.I)),
    # a report as a document held, not one a resolution asks for (提交报告, submit a report)
    (("report",), re.compile(r"(?:该|此|这份|这一|本|那份)报告|报告(?:中|里|指出|称)|"
                             r"\b(?:the|this|that)\s+report\b(?!\s+(?:to|on\s+progress))", re.I)),
    (("agenda",), re.compile(r"议程|\bagendas?\b", re.I)),
)


def find_doc_types(text: str) -> tuple[str, ...]:
    """Kinds of document named by free-standing words. Every kind named is kept (a filter over
    their union): a question naming a resolution and a debate may be about either."""
    found: list[str] = []
    for kinds, pat in DOC_TYPE_PATTERNS:
        if pat.search(text):
            found.extend(kinds)
            text = pat.sub(" ", text)
    return tuple(dict.fromkeys(found))


# ---------------------------------------------------------------- structure

# Questions about a document's structure rather than its content: the agenda, the contents, the
# headings, who chaired or presided, where and when a meeting was held, how a document is titled,
# who signed a letter and to whom it went.
# Only these may be answered from headings and front matter (chunk role heading | front_matter).
STRUCTURE_RE = re.compile(
    r"议程|议题|目录|标题|题目|主持|主席是谁|谁(?:担任|是)?主席|谁主持|在哪里举行|何时举行|举行的?(?:时间|地点)|"
    r"几点(?:开会|散会|宣布开会|开始|结束)|开会|散会|会议地点|"
    # which document a letter or report is: its title block and symbol
    r"文号|哪(?:一)?(?:份|个)文件|\bwhich document\b|\bdocument symbol\b|"
    # how a resolution or decision was adopted: its front matter says (根据…的建议通过, 第43次全体会议)
    r"根据(?:谁|哪个|哪些|.{0,20}的)建议通过|根据谁的建议|根据(?:哪|什么).{0,6}提案|何时通过|哪一?天通过|"
    r"通过(?:的)?(?:日期|时间)|全体会议|\bon the recommendation of\b|\bwhen was .{0,80}\badopted\b|" + ADOPTION_EN + "|"
    # which session a document belongs to, what a resolution annexes
    + SESSION_Q + "|" + ANNEX_Q + "|"
    r"\bsymbol of (?:the |this |that )?(?:\w+ ){0,3}(?:resolution|decision|document|letter|report|proposal|"
    r"note|paper|statement)\b|"
    # who signed a letter or note, to whom and when it was sent
    + SIGNATURE_Q + "|" + ADDRESSEE_Q + "|"
    # `the Chair's paper`, `the Vice-Chair` name a speaker; `who chaired`, `who was the chair` ask
    r"\bagenda\b|\btable of contents\b|\bcontents\b|\bheadings?\b|\btitled?\b|\bchair(?:ed|ing)\b|"
    r"\bwho chairs\b|"
    r"\bpresid(?:ed|es|ing)\b|\bwho (?:was|is) (?:the )?(?:chair|president)\b|\bwhere (?:was|is) .{0,40}\bheld\b|"
    r"\bcalled to order\b|\brose at\b|\badjourned\b|"
    r"\bwhat time did .{0,60}\b(?:start|begin|open|close|end)\b|\bwhen did the meeting (?:start|begin|open|close|end)\b", re.I)


def asks_structure(question: str) -> bool:
    """Does the question ask about the document's structure (agenda, headings, chair, time and
    place of the meeting) rather than what was said? See STRUCTURE_RE."""
    return bool(STRUCTURE_RE.search(nfkc(question)))
