"""The question-answering pipeline over one built index: what the CLI, the service and the
LangChain retriever use (implements rag.protocols.QA)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rag import index as index_mod
from rag.answer import (abstain, absent_document_message, absent_speaker_message,
                        compose_extractive, unmentioned_message)
from rag.embed import encoder_for
from rag.config import Settings
from rag.errors import ConfigError, InputError
from rag.fusion import MODES as FUSION_MODES
from rag.llm import LLMAnswerer, chat_model_from_settings
from rag.prompts import PROMPTS_DIR
from rag.protocols import Encoder
from rag.query import QueryIntent, SpeakerRef
from rag.records import Answer, Filters, SearchResult
from rag.relevance import unmentioned
from rag.retrieve import Retriever
from rag.text import check_text
from rag.unheld import asks_its_text, mentioning, naming, unheld_note



def index_dir(name: str = "default", settings: Settings | None = None) -> Path:
    """`<RAG_INDEX_DIR or index/>/<name>`."""
    return (settings or Settings.from_env()).index_path(name)


class Pipeline:
    def __init__(self, index: index_mod.Index, encoder: Encoder, *, chat_model: Any = None,
                 min_z: float | None = None, retrieval_mode: str = "hybrid",
                 settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.index = index
        self.encoder = QueryMemo(encoder)
        if self.settings.fusion not in FUSION_MODES:
            raise ConfigError(f"RAG_FUSION={self.settings.fusion!r}: expected one of {', '.join(FUSION_MODES)}")
        self.retriever = Retriever(index, self.encoder, mode=retrieval_mode, fusion_mode=self.settings.fusion,
                                   candidates=self.settings.candidates,
                                   max_filter_values=self.settings.max_filter_values)
        self.tokenizer = index.tokenizer  # one jieba dictionary per process
        self.chat_model = chat_model
        self._llm: LLMAnswerer | None = None
        self.min_z = min_z if min_z is not None else self.settings.min_z

    @classmethod
    def load(cls, path: Path, model: str | None = None, *, settings: Settings | None = None,
             verify: bool = False, **kwargs: Any) -> Pipeline:
        """`verify`: check every artifact's checksum (else sizes, counts and small files)."""
        settings = settings or Settings.from_env()
        encoder = encoder_for(model, settings)
        return cls(index_mod.load(path, encoder, verify=verify, nprobe=settings.nprobe, store=settings.store,
                                  milvus_uri=settings.milvus_uri), encoder,
                   settings=settings, **kwargs)

    @property
    def documents(self):
        return self.index.documents

    @property
    def chunks(self):
        """Every chunk, read on demand (a lazy Sequence): use `chunks_of` on request paths."""
        return self.index.chunks

    @property
    def info(self) -> dict[str, Any]:
        """The index's config.json, without the per-file checksums."""
        return {k: v for k, v in self.index.config.items() if k != "artifacts"}

    def chunks_of(self, doc_id: str):
        """A document's chunks in reading order ([] for an unknown id)."""
        return self.index.chunks_of(doc_id)

    def chunk_counts(self) -> dict[str, int]:
        """document id -> number of chunks."""
        return self.index.chunk_counts()

    def speaker_turns(self):
        """(label, info, document id, turn, chunks) for every speaker's turns, in reading order."""
        return self.index.speaker_turns()

    def speakers_of(self, doc_id: str | None = None) -> list[str]:
        """Speaker labels of one document (None: of all), in order of first appearance."""
        return self.index.speakers_of(doc_id)

    def source_text(self, doc_id: str) -> str:
        """The document's text as stored (chunk offsets index it); KeyError for an unknown id."""
        return self.index.source_text(doc_id)

    def warm_up(self) -> None:
        """Load the model, the tokenizer and the entity tables now rather than on the first
        question (the service calls this before it reports ready)."""
        self.ask("维和人员的安全和安保")

    def search(self, query: str, top_k: int = 5, filters: Filters | None = None) -> SearchResult:
        return self.retriever.search(query, top_k, filters)

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            mode: str = "extractive") -> Answer:
        """parse -> refuse on names -> plan and retrieve -> refuse on evidence -> compose."""
        if mode not in ("extractive", "llm"):
            raise InputError(f"mode must be 'extractive' or 'llm', got {mode!r}")
        intent = self.retriever.understand(check_text("the question", question))
        refusal = self._refusal(question, intent)
        if refusal:
            return refusal
        filters, notes = self._unheld(intent, filters)
        result = self.retriever.search(question, top_k * 4 if notes else top_k, filters, intent=intent)
        if notes:  # the evidence is where the held documents name the unheld one
            result = naming(result, intent.unknown_symbols, top_k)
            if not result.passages:
                return self._unheld_refusal(question, intent)
        refusal = self._unsupported(question, intent, result, filtered_by_us=bool(notes))
        if refusal:
            return refusal
        answer = self._compose(question, intent.lang, result.passages, mode)
        text = answer.answer
        if notes and answer.answerable:  # the named document is not held: say so first
            text = f"{notes['note']}\n{text}"
        missing = [s.canonical if intent.lang == "zh" else s.en for s in self._absent(intent)]
        if missing and answer.answerable:  # "China and Brazil": answer for China, say Brazil is absent
            absent = absent_speaker_message(intent.lang, ("、" if intent.lang == "zh" else ", ").join(missing), "", [])
            notes["note"] = f"{notes['note']}\n{absent}" if notes else absent
            text = f"{text}\n{absent}"
        return Answer(answer.question, text, answer.answerable, answer.citations,
                      dict(result.diagnostics) | answer.diagnostics | notes)

    def _unsupported(self, question: str, intent: QueryIntent, result: SearchResult,
                     filtered_by_us: bool = False) -> Answer | None:
        """Abstain when what was retrieved cannot answer: the named speaker is not in the filtered
        documents, nothing passed the filters, or the evidence is off-topic or weak.
        `filtered_by_us`: the document filter is the pipeline's own (`_unheld`), not named."""
        diagnostics = dict(result.diagnostics)
        if diagnostics.get("speaker_fallback"):
            return self._not_there(question, intent, diagnostics)
        reason = "no passages" if not result.passages else self._weak(diagnostics, filtered_by_us)
        return abstain(question, intent.lang, None, diagnostics | {"reason": reason}) if reason else None

    def _weak(self, diagnostics: dict[str, Any], filtered_by_us: bool = False) -> str | None:
        """Why the passages found do not answer, if they do not: the question's content words are
        mostly unknown to the corpus (off-topic), it has none and names nothing, or the best
        passage does not stand out (weak evidence; not when a document or speaker is named: its
        own best passages are the answer)."""
        named = diagnostics.get("filters", {})
        named = bool((named.get("doc_ids") and not filtered_by_us) or named.get("speakers"))
        cov = diagnostics.get("coverage") or {}
        z = diagnostics.get("dense_stats", {}).get("z")
        off = cov.get("measured") and self._off_topic(cov["score"], z, diagnostics.get("intent", {}).get("lang"))
        if off:
            return f"off-topic ({off}; unknown: {' '.join(cov['missing'])})"
        speaks = any(r.get("present") for r in diagnostics.get("intent", {}).get("speakers", []))
        if cov.get("measured") and not cov["content"] and not (named or speaks):  # `之友小组说了什么？`
            return "no content words and nothing named"
        if z is not None and z < self.min_z and not named:
            return f"weak evidence (z={z} < {self.min_z})"
        return None

    def _off_topic(self, score: float, z: float | None, lang: str | None) -> str | None:
        """Why the coverage says off-topic, if it does (thresholds: rag.config, README "Abstention")."""
        s = self.settings
        if lang == "en":
            return f"coverage={score} < {s.min_coverage_en}" if score < s.min_coverage_en else None
        if score < s.min_coverage:
            return f"coverage={score} < {s.min_coverage}"
        if score < s.low_coverage and z is not None and z < s.low_coverage_z:
            return f"coverage={score} < {s.low_coverage} and z={z} < {s.low_coverage_z}"
        return None

    def _compose(self, question: str, lang: str, passages, mode: str) -> Answer:
        note = None
        if mode == "llm":
            try:
                llm = self._llm_answerer()
            except ConfigError as e:  # a half-configured LLM: the server's problem, not the client's
                llm, note = None, f"LLM misconfigured ({e}): extractive answer"
            if llm is not None:
                return llm.answer(question, lang, passages)
            note = note or "no LLM configured (set RAG_LLM_BASE_URL and RAG_LLM_MODEL): extractive answer"
        answer = compose_extractive(question, lang, passages, tokenizer=self.tokenizer,
                                    sentence_score=self._sentence_score)
        if note is None:
            return answer
        return Answer(answer.question, answer.answer, answer.answerable, answer.citations,
                      answer.diagnostics | {"llm_error": note})

    def _llm_answerer(self) -> LLMAnswerer | None:
        """Built once: the chat model from the environment and the validated prompt files."""
        if self._llm is None:
            chat = self.chat_model or chat_model_from_settings(self.settings)
            if chat is None:
                return None
            self._llm = LLMAnswerer(chat, PROMPTS_DIR, tokenizer=self.tokenizer,
                                    sentence_score=self._sentence_score)
        return self._llm

    def _sentence_score(self, question: str, sentences: Sequence[str]) -> list[float]:
        """Cosine of each sentence with the question; sentence vectors come from the index
        (built from the same splitter), so only sentences it lacks are encoded now."""
        q = self.encoder.encode_queries([question])[0]
        texts = [x.strip() for x in sentences]
        stored = self._stored_sentences(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in stored]
        if missing:
            stored = stored | dict(zip(missing, self.encoder.encode_passages(missing)))
        return [float(stored[t] @ q) for t in texts]

    def _stored_sentences(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The index's vectors of these sentences (looked up by text, read back by id)."""
        return self.index.sentence_vectors(texts)

    def _refusal(self, question: str, intent: QueryIntent) -> Answer | None:
        """Abstain at once when the question names a document or speaker the corpus lacks."""
        diagnostics = {"intent": intent.to_dict()}
        if intent.unknown_symbols and not intent.doc_ids and (
                any(asks_its_text(question, s) for s in intent.unknown_symbols)
                or not self._mentioning(intent.unknown_symbols)):
            return self._unheld_refusal(question, intent)
        absent = self._absent(intent)
        if absent and not intent.speaker_names:
            where = self._where(intent)
            present = self._speakers_in(where)
            missing = ("、" if intent.lang == "zh" else ", ").join(
                s.canonical if intent.lang == "zh" else s.en for s in absent)
            place = where or ("现有文件" if intent.lang == "zh" else "the documents held")
            msg = absent_speaker_message(intent.lang, missing, place, present)
            return abstain(question, intent.lang, msg, diagnostics | {"reason": "absent speaker"})
        unmentioned = self._unmentioned(question, intent)
        if unmentioned:
            gaz = self.retriever.gazetteer
            names = [n if intent.lang == "zh" or not gaz.entity(n) else gaz.entity(n).en for n in unmentioned]
            return abstain(question, intent.lang, unmentioned_message(intent.lang, names),
                           diagnostics | {"reason": "not mentioned", "unmentioned": unmentioned})
        return None

    def _unmentioned(self, question: str, intent: QueryIntent) -> list[str]:
        """Bodies and titles the question is about that no held document mentions (rag.relevance).
        A body named as a speaker counts only when no named speaker speaks: `What did China and
        the World Bank say?` is answered for China (the answer notes the other, `_absent`)."""
        gaz = self.retriever.gazetteer
        names = list(intent.non_speakers)
        if not any(r.present for r in intent.speakers):
            names += [r.canonical for r in intent.speakers if not r.present]
        entities = [e for e in map(gaz.entity, names) if e is not None]
        return unmentioned(question, entities, self.index.names)

    def _not_there(self, question: str, intent: QueryIntent, diagnostics: dict[str, Any]) -> Answer:
        """The question's speaker speaks in the corpus, but not in the documents the filters keep."""
        docs = diagnostics.get("filters", {}).get("doc_ids") or []
        where = docs[0] if len(docs) == 1 else None
        sep = "、" if intent.lang == "zh" else ", "
        names = sep.join(s.canonical if intent.lang == "zh" else s.en for s in intent.speakers
                         if s.canonical in diagnostics["speaker_fallback"])
        place = where or ("所选文件" if intent.lang == "zh" else "the documents selected")
        msg = absent_speaker_message(intent.lang, names, place, self._speakers_in(where) if where else [])
        return abstain(question, intent.lang, msg, diagnostics | {"reason": "speaker not in the filtered documents"})

    def _absent(self, intent: QueryIntent) -> list[SpeakerRef]:
        """The named speakers who speak nowhere in the corpus and make the question unanswerable:
        states, observers and persons always; an office or organization only when the corpus
        does not name it either (then the question is about what the documents say of it:
        `毒品和犯罪问题办公室…全球方案的期限` is answered by the resolution that sets it)."""
        out = []
        for ref in intent.speakers:
            if ref.present or ref.canonical not in intent.missing_speakers:
                continue
            if ref.kind in ("office", "organization") and self.index.names({ref.surface, ref.canonical}):
                continue
            out.append(ref)
        return out

    def _unheld(self, intent: QueryIntent, filters: Filters | None) -> tuple[Filters | None, dict]:
        """A named document the corpus does not hold, asked about as the held documents speak of
        it (rag.unheld; `_refusal` has refused the rest): search the documents that name it (or
        the caller's), and a note that says so."""
        if not intent.unknown_symbols or intent.doc_ids:
            return filters, {}
        filters = filters or Filters()
        docs = filters.doc_ids or tuple(self._mentioning(intent.unknown_symbols))
        note = unheld_note(intent.lang, intent.unknown_symbols, self._names(docs), ours=not filters.doc_ids)
        return replace(filters, doc_ids=docs), {"note": note, "unheld": list(intent.unknown_symbols)}

    def _unheld_refusal(self, question: str, intent: QueryIntent) -> Answer:
        """'S/RES/2086 (2013) is not among the documents held …; it is mentioned in: …'."""
        held = [d.symbol or d.title_zh for d in self.documents]
        msg = absent_document_message(intent.lang, "、".join(intent.unknown_symbols), held)
        mentions = self._names(self._mentioning(intent.unknown_symbols))
        if mentions:
            msg += (f"提到它的文件：{'、'.join(mentions)}。" if intent.lang == "zh"
                    else f" It is mentioned in: {'; '.join(mentions)}.")
        return abstain(question, intent.lang, msg, {"intent": intent.to_dict(), "reason": "unknown document"})

    def _mentioning(self, symbols: Sequence[str]) -> list[str]:
        return self.index.memo(("mentioning", tuple(symbols)), lambda: mentioning(self.index, symbols))

    def _names(self, doc_ids: Sequence[str]) -> list[str]:
        return [d.symbol or d.title_zh for d in self.documents if d.id in set(doc_ids)]

    def _where(self, intent: QueryIntent) -> str | None:
        """The document a speaker question is about: the one named, else none (every document)."""
        return intent.doc_ids[0] if intent.doc_ids else None

    def _speakers_in(self, doc_id: str | None) -> list[str]:
        return self.index.speakers_of(doc_id)


class QueryMemo:
    """An encoder whose single-query encodings are remembered (a question is encoded once for
    retrieval and once for sentence scoring). Bounded; everything else passes through."""

    def __init__(self, encoder: Encoder, size: int = 256) -> None:
        self.inner = encoder
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode_queries(texts)
        key = texts[0]
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        vector = self.inner.encode_queries([key])
        with self._lock:
            self._memo[key] = vector
            if len(self._memo) > self.size:
                self._memo.popitem(last=False)
        return vector

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.inner.encode_passages(texts, progress=progress)


def build_and_load(corpus_dir: Path, path: Path, model: str | None = None, *,
                   progress: bool = False, force: bool = False, settings: Settings | None = None,
                   verify: bool = True) -> tuple[Pipeline, bool]:
    """Build the index if missing or stale, then load it; `verify`: check every checksum (the
    service does, at start)."""
    settings = settings or Settings.from_env()
    encoder = encoder_for(model, settings)
    _, built = index_mod.build(corpus_dir, path, encoder, progress=progress, force=force,
                               settings=settings)
    index = index_mod.load(path, encoder, verify=verify and not built, nprobe=settings.nprobe,
                           store=settings.store, milvus_uri=settings.milvus_uri)
    return Pipeline(index, encoder, settings=settings), built
