"""A question that names a document the corpus does not hold (rag.query: `unknown_symbols`).

Two questions decide what to do with it:

- Does it ask for that document's own text: what it says, decides or imposes, a paragraph of it
  (`What does resolution 2086 (2013) say`, `主席声明S/PRST/2021/17第5段`, `根据A/78/35`)? Only the
  document can answer that: refuse, and say which held documents mention it.
- Otherwise it asks about the document as the held documents speak of it (`Who introduced the
  report A/78/35?`, `谁提到了第2589(2021)号决议？`): answer from the held documents that name it,
  and say that the document itself is not held.

A document "names" the symbol when the question grammar (rag.query.find_refs) reads the same
reference in one of its chunks: 第2589(2021)号决议 names S/RES/2589 (2021); a bare 2589 does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from dataclasses import replace

from rag.query import find_refs
from rag.records import SearchResult
from rag.text import nfkc

# A paragraph of the document, attached to its reference (`S/RES/2518第5段`, `paragraph 3 of
# resolution 2086`): only its text can answer. `Who named it in paragraph 3?` is not.
PARAGRAPH_AFTER = re.compile(r"^\s*(?:的\s*)?(?:第\s*[\d一二三四五六七八九十]+\s*段|执行部分|序言部分)|"
                             r"^\s*,?\s*(?:operative\s+|preambular\s+)?paragraphs?\s+\d", re.I)
PARAGRAPH_BEFORE = re.compile(r"\b(?:(?:operative|preambular)\s+)?(?:paragraphs?|paras?\.)\s*\d+\s*(?:\([a-z]\)\s*)?"
                              r"of\s+(?:the\s+)?(?:[\w-]+\s+){0,3}$", re.I)
# The document as the subject of its own verbs (Chinese: the verb follows it in the clause), or
# its text (X中, X的内容).
ITS_VERB_ZH = re.compile(r"^(?:\s*[(（][^)）]*[)）])?(?:\s*(?:中|里|的内容|内容|全文|案文)|[^，。？！,.?!]{0,12}?"
                         r"(?:说|称|规定|决定|要求|请|呼吁|敦促|促请|指出|强调|写道|载有|提出|设立|授权|实施|施加|欢迎|"
                         r"注意到|重申|谴责|建议))")
# ... unless the document is what others speak about: 委员会就X说了什么, 对X的立场.
TOPIC_BEFORE_ZH = re.compile(r"(?:就|对|关于|有关|对于)[^，。？！]{0,8}$")
# The document as the source: 根据X, 按照X, according to X, under X.
SOURCE_BEFORE = re.compile(r"(?:根据|按照|依照|依据)\s*$|\b(?:according\s+to|under)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}$",
                           re.I)
_EN_VERBS = (r"say|state|decide|request|call|urge|demand|impose|establish|provide|contain|require|"
             r"authori[sz]e|recall|welcome|note|stress|emphasi[sz]e|reaffirm|condemn|cover|address|"
             r"recommend|set|ask|express|extend|renew|adopt")
# English: "did resolution 1970 (2011) impose", "what does the ECOSOC resolution 2023/1 … decide",
# "A/78/35 states". Between the auxiliary and the document only its own designation may stand
# (capitalized names, document nouns): `did Kenya respond to resolution X adopted …` is Kenya's.
AUXILIARY_BEFORE = re.compile(r"\b(?:does|did|do|will|would|can)\s+(?:the\s+)?(?:(?:[A-Z][\w-]*|resolutions?|"
                              r"decisions?|reports?|statements?|documents?|draft|letters?|notes?|verbales?|papers?|"
                              r"working)\s+){0,5}$")
ITS_VERB_EN = re.compile(rf"^(?:\s*\([^)]*\))?\s+(?:[\w-]+\s+){{0,8}}?(?:{_EN_VERBS})\b", re.I)
# present tense only: `resolution X adopted that year` is a participle, not the document's act
ITS_VERB_EN_FINITE = re.compile(rf"^(?:\s*\([^)]*\))?\s+(?:{_EN_VERBS})(?:s|es)\b", re.I)


def asks_its_text(question: str, symbol: str) -> bool:
    """Does the question ask for what the document `symbol` (as rag.query displays it) itself says?"""
    text = nfkc(question)
    for ref in find_refs(text):
        if ref.display() != symbol:
            continue
        before, after = text[:ref.start][-40:], text[ref.end:]
        if PARAGRAPH_AFTER.match(after) or PARAGRAPH_BEFORE.search(before) or SOURCE_BEFORE.search(before):
            return True
        if ITS_VERB_ZH.match(after) and not TOPIC_BEFORE_ZH.search(before):
            return True
        if ITS_VERB_EN_FINITE.match(after) or (AUXILIARY_BEFORE.search(before) and ITS_VERB_EN.match(after)):
            return True
    return False


def names_symbol(text: str, symbol: str) -> bool:
    """Does `text` name the document `symbol` (read as a question's reference would be)?"""
    wanted = find_refs(symbol)
    return any(ref.same(w) for ref in find_refs(text) for w in wanted)


def mentioning(index: Any, symbols: Sequence[str]) -> list[str]:
    """Ids of the documents (manifest order) with a chunk that names one of `symbols`: candidate
    chunks through the vocabulary, then the reference read in their text."""
    found: set[str] = set()
    for symbol in symbols:
        for ref in find_refs(symbol):
            # the token that must hold it: a resolution or meeting by its number (第2589(2021)号决议,
            # 第8838次会议, 247 of 第77/247号决议), any other symbol whole (A/78/35 is one token)
            needle = str(ref.number) if ref.number is not None else ref.symbol
            if ref.session_number:  # 77/247 is two tokens: the longer number finds the chunk
                needle = max(ref.session_number.split("/"), key=len)
            rows = index.bm25.ids_with(needle).tolist() if needle else []
            found |= {c.doc_id for c in index.get_chunks(rows) if names_symbol(c.text, symbol)}
    return [d.id for d in index.documents if d.id in found]


def naming(result: SearchResult, symbols: Sequence[str], top_k: int) -> SearchResult:
    """The passages that name one of `symbols`, best first, at most `top_k`: where the held
    documents speak of the unheld one is the only evidence about it."""
    keep = [p for p in result.passages if any(names_symbol(p.chunk.text, s) for s in symbols)][:top_k]
    return SearchResult(result.query, tuple(replace(p, rank=i) for i, p in enumerate(keep, 1)),
                        result.diagnostics)


def unheld_note(lang: str, symbols: Sequence[str], names: Sequence[str], ours: bool) -> str:
    """The line that opens such an answer; `ours`: the documents searched are the ones that name
    it (else the caller's filter chose them)."""
    if lang == "zh":
        where = f"以下回答出自提到它的文件：{'、'.join(names)}。" if ours else f"以下回答出自所选文件：{'、'.join(names)}。"
        return f"现有文件中没有{'、'.join(symbols)}；{where}"
    where = "the documents that mention it" if ours else "the documents selected"
    return f"{'; '.join(symbols)} is not among the documents held; this answer comes from {where}: {'; '.join(names)}."
