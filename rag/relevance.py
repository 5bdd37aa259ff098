"""Does the corpus speak to a question at all? Lexical coverage of its content words.

The dense z-score (rag.retrieve) measures whether the best passage stands out from the others;
it does not tell an off-topic question from an answerable one (measured on eval/offtopic.jsonl's
calibration half: the z of gibberish and everyday questions, 2.5-4.5, overlaps the answerable
ones, 1.7-8.8). Coverage does: the share of the question's content words that the indexed text
contains, each weighted by its BM25 idf, a word the index has never seen weighing the most.
`xyzzy`, `今天天气怎么样？` and `How do I bake sourdough bread?` cover 0.0, 0.29 and 0.15;
answerable questions 0.47 and up.

Content words: the scoring text's tokens (what is left once named documents and speakers became
filters), minus the question words of rag/data/question_words.txt. Chinese questions are measured
against the jieba BM25 vocabulary; English ones against the official English's vocabulary, where
a UN term of the English->Chinese glossary counts as covered, and so does an English stem that
begins a word of the vocabulary (`defin`, `definit`: the stemmer cuts the forms apart). An index without any English cannot
measure an English question: `measured` is then False and nothing is refused on coverage.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.entities import Entity
from rag.lexical import DATA, BM25, has_cjk

QUESTION_WORDS_FILE = DATA / "question_words.txt"


@dataclass(frozen=True)
class Coverage:
    score: float  # idf-weighted share of the content words the index holds (1.0 when there are none)
    content: tuple[str, ...]  # the content tokens
    missing: tuple[str, ...]  # those the index has never seen
    measured: bool = True  # False: no vocabulary for the question's language

    def to_dict(self) -> dict[str, object]:
        return {"score": round(self.score, 3), "content": list(self.content),
                "missing": list(self.missing), "measured": self.measured}


@functools.lru_cache(maxsize=4)
def question_words(path: Path = QUESTION_WORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@functools.lru_cache(maxsize=8)
def _analyzed_question_words(analyzer) -> frozenset[str]:
    """The question words as an English analyzer tokenizes them (stemmed), once per analyzer."""
    return frozenset(analyzer.tokenize(" ".join(question_words())))


def coverage(text: str, bm25: BM25 | None, covered: Sequence[str] = ()) -> Coverage:
    """Coverage of `text` (the scoring text) by the vocabulary of `bm25` (the Chinese one for a
    Chinese text, the English one otherwise); `covered`: tokens to count as held (glossary terms)."""
    if bm25 is None:
        return Coverage(1.0, (), (), measured=False)
    ignore = question_words() if has_cjk(text) else _analyzed_question_words(bm25.tokenizer)
    content = tuple(t for t in dict.fromkeys(bm25.tokenizer.tokenize(text))
                    if t.lower() not in ignore and not _asks(t, ignore))
    df = bm25.document_frequencies(content)
    n, held = len(bm25), set(covered)
    unseen = _idf(0, n)
    total = score = 0.0
    missing = []
    for token in content:
        weight = _idf(df[token], n) if df.get(token) else unseen
        total += weight
        if df.get(token) or token in held or (not has_cjk(token) and len(token) >= 4 and bm25.extends(token)):
            score += weight
        else:
            missing.append(token)
    return Coverage(score / total if total else 1.0, content, tuple(missing))


def _asks(token: str, words: frozenset[str]) -> bool:
    """A compound jieba keeps beside its parts (`哪些项目` beside `项目`) that opens with a
    question word of two or more characters: the question word glued to its noun."""
    return has_cjk(token) and any(token != w and len(w) > 1 and token.startswith(w) for w in words)


def _idf(df: int, n: int) -> float:
    """BM25's (Lucene) idf, as rag.lexical.BM25 scores with."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


# Bodies a question may be about; states and persons are handled as speakers (rag.pipeline._absent).
BODY_KINDS = ("organ", "office", "organization")
_TITLE = re.compile(r"《([^《》]{2,60})》")


def unmentioned(question: str, entities: Iterable[Entity], mentioned: Callable[[set[str]], bool]) -> list[str]:
    """What the question names that no held document mentions: a UN body, office or organization
    (by any of its Chinese names) or a title in 《》 (a treaty, a report). A question about
    UNCITRAL's model laws or 《生物多样性公约》 is outside a corpus that never names them, however
    many of its other words the corpus holds (`coverage` cannot see that). `mentioned`: does some
    chunk hold one of these names (rag.index.Index.names). Chinese names, in question order."""
    out = [e.canonical for e in entities if e.kind in BODY_KINDS and not mentioned(set(e.zh_names()))]
    out += [t for t in _TITLE.findall(question) if not mentioned({t})]  # as written: messages quote it
    return list(dict.fromkeys(out))
