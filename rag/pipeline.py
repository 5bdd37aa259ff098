"""The question-answering pipeline over one built index: what the CLI, the service and the
LangChain retriever use (implements rag.protocols.QA)."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag import index as index_mod
from rag.answer import (abstain, absent_document_message, absent_speaker_message,
                        compose_extractive)
from rag.embed import Embedder, resolve_model
from rag.llm import LLMAnswerer, chat_model_from_env
from rag.protocols import Encoder
from rag.query import QueryIntent
from rag.records import Answer, Filters, SearchResult
from rag.retrieve import Retriever
from rag.sentences import split_sentences

REPO = Path(__file__).resolve().parent.parent
PROMPTS_DIR = REPO / "prompts"

# Abstain when the best passage stands less than this many standard deviations above the mean
# passage score for the question (the z-score of retrieve._stats). Calibrated on eval/dev.jsonl
# + eval/extra.jsonl with bench/abstention.py: see README "Abstention".
MIN_Z = float(os.environ.get("RAG_MIN_Z", "1.5"))


def index_dir(name: str = "default") -> Path:
    """`index/<name>` under the repo, or RAG_INDEX_DIR/<name> when set."""
    base = Path(os.environ.get("RAG_INDEX_DIR", REPO / "index"))
    return base / name


class Pipeline:
    def __init__(self, index: index_mod.Index, encoder: Encoder, *, chat_model: Any = None,
                 min_z: float = MIN_Z, retrieval_mode: str = "hybrid") -> None:
        self.index = index
        self.encoder = QueryMemo(encoder)
        self._sentence_vectors: dict[str, np.ndarray] | None = None
        self.retriever = Retriever(index, encoder, mode=retrieval_mode)
        self.chat_model = chat_model
        self.min_z = min_z

    @classmethod
    def load(cls, path: Path, model: str | None = None, **kwargs: Any) -> Pipeline:
        encoder = Embedder(resolve_model(model))
        return cls(index_mod.load(path, encoder), encoder, **kwargs)

    @property
    def documents(self):
        return self.index.documents

    @property
    def chunks(self):
        return self.index.chunks

    @property
    def info(self) -> dict[str, Any]:
        return self.index.config

    def search(self, query: str, top_k: int = 5, filters: Filters | None = None) -> SearchResult:
        return self.retriever.search(query, top_k, filters)

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            mode: str = "extractive") -> Answer:
        if mode not in ("extractive", "llm"):
            raise ValueError(f"mode must be 'extractive' or 'llm', got {mode!r}")
        intent = self.retriever.understand(question)
        refusal = self._refusal(question, intent)
        if refusal:
            return refusal
        result = self.retriever.search(question, top_k, filters, intent=intent)
        diagnostics = dict(result.diagnostics)
        z = diagnostics.get("dense_stats", {}).get("z")
        if not result.passages:
            return abstain(question, intent.lang, None, diagnostics | {"reason": "no passages"})
        if z is not None and z < self.min_z and not intent.doc_ids:
            return abstain(question, intent.lang, None,
                           diagnostics | {"reason": f"weak evidence (z={z} < {self.min_z})"})
        answer = self._compose(question, intent.lang, result.passages, mode)
        return Answer(answer.question, answer.answer, answer.answerable, answer.citations,
                      diagnostics | answer.diagnostics)

    def _compose(self, question: str, lang: str, passages, mode: str) -> Answer:
        if mode == "llm":
            chat = self.chat_model or chat_model_from_env()
            if chat is not None:
                return LLMAnswerer(chat, PROMPTS_DIR, sentence_score=self._sentence_score).answer(
                    question, lang, passages)
            answer = compose_extractive(question, lang, passages, sentence_score=self._sentence_score)
            note = "no LLM configured (set RAG_LLM_BASE_URL and RAG_LLM_MODEL): extractive answer"
            return Answer(answer.question, answer.answer, answer.answerable, answer.citations,
                          answer.diagnostics | {"llm_error": note})
        return compose_extractive(question, lang, passages, sentence_score=self._sentence_score)

    def _sentence_score(self, question: str, sentences: Sequence[str]) -> list[float]:
        """Cosine of each sentence with the question; sentence vectors come from the index
        (built from the same splitter), so only sentences it lacks are encoded now."""
        q = self.encoder.encode_queries([question])[0]
        stored = self._stored_sentences()
        texts = [x.strip() for x in sentences]
        missing = [t for t in dict.fromkeys(texts) if t not in stored]
        if missing:
            stored = stored | dict(zip(missing, self.encoder.encode_passages(missing)))
        return [float(stored[t] @ q) for t in texts]

    def _stored_sentences(self) -> dict[str, np.ndarray]:
        if self._sentence_vectors is None:
            self._sentence_vectors = {}
            try:
                vectors = self.index.sentences.reconstruct_n(0, self.index.sentences.ntotal)
            except RuntimeError:  # an index type that cannot give vectors back: encode on demand
                return self._sentence_vectors
            texts = [s.strip() for c in self.chunks for s in split_sentences(c.text)]
            if len(texts) == len(vectors):
                self._sentence_vectors = dict(zip(texts, vectors))
        return self._sentence_vectors

    def _refusal(self, question: str, intent: QueryIntent) -> Answer | None:
        """Abstain at once when the question names a document or speaker the corpus lacks."""
        if intent.unknown_symbols and not intent.doc_ids:
            held = [d.symbol or d.title_zh for d in self.documents]
            msg = absent_document_message(intent.lang, "、".join(intent.unknown_symbols), held)
            return abstain(question, intent.lang, msg, {"intent": intent.to_dict(),
                                                        "reason": "unknown document"})
        if intent.missing_speakers and not intent.speaker_names:
            where = self._where(intent)
            present = self._speakers_in(where)
            missing = ("、" if intent.lang == "zh" else ", ").join(
                s.canonical if intent.lang == "zh" else s.en for s in intent.speakers if not s.present)
            msg = absent_speaker_message(intent.lang, missing, where, present)
            return abstain(question, intent.lang, msg, {"intent": intent.to_dict(),
                                                        "reason": "absent speaker"})
        return None

    def _where(self, intent: QueryIntent) -> str:
        if intent.doc_ids:
            return intent.doc_ids[0]
        records = [d for d in self.documents if d.type == "meeting_record"]
        return records[0].id if len(records) == 1 else "现有文件"

    def _speakers_in(self, doc_id: str) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.chunks:
            if c.speaker and (c.doc_id == doc_id or doc_id == "现有文件"):
                seen.setdefault(c.speaker)
        return list(seen)


class QueryMemo:
    """An encoder whose single-query encodings are remembered (a question is encoded once for
    retrieval and once for sentence scoring). Bounded; everything else passes through."""

    def __init__(self, encoder: Encoder, size: int = 256) -> None:
        self.inner = encoder
        self.size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.encode_queries(texts)
        key = texts[0]
        if key not in self._memo:
            self._memo[key] = self.inner.encode_queries([key])
            if len(self._memo) > self.size:
                self._memo.popitem(last=False)
        self._memo.move_to_end(key)
        return self._memo[key]

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self.inner.encode_passages(texts, progress=progress)


def build_and_load(corpus_dir: Path, path: Path, model: str | None = None, *,
                   progress: bool = False, force: bool = False) -> tuple[Pipeline, bool]:
    encoder = Embedder(resolve_model(model))
    _, built = index_mod.build(corpus_dir, path, encoder, progress=progress, force=force)
    return Pipeline(index_mod.load(path, encoder), encoder), built
