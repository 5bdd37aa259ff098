"""Optional LLM answers through LangChain's chat-model interface, checked before they are returned.

`check_answer` keeps a sentence of the model's answer only when
  1. it carries at least one [n] marker, and every marker names a passage given (1..N);
  2. every quotation in it (“…”, "…", 「…」 holding Chinese) stands verbatim in a cited passage;
  3. it is supported: at least SUPPORT_THRESHOLD (0.5) of its checkable content tokens occur in
     the cited passages (text plus header: speaker, affiliation, symbol, title), with at least
     MIN_CONTENT_TOKENS (2) checkable tokens;
  4. every member state it names is named in a cited passage (text or speaker header).
Checkable tokens are the project's jieba tokens (stopwords and punctuation dropped) that hold a
Chinese character or a digit: English words can never meet the Chinese text, so an English
sentence is checked on the Chinese words it quotes and its figures (the prompt asks for them).

Why 0.5 (measured with the project tokenizer on the corpus):
- mis-citation: 698 corpus sentences, each checked against a 4-sentence window of the same
  document that is not its own: median support 0.19; share reaching 0.3 / 0.4 / 0.5 / 0.6:
  26 % / 12 % / 5.6 % / 1.9 %;
- honest paraphrase: 10 hand-written Chinese paraphrases of dev-set evidence checked against the
  source window alone (without the header that the real check adds): support 0.62 to 0.90
  (1.0 for an English sentence with its Chinese quotation).
0.5 rejects ~94 % of mis-citations and keeps every paraphrase with a margin; 0.6 would catch a
little more but sits next to the loosest paraphrase (0.62). The member-state check (rule 4)
covers the worst mis-citation, a wrong speaker, independently of the threshold. Frame words
(FRAME_WORDS: 指出, 认为, 强调 ...) are not counted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from rag.answer import (LANGS, SentenceScore, TokenizerLike, abstain, compose_extractive, content_tokens,
                        default_tokenizer)
from rag.config import Settings
from rag.entities import Gazetteer, load_entities
from rag.errors import ConfigError, InputError
from rag.lexical import has_cjk
from rag.prompts import load_answer_prompt
from rag.query import find_refs
from rag.records import Answer, Passage
from rag.sentences import FULL_STOPS, QUOTE_CLOSERS
from rag.text import nfkc, squash

SUPPORT_THRESHOLD = 0.5
MIN_CONTENT_TOKENS = 2
NO_ANSWER = "NO_ANSWER"

MARKER = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
# A sentence ends at FULL_STOPS (。！？!?) or at an English full stop (not after a digit), plus
# closing quotes and the markers that follow; a line break always ends one.
_END = re.compile(rf"(?:[{FULL_STOPS}]+|(?<=[^\d\s])\.(?=\s|$|\[))[{QUOTE_CLOSERS}]*"
                  r"(?:\s*\[\d+(?:\s*[,，、]\s*\d+)*\])*|\n+")
_QUOTE = re.compile(r"“([^”]+)”|\"([^\"]+)\"|「([^」]+)」")
# Words an answer uses to attribute a statement, not to say what was stated: not checked.
FRAME_WORDS = frozenset("指出 认为 强调 表示 呼吁 说 称 提到 表明 还 代表 发言 提出 根据 据 中方 方面".split())
LANG_INSTRUCTION = {"zh": "请用中文回答。", "en": "Answer in English, quoting the Chinese words you rely on."}


def split_answer(text: str) -> list[str]:
    """The sentences of an LLM answer, each with its trailing markers."""
    out, pos = [], 0
    for m in _END.finditer(text):
        if m.end() > pos:
            out.append(text[pos:m.end()].strip())
            pos = m.end()
    out.append(text[pos:].strip())
    return [s for s in out if s]


def markers_of(sentence: str) -> list[int]:
    return [int(n) for group in MARKER.findall(sentence) for n in re.split(r"[,，、]", group)]


def _header(p: Passage) -> str:
    """Speaker label, affiliation and its other Chinese names (联合王国 -> 英国), name, symbol, title."""
    info = p.chunk.speaker_info
    aff = info.affiliation if info else None
    aliases = load_entities().zh_names(aff) if aff else ()
    return " ".join(x for x in (p.chunk.speaker, aff, *aliases, info.name if info else None,
                                p.chunk.symbol, p.title) if x)


def checkable_tokens(tokenizer: TokenizerLike, sentence: str) -> set[str]:
    """Content tokens that can meet the Chinese source: with a Chinese character or a digit,
    frame words excluded."""
    return {t for t in content_tokens(tokenizer, sentence)
            if (has_cjk(t) or any(c.isdigit() for c in t)) and t not in FRAME_WORDS}


StatePattern = tuple[str, re.Pattern[str], tuple[str, ...]]  # (name, its pattern, the state's Chinese names)


@functools.lru_cache(maxsize=4)
def _state_patterns(gaz: Gazetteer) -> tuple[re.Pattern[str], tuple[StatePattern, ...]]:
    """Compiled once per gazetteer: one alternation of every member state's name (no match there:
    no state named) and each name's own pattern, longest name first. Chinese names match as
    substrings, Latin ones on word boundaries."""
    names = tuple((n, re.escape(n) if has_cjk(n) else rf"\b{re.escape(n)}\b", zh)
                  for n, zh in gaz.state_names())
    gate = re.compile("|".join(f"(?:{p})" for _, p, _ in names) or r"(?!)")
    return gate, tuple((n, re.compile(p), zh) for n, p, zh in names)


def _unnamed_states(body: str, cited: Sequence[Passage], gaz: Gazetteer | None = None) -> list[str]:
    """Member states named in `body` but in none of the cited passages. Longer names are matched
    first and masked, so 印度尼西亚 does not also count as 印度. (Name by name rather than one pass
    of the alternation: a masked name can free a shorter one next to it, as UK in 联合王国UK.)"""
    gate, names = _state_patterns(gaz or load_entities())
    if not gate.search(body):
        return []
    source = " ".join(p.chunk.text + " " + _header(p) for p in cited)
    missing = []
    for name, pattern, zh_names in names:
        if pattern.search(body):
            body = pattern.sub("\0", body)
            if not any(z in source for z in zh_names):
                missing.append(name)
    return missing


def _miscredited(body: str, cited: Sequence[Passage], gaz: Gazetteer | None = None) -> list[str]:
    """States the sentence names as its speaker (rag.mentions: `China said…`, `中方指出…`) that
    speak in none of the cited passages: naming a state in the cited text is not enough when the
    sentence credits the words to it (Kenya's speech mentioning China does not support `China
    said`)."""
    from rag.mentions import mentioned_entities

    gaz = gaz or load_entities()
    speakers, _ = mentioned_entities(body, gaz.matchers)
    headers = " ".join(_header(p) for p in cited)
    return [e.en for e, _ in speakers if e.member_state and not any(z in headers for z in e.zh_names())]


def _unsupported_symbols(body: str, cited: Sequence[Passage]) -> list[str]:
    """Document symbols the sentence names that are neither a cited passage's own symbol nor
    written in a cited passage's text: an invented or misattributed symbol."""
    own = {_key(p.chunk.symbol) for p in cited if p.chunk.symbol}
    texts = [_key(p.chunk.text) for p in cited]
    out = []
    body = nfkc(body)  # the offsets find_refs gives are into this form
    for ref in find_refs(body):
        written = _key(body[ref.start:ref.end])
        shown = _key(ref.display())
        if shown in own or written in own:
            continue
        if any(written in t or shown in t or _numbered(ref, t) for t in texts):
            continue
        out.append(ref.display())
    return out


def _numbered(ref: Any, text: str) -> bool:
    """A passage that writes the reference's number the way the documents do (第2589(2021)号决议,
    第8838次会议, resolution 2589 (2021)) supports it; a bare number (`500名`) does not."""
    forms = {"res": [f"第{ref.number}({ref.year})号" if ref.year else f"第{ref.number}(", f"第{ref.number}号",
                     f"RESOLUTION{ref.number}"],
             "pv": [f"第{ref.number}次会议", f"{ref.number}THMEETING"],
             "mtg": [f"第{ref.number}次会议"]}.get(ref.kind, [])
    return any(_key(f) in text for f in forms)


def _key(text: str) -> str:
    """squash, uppercase: symbols and passage texts compared regardless of spacing and case."""
    return squash(text).upper()


def _other_speakers(body: str, cited: Sequence[Passage], passages: Sequence[Passage]) -> list[str]:
    """Speakers of the candidate passages (person names such as 戴兵, and the roles 秘书长 and
    主席) that the sentence names although no cited passage names them: a sentence crediting
    China's words to the Secretary-General cites China's passage and names 秘书长."""
    source = " ".join(p.chunk.text + " " + _header(p) for p in cited)
    names = set()
    for p in passages:
        info = p.chunk.speaker_info
        if info and info.name:
            names.update(n for n in re.split(r"[、·]", info.name) if len(n) >= 2)
        if info and info.role in ("主席", "秘书长"):
            names.add(info.role)
    return sorted(n for n in names if n in body and n not in source)


def check_answer(text: str, passages: Sequence[Passage], *, tokenizer: TokenizerLike | None = None,
                 threshold: float = SUPPORT_THRESHOLD) -> tuple[str, list[dict[str, Any]]]:
    """(kept text, removed sentences). Kept sentences keep their original markers (see `renumber`);
    each removed entry: {sentence, reason, markers, support}."""
    tok = tokenizer or default_tokenizer()
    text = re.sub(r"[【［](\d+)[】］]", r"[\1]", text)  # full-width brackets some models write
    kept, removed = [], []
    for sentence in split_answer(text):
        markers = markers_of(sentence)
        body = MARKER.sub("", sentence).strip()
        reason, support = None, None
        cited = [passages[n - 1] for n in markers if 1 <= n <= len(passages)]
        if not markers:
            reason = "no_citation"
        elif len(cited) < len(markers):
            reason = "unknown_citation"
        elif any(q and has_cjk(q) and not any(q in p.chunk.text for p in cited)
                 for q in ("".join(g) for g in _QUOTE.findall(body))):
            reason = "misquoted"
        else:
            words = checkable_tokens(tok, body)
            source = set().union(*(content_tokens(tok, p.chunk.text + " " + _header(p)) for p in cited))
            support = len(words & source) / len(words) if words else 0.0
            if len(words) < MIN_CONTENT_TOKENS:
                reason = "no_checkable_content"
            elif support < threshold:
                reason = "unsupported"
            elif _unnamed_states(body, cited) or _miscredited(body, cited) or _other_speakers(body, cited, passages):
                reason = "speaker_not_in_cited_passage"
            elif _unsupported_symbols(body, cited):
                reason = "symbol_not_in_cited_passage"
        if reason:
            removed.append({"sentence": sentence, "reason": reason, "markers": markers,
                            "support": None if support is None else round(support, 3)})
        else:
            kept.append(sentence)
    return ("" if all(_mostly_chinese(s) for s in kept) else " ").join(kept), removed


def _mostly_chinese(sentence: str) -> bool:
    """More Chinese characters than Latin letters: such sentences are joined without spaces."""
    return len(re.findall(r"[\u4e00-\u9fff]", sentence)) > len(re.findall(r"[A-Za-z]", sentence))


def renumber(text: str, passages: Sequence[Passage]) -> tuple[str, tuple[Passage, ...]]:
    """Markers renumbered 1..k in order of first use; the citations in that order."""
    order: dict[int, int] = {}
    for n in markers_of(text):
        order.setdefault(n, len(order) + 1)

    def sub(m: re.Match[str]) -> str:
        return "[" + ",".join(str(order[int(n)]) for n in re.split(r"[,，、]", m.group(1))) + "]"

    return MARKER.sub(sub, text), tuple(passages[n - 1] for n in order)


def format_passages(passages: Sequence[Passage]) -> str:
    """Numbered passages with their headers: speaker, document (symbol, else title), date."""
    blocks = []
    for i, p in enumerate(passages, 1):
        doc = p.chunk.symbol or f"《{p.title}》（无文号 / no symbol）"
        speaker = p.chunk.speaker or "—"
        blocks.append(f"[{i}] 发言者/speaker: {speaker} | 文件/document: {doc} | 日期/date: {p.date}\n"
                      f"{p.chunk.text}")
    return "\n\n".join(blocks)


class LLMAnswerer:
    """Answers with a chat model; the answer is checked and falls back to the extractive one."""

    def __init__(self, chat_model: BaseChatModel, prompts_dir: Path, *, max_passages: int = 5,
                 threshold: float = SUPPORT_THRESHOLD, tokenizer: TokenizerLike | None = None,
                 sentence_score: SentenceScore | None = None) -> None:
        self.chat_model = chat_model
        self.prompt = load_answer_prompt(Path(prompts_dir))  # a bad template fails here, loudly
        self.max_passages = max_passages
        self.threshold = threshold
        self.tokenizer = tokenizer
        self.sentence_score = sentence_score

    def _fallback(self, question: str, lang: str, passages: Sequence[Passage], note: str,
                  **extra: Any) -> Answer:
        ans = compose_extractive(question, lang, passages, tokenizer=self.tokenizer,
                                 sentence_score=self.sentence_score)
        diagnostics = ans.diagnostics | {"note": note, "llm_model": self.model_name} | extra
        return Answer(ans.question, ans.answer, ans.answerable, ans.citations, diagnostics)

    @property
    def model_name(self) -> str:
        return str(getattr(self.chat_model, "model_name", None) or self.chat_model._llm_type)

    def answer(self, question: str, lang: str, passages: Sequence[Passage]) -> Answer:
        if lang not in LANGS:
            raise InputError(f"lang must be one of {LANGS}, got {lang!r}")
        given = list(passages[:self.max_passages])
        if not given:
            return abstain(question, lang, None, {"reason": "no passages"})
        messages = self.prompt.format_messages(question=question, passages=format_passages(given),
                                               language_instruction=LANG_INSTRUCTION[lang])
        try:
            text = self.chat_model.invoke(messages).text.strip()
        except Exception as e:  # any failure of the endpoint: answer without it, and say so
            return self._fallback(question, lang, given, "LLM unavailable; extractive answer returned",
                                  llm_error=f"{type(e).__name__}: {e}")
        if text == NO_ANSWER:
            return self._fallback(question, lang, given, "LLM found no answer in the passages; "
                                  "extractive answer returned", llm_declined=True)
        kept, removed = check_answer(text, given, tokenizer=self.tokenizer, threshold=self.threshold)
        checks = {"support_threshold": self.threshold, "removed_sentences": removed, "llm_raw": text}
        if not kept:
            return self._fallback(question, lang, given, "no sentence of the LLM answer was supported by "
                                  "its cited passages; extractive answer returned", **checks)
        kept, citations = renumber(kept, given)
        speaker_check = "on" if any(e.member_state for e in load_entities()) else "off: no member-state table"
        return Answer(question, kept, True, citations,
                      {"mode": "llm", "llm_model": self.model_name, **checks, "speaker_check": speaker_check})


def chat_model_from_settings(settings: Settings) -> BaseChatModel | None:
    """ChatOpenAI from RAG_LLM_BASE_URL, RAG_LLM_MODEL and RAG_LLM_API_KEY (optional for local
    servers); None when neither URL nor model is set. Only one of them set is an error."""
    url, model = settings.llm_base_url or "", settings.llm_model or ""
    if not url and not model:
        return None
    if not url or not model:
        raise ConfigError("set both RAG_LLM_BASE_URL and RAG_LLM_MODEL (or neither); got "
                         f"RAG_LLM_BASE_URL={url!r}, RAG_LLM_MODEL={model!r}")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=url, model=model, api_key=settings.llm_api_key or "not-needed",
                      temperature=0, timeout=60, max_retries=1)
