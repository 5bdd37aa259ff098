"""Extractive cited answers (the default, no LLM) and abstention answers.

`compose_extractive` quotes the sentences of the top passages that best answer the question and
frames each group of quoted sentences with who said them where:

    zh: 戴兵先生（中国）在S/PV.8838中指出：“…”[1]
    en: China (戴兵先生（中国）, S/PV.8838) said: “…” [1]

Guarantees (tested): every quoted piece stands verbatim in its cited passage's text; every [n]
refers to `citations[n-1]`; citations hold only cited passages, numbered by first use; sentences
of one passage share one marker. When the symbol is None the document title is named instead:
a symbol is never invented.

Sentence score = lexical coverage of the question (jieba tokens, see `lexical_scores`), averaged
with the caller's `sentence_score` (e.g. embedding similarities) after min-max scaling within the
candidates, because e5 similarities are compressed into a narrow band and only their order means
something.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from rag.errors import InputError
from rag.kinds import WRITTEN_KINDS
from rag.entities import load_entities
from rag.records import Answer, Passage
from rag.sentences import split_english, split_sentences

LANGS = ("zh", "en")
# A non-best sentence is quoted only when its score reaches this share of the best score: keeps
# the answer on the point instead of padding it with the rest of the passage.
RELATIVE_CUT = 0.5
DOCUMENT_TYPES = WRITTEN_KINDS  # kinds that state in writing ("写道", "states"); records speak

SentenceScore = Callable[[str, Sequence[str]], Sequence[float]]


class TokenizerLike(Protocol):
    def tokenize(self, text: str) -> list[str]: ...


@lru_cache(maxsize=1)
def default_tokenizer() -> TokenizerLike:
    """The project's jieba tokenizer (UN terms kept whole), built once on first use."""
    from rag.lexical import Tokenizer

    return Tokenizer()


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise InputError(f"lang must be one of {LANGS}, got {lang!r}")


# --- abstention -------------------------------------------------------------------------------

def weak_evidence_message(lang: str) -> str:
    _check_lang(lang)
    if lang == "zh":
        return "在现有文件中没有找到足以回答这个问题的内容。请换一种说法，或指明文件（如S/PV.8838）或发言者。"
    return ("The documents held do not contain enough evidence to answer this question. Try rephrasing it, "
            "or name a document (e.g. S/PV.8838) or a speaker.")


def absent_speaker_message(lang: str, speaker: str, where: str, present: Sequence[str]) -> str:
    """'Brazil did not speak in S/PV.8838; these did: …' (`present`: speaker labels as written)."""
    _check_lang(lang)
    who = "、".join(present) if lang == "zh" else "; ".join(present)
    if lang == "zh":
        return f"{speaker}没有在{where}中发言。在{where}中发言的有：{who}。" if present else \
            f"现有文件中没有{speaker}的发言。"
    return (f"{speaker} did not speak in {where}. Speakers in {where}: {who}." if present
            else f"The documents held contain no statement by {speaker}.")


def unmentioned_message(lang: str, names: Sequence[str]) -> str:
    """'The documents held do not mention UNCITRAL.'"""
    _check_lang(lang)
    if lang == "zh":
        return f"现有文件没有提到{'、'.join(names)}。"
    return f"The documents held do not mention {'; '.join(names)}."


def absent_document_message(lang: str, reference: str, available: Sequence[str]) -> str:
    """'S/PV.9999 is not in the corpus; it holds: …' (`available`: symbols or titles)."""
    _check_lang(lang)
    if lang == "zh":
        return f"现有文件中没有{reference}。可查询的文件有：{'、'.join(available)}。"
    return f"{reference} is not among the documents held. Available: {'; '.join(available)}."


def abstain(question: str, lang: str, message: str | None = None,
            diagnostics: dict[str, Any] | None = None) -> Answer:
    """answerable False, no citations; `message` (already in the question's language) or the
    default weak-evidence message."""
    _check_lang(lang)
    text = message.strip() if message and message.strip() else weak_evidence_message(lang)
    return Answer(question=question, answer=text, answerable=False, citations=(),
                  diagnostics={"mode": "abstain"} | dict(diagnostics or {}))


# --- sentences and scores ---------------------------------------------------------------------

@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the candidate passages
    start: int  # offsets into the passage text; text == passage text[start:end]
    end: int
    text: str


def sentences_of(text: str, passage: int = 0) -> list[Sentence]:
    """The sentences of `text` with their offsets, surrounding whitespace trimmed."""
    out, pos = [], 0
    for piece in split_sentences(text):
        at = text.index(piece, pos)
        pos = at + len(piece)
        lead = len(piece) - len(piece.lstrip())
        s = piece.strip()
        out.append(Sentence(passage, at + lead, at + lead + len(s), s))
    return out


def content_tokens(tokenizer: TokenizerLike, text: str) -> set[str]:
    """Tokens that carry content: the tokenizer already drops punctuation and stopwords."""
    return {t for t in tokenizer.tokenize(text) if t.strip()}


def lexical_scores(tokenizer: TokenizerLike, question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's content tokens found in each sentence, each token weighted by its
    length in characters (capped at 4): 维和人员 says more than 人."""
    q = content_tokens(tokenizer, question)
    total = sum(min(len(t), 4) for t in q)
    if not total:
        return [0.0] * len(sentences)
    return [sum(min(len(t), 4) for t in q & content_tokens(tokenizer, s)) / total for s in sentences]


def _min_max(values: Sequence[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [0.0 if hi == lo else (v - lo) / (hi - lo) for v in values]


def score_sentences(question: str, sentences: Sequence[str], tokenizer: TokenizerLike,
                    sentence_score: SentenceScore | None = None) -> list[float]:
    lex = lexical_scores(tokenizer, question, sentences)
    if sentence_score is None or not sentences:
        return lex
    dense = [float(x) for x in sentence_score(question, list(sentences))]
    if len(dense) != len(sentences):
        raise ValueError(f"sentence_score returned {len(dense)} scores for {len(sentences)} sentences")
    return [(a + b) / 2 for a, b in zip(lex, _min_max(dense))]


def select(cands: Sequence[Sentence], scores: Sequence[float], max_sentences: int) -> list[Sentence]:
    """The best sentence of the top passage always; then the best others reaching RELATIVE_CUT of
    the best score. With no positive score at all, the top passage's first sentences."""
    top = [i for i, s in enumerate(cands) if s.passage == 0]
    if not top:
        return []
    best = max(scores) if scores else 0.0
    if best <= 0:
        return list(cands[i] for i in top[:max_sentences])
    first = max(top, key=lambda i: (scores[i], -i))
    chosen = [first]
    for i in sorted(range(len(cands)), key=lambda i: (-scores[i], i)):
        if len(chosen) >= max_sentences or scores[i] < RELATIVE_CUT * best:
            break
        if i != first and scores[i] > 0:
            chosen.append(i)
    return [cands[i] for i in chosen]


# --- frames -----------------------------------------------------------------------------------

def english_name(zh: str) -> str | None:
    """English name of a Chinese state or body name (short name, record form or alias): see
    rag.entities.Gazetteer.en_name."""
    return load_entities().en_name(zh)


def _where(p: Passage) -> tuple[str, str]:
    """(zh, en) names of the document: its symbol, else its title; never an invented symbol."""
    if p.chunk.symbol:
        return p.chunk.symbol, p.chunk.symbol
    title = p.title or p.chunk.doc_id
    return f"《{title}》", f"《{title}》"


def speaker_en(p: Passage) -> str | None:
    """English name of the passage's speaker, or None when none is known."""
    info, label = p.chunk.speaker_info, p.chunk.speaker
    if p.chunk.doc_type == "presidential_statement":  # not the President of any one meeting
        organ = english_name(info.affiliation) if info and info.affiliation else None
        if organ:
            organ = organ.removeprefix("The ").removeprefix("the ")
            body = "Council" if organ.endswith("Council") else organ
            return f"The President of the {organ}, on behalf of the {body}"
        return None
    national = info is not None and info.capacity == "national"
    if info and not national and (info.capacity == "president" or info.role == "主席"):
        return english_name("主席")
    for key in (info.affiliation if info else None, label):
        if key and english_name(key):
            return english_name(key)
    return None


def frame(p: Passage, quote: str, marker: int, lang: str) -> str:
    """One cited group: who said the quoted sentences, where, then the marker."""
    zh_where, en_where = _where(p)
    speaker = p.chunk.speaker or (p.chunk.speaker_info.affiliation if p.chunk.speaker_info else None)
    is_document = p.chunk.doc_type in DOCUMENT_TYPES
    if lang == "zh":
        verb = "写道" if is_document else "指出"
        lead = f"{speaker}在{zh_where}中{verb}" if speaker else f"{zh_where}中写道"
        return f"{lead}：{quote}[{marker}]"
    verb = "states" if is_document else "said"
    if not speaker:
        return f"The document {en_where} {verb}: {quote} [{marker}]"
    en = speaker_en(p)
    who = f"{en} ({speaker}, {en_where})" if en and en != speaker else f"{speaker} ({en_where})"
    return f"{who} {verb}: {quote} [{marker}]"


def quote_group(text: str, group: Sequence[Sentence]) -> tuple[str, list[str]]:
    """Quote the sentences in reading order; adjacent ones as one exact span of the source,
    separated ones as separate quotations joined by an ellipsis. Returns (quote, quoted pieces)."""
    spans: list[list[int]] = []
    for s in sorted(group, key=lambda s: s.start):
        if spans and not text[spans[-1][1]:s.start].strip():
            spans[-1][1] = s.end
        else:
            spans.append([s.start, s.end])
    pieces = [text[a:b] for a, b in spans]
    return "……".join(f"“{q}”" for q in pieces), pieces


def official_english(question: str, p: Passage, tokenizer: TokenizerLike,
                     sentence_score: SentenceScore | None) -> str | None:
    """The sentence of the passage's official English (`text_en`) that best answers the question,
    verbatim; None without a translation."""
    text = p.chunk.text_en
    if not text or not text.strip():
        return None
    sentences = split_english(text)  # the index's English sentences: their vectors are stored
    scores = score_sentences(question, sentences, tokenizer, sentence_score)
    return sentences[max(range(len(sentences)), key=lambda i: (scores[i], -i))]


# --- the composer -----------------------------------------------------------------------------

def compose_extractive(question: str, lang: str, passages: Sequence[Passage], *, max_passages: int = 3,
                       max_sentences: int = 4, sentence_score: SentenceScore | None = None,
                       tokenizer: TokenizerLike | None = None) -> Answer:
    """A cited answer quoting the best sentences of the first `max_passages` passages (in the
    given, ranked order). No passages -> an abstention."""
    _check_lang(lang)
    if max_passages < 1 or max_sentences < 1:
        raise ValueError("max_passages and max_sentences must be >= 1")
    top = list(passages[:max_passages])
    if not top:
        return abstain(question, lang, None, {"reason": "no passages"})
    tok = tokenizer or default_tokenizer()
    cands = [s for i, p in enumerate(top) for s in sentences_of(p.chunk.text, i)]
    scores = score_sentences(question, [s.text for s in cands], tok, sentence_score)
    chosen = select(cands, scores, max_sentences)
    if not chosen:  # the top passage has no text at all
        return abstain(question, lang, None, {"reason": "top passage has no sentences"})
    score_of = {(s.passage, s.start): sc for s, sc in zip(cands, scores)}
    order = sorted({s.passage for s in chosen})  # groups in passage rank order
    parts, citations, quoted, quoted_en = [], [], [], []
    for n, pi in enumerate(order, 1):
        group = [s for s in chosen if s.passage == pi]
        quote, pieces = quote_group(top[pi].chunk.text, group)
        english = official_english(question, top[pi], tok, sentence_score) if lang == "en" else None
        if english:  # the official English quoted, the Chinese original beside it
            quoted_en.append({"citation": n, "text": english})
            quote = f"“{english}” (official English of the passage; Chinese text quoted: {quote})"
        parts.append(frame(top[pi], quote, n, lang))
        citations.append(top[pi])
        quoted += [{"citation": n, "text": q} for q in pieces]
    diagnostics = {
        "mode": "extractive",
        "sentence_scoring": "lexical+dense" if sentence_score else "lexical",
        "weak_sentence_match": max(scores) <= 0,
        "quotes": quoted,
        "quotes_en": quoted_en,
        "sentence_scores": [{"citation": order.index(s.passage) + 1, "text": s.text,
                             "score": round(score_of[(s.passage, s.start)], 4)} for s in chosen],
    }
    return Answer(question=question, answer="\n".join(parts), answerable=True,
                  citations=tuple(citations), diagnostics=diagnostics)
