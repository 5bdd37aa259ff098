"""Expected answer types: what kind of answer a question asks for, and which passages hold one.

A classic QA cue that the embedding model misses inside one speaker's turn: "几点开始" wants a
clock time, "多少" a quantity, "哪些建议 / 哪几点" the paragraph that opens an enumeration,
"第一点" the paragraph that starts "第一，". The retriever turns each detected type into a boosted
ranked list (passages that hold such an answer, ordered by the dense score); it never filters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_NUM = "一二三四五六七八九十两"
# An English question about how a resolution was adopted: on whose recommendation or proposal, at
# which meeting (the bracketed line under a resolution's title says so). rag.query reads it too.
ADOPTION_EN = (r"\bon (?:the|whose|which|what) recommendation\b|\bon (?:whose|which|what) proposal\b|"
               r"\b(?:adopted|resolution|decision)\b.{0,80}\bon (?:a|the) proposal\b|"
               r"\b(?:proposal|recommendation) on which\b|\brecommended (?:the|this|that)\b.{0,60}\b(?:resolution|decision)\b|"
               r"\b(?:which|what) (?:\w+ ){0,2}(?:commission|committee|body|organ)\b.{0,20}\brecommended\b|"
               r"\bat which (?:plenary )?meeting\b.{0,60}\badopted\b|\bplenary meeting\b")

# Who signed a letter or note, to whom and when it was sent: its signature and title blocks. Only
# with the letter or note as the subject or object: who signed a treaty, which States are its
# signatories, or what a document calls on States to sign, is content.
_LETTER = r"(?:信|函|照会)"
_LETTER_EN = r"(?:letter|note verbale|note)"
_LETTER_EN_ANY = r"(?:letter|note verbale|note|communication|message)"
SIGNATURE_Q = (_LETTER + r"[^，。？?]{0,8}(?:由)?谁签|谁签(?:署|发)?了?(?:这|该|那|此|本)(?:封|份)?" + _LETTER + "|"
               + _LETTER + r"[^，。？?]{0,8}(?:签署人|署名)|签署人是谁|落款|" + _LETTER + r"(?:上)?的签名|"
               r"\bwho signed (?:the|this|that) (?:[\w'’]+ ){0,4}" + _LETTER_EN + r"\b|\bsigned (?:the|this|that) "
               r"(?:[\w'’]+ ){0,4}" + _LETTER_EN + r"\b|\b" + _LETTER_EN + r" (?:was|is) signed by\b|"
               r"\bby whom was (?:the|this|that) (?:[\w'’]+ ){0,6}" + _LETTER_EN + r"\b.{0,60}\bsigned\b|"
               r"\bsignature (?:on|of|under) (?:the|this|that) (?:[\w'’]+ ){0,4}" + _LETTER_EN + r"\b")
ADDRESSEE_Q = (r"收件人|" + _LETTER + r"[^，。？?]{0,8}(?:(?:写|发|寄|致)给谁|是给谁的)|"
               + _LETTER + r"[^，。？?]{0,10}(?:哪一?天|何时|什么时候)(?:发出|写的|发的)|"
               r"\bto whom (?:was|is|were|are) (?:the |this |that )?(?:[\w'’]+ ){0,10}" + _LETTER_EN_ANY
               + r"\b.{0,60}\b(?:addressed|sent|written)\b|"
               r"\bto whom did .{0,60}\b(?:send|address|write)\b.{0,30}\b" + _LETTER_EN_ANY + r"\b|"
               r"\b" + _LETTER_EN_ANY + r"\b.{0,60}\b(?:(?:was|is) addressed to|(?:addressed|sent|written) to whom)\b")
# Which session a document belongs to (its front matter: `2023年届会`, `2022年7月25日至2023年7月26日`),
# not a session named as the question's context (`在经社理事会2023年届会上，…`)
SESSION_Q = (r"哪一?届会|属于[^，。？?]{0,12}(?:哪|什么)[^，。？?]{0,4}届|届会(?:是|为)(?:哪|什么)|"
             r"届会(?:从|于)?(?:何时|什么时候)|\b(?:which|what) session\b")
# What a resolution or decision annexes (`附件 G (70)号决定`), not a territory annexed
ANNEX_Q = (r"附件(?:是|为|中是)什么|所附的?(?:是|为)?(?:什么|哪)|\bannexed to\b|\bwhat is annexed\b|"
           r"\bwhat (?:is|does) the annex\b")


@dataclass(frozen=True)
class AnswerType:
    name: str
    question: re.Pattern[str]  # the question asks for this type
    passage: re.Pattern[str]  # a passage holds an answer of this type


TYPES = (
    AnswerType(
        "time",
        re.compile(r"几点|何时|什么时候|哪一?年|哪一?天|哪个月|日期|\bwhen\b|what time|what date|"
                   r"which (?:year|date|day)|since when|by when|how long ago", re.I),
        re.compile(r"\d{1,2}时(?:\d{1,2}分)?|\d{4}年代?|\d{1,2}月\d{1,2}日|[上下]午|至迟于|不迟于")),
    AnswerType(
        "quantity",
        re.compile(rf"多少|几[个名次人项]|多大|百分之|比例|\bhow (?:many|much)\b|what (?:percentage|share|number)",
                   re.I),
        re.compile(rf"\d+(?:\.\d+)?\s*(?:%|％|名|个|万|亿|人|剂|次|项|架|国)|百分之|[{_NUM}]+[万千百]|"
                   rf"[{_NUM}]分之[{_NUM}]|半数|一半")),
    AnswerType(
        "enumeration",
        re.compile(rf"哪些|哪几|几点|[{_NUM}]点|哪[{_NUM}]个|什么建议|what (?:points|recommendations|"
                   r"proposals|steps|measures|objectives|goals|priorities)|which (?:points|objectives|goals)",
                   re.I),
        re.compile(rf"[{_NUM}\d]+(?:点|个目标|项建议|项原则)|第一[，,、：:]|首先[，,]|一是")),
    # how a resolution or decision was adopted: its front matter says on whose recommendation and
    # at which plenary meeting (`[根据欧洲经济委员会的建议(E/2023/15/Add.1)通过]`, `第43次全体会议`)
    AnswerType(
        "adoption",
        re.compile(r"根据(?:谁|哪个|哪些|什么|.{0,20}的)建议|哪(?:一)?次(?:全体)?会议上?通过|第几次全体会议|"
                   r"根据(?:哪|什么).{0,6}提案|" + ADOPTION_EN, re.I),
        re.compile(r"根据[^。\n]{1,60}(?:的建议|提案)[^。\n]{0,30}通过|第\d+次全体会议|\bon the recommendation of\b|"
                   r"\bon a proposal\b|\bplenary meeting\b", re.I)),
    # a document's place in the UN's business and its letter form, read in its front matter,
    # headings and signature block (`议程项目19`, `2023年届会`, `…给秘书长的信`, `附件`, `(签名)`)
    AnswerType("agenda_item", re.compile(r"哪(?:一|个)?项?议程|议程项目(?:是|为)?(?:什么|第?几|哪)|"
                                         r"\b(?:which|what) (?:\w+ ){0,2}agenda items?\b", re.I),
               re.compile(r"议程项目\s*\d+")),
    AnswerType("session", re.compile(SESSION_Q, re.I),
               re.compile(r"\d{4}年届会|第[一二三四五六七八九十百]+届会议")),
    AnswerType("addressee", re.compile(ADDRESSEE_Q, re.I),
               re.compile(r"给[^。\n]{1,40}的(?:普通)?(?:信|函|照会)|向[^。\n]{1,30}致意|谨致函")),
    AnswerType("annex", re.compile(ANNEX_Q, re.I),
               re.compile(r"(?:^|的|见)附件(?:[一二三四五六七八九十]|\s|$|\))|所附|随函附上", re.M)),
    AnswerType("signature", re.compile(SIGNATURE_Q, re.I),
               re.compile(r"\(签名\)|（签名）|(?:常驻(?:联合国)?代表|临时代办)\s*$", re.M)),
    # at which plenary meeting a resolution was adopted: its closing line (`第35次全体会议`)
    AnswerType("plenary", re.compile(r"哪一?次(?:全体)?会议上?通过|第几次全体会议|\bat which (?:plenary )?meeting\b|"
                                     r"\b(?:which|what) plenary meeting\b", re.I),
               re.compile(r"第\d+次全体会议")),
    # when a meeting was called to order and when it rose: the record's procedural lines
    # (`上午10时10分宣布开会。`, `上午11时35分散会。`), not the time it was convened for
    AnswerType("opening", re.compile(r"会议(?:是|于)?(?:几点|何时|什么时候)(?:宣布)?(?:开会|开始|开的)|"
                                     r"(?:几点|何时|什么时候)(?:宣布)?开会|\bcalled to order\b|"
                                     r"\b(?:what time|when) did (?:the|this|that) meeting (?:start|begin|open)\b", re.I),
               re.compile(r"\d{1,2}时(?:\d{1,2}分)?(?:宣布)?开会")),
    AnswerType("closing", re.compile(r"会议(?:是|于)?(?:几点|何时|什么时候)(?:散会|结束)|(?:几点|何时|什么时候)散会|"
                                     r"\bmeeting (?:rose|was adjourned)\b|\bwhen was (?:the|this|that) "
                                     r"meeting adjourned\b|\b(?:what time|when) did (?:the|this|that) meeting "
                                     r"(?:close|end|finish|rise)\b", re.I),
               re.compile(r"\d{1,2}时(?:\d{1,2}分)?散会")),
    # which treaty, convention, agreement or framework: a passage that names one by its title
    # (《巴黎协定》, 《关于国内流离失所问题的指导原则》)
    AnswerType("instrument", re.compile(r"哪(?:一)?(?:份|项|个|部)(?:文件|公约|条约|协定|宣言|文书)|"
                                        r"什么(?:公约|条约|协定|文书)|"
                                        r"\b(?:which|what) (?:\w+ ){0,2}(?:treaty|treaties|convention|instrument|"
                                        r"declaration)\b", re.I),
               re.compile(r"《[^》]{2,80}》")),
    # which month: `担任9月份主席期间`, `委员会于5月举行了…` (a clock time or a full date is "time")
    AnswerType(
        "month",
        re.compile(r"几月|哪(?:一)?个月|\b(?:which|what) month\b", re.I),
        re.compile(rf"\d{{1,2}}月|[{_NUM}]+月份?|\b(?:January|February|March|April|May|June|July|August|"
                   r"September|October|November|December)\b")),
)

_ORDINAL_Q = re.compile(rf"第([{_NUM}])[点个项条]|\b(first|second|third|fourth|fifth) (?:point|element|pillar|objective|goal)\b", re.I)
_EN_ORDINAL = {"first": "一", "second": "二", "third": "三", "fourth": "四", "fifth": "五"}


def detect(question: str) -> list[str]:
    """Names of the answer types the question asks for (an ordinal is 'ordinal:<n>')."""
    found = [t.name for t in TYPES if t.question.search(question)]
    m = _ORDINAL_Q.search(question)
    if m:
        n = m.group(1) or _EN_ORDINAL[m.group(2).lower()]
        found = [f"ordinal:{n}" if name == "enumeration" else name for name in found] or [f"ordinal:{n}"]
        if f"ordinal:{n}" not in found:
            found.append(f"ordinal:{n}")
    return found


# Every type a passage can hold, in bit order: what an index precomputes per chunk at build.
HOLD_NAMES = (*(t.name for t in TYPES), *(f"ordinal:{n}" for n in _NUM))


def bit(type_name: str) -> int:
    """The bit of a type in `holds_bits` (0 for a type no index precomputes)."""
    return 1 << HOLD_NAMES.index(type_name) if type_name in HOLD_NAMES else 0


def holds_bits(text: str) -> int:
    """Every type the passage holds, as bits (see HOLD_NAMES)."""
    return sum(1 << i for i, name in enumerate(HOLD_NAMES) if holds(name, text))


def signature() -> str:
    """Changes whenever `holds` would answer differently (indexes precompute it)."""
    parts = [t.passage.pattern for t in TYPES] + [_ORDINAL_PASSAGE, *HOLD_NAMES]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


_ORDINAL_PASSAGE = "第{n}[，,、：:]|{first}[，,]"


def holds(type_name: str, text: str) -> bool:
    """Does the passage hold an answer of this type?"""
    if type_name.startswith("ordinal:"):
        n = type_name.split(":", 1)[1]
        pattern = _ORDINAL_PASSAGE.format(n=n, first="首先" if n == "一" else "(?!)")
        return re.search(pattern, text) is not None
    kind = next(t for t in TYPES if t.name == type_name)
    return kind.passage.search(text) is not None
