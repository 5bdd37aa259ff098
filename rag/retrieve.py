"""Ranked passages for a query: candidates from the indexes, fused by rag.fusion.fuse.

Each ranked list asks its index for the top `candidates` rows inside the filter (rag.vectors:
the filter is a FAISS selector; BM25 masks its hits): dense chunk scores, dense best-sentence
scores, jieba BM25 (or BM25 through the English->Chinese glossary for English questions), and for
English questions the official English (dense over text_en, English BM25). Routing boosts and
expected-answer types are sets of the pooled candidates, fused flat: belonging is the boost.
Query understanding (rag.query) turns
named symbols into hard document filters and named speakers / document kinds into filters or
boosts; headings and front matter are ranked only for questions about structure.

The abstention statistic (`dense_stats.z`): the top candidate's best score against the mean and
spread of the same score over the index's null sample (rag.index.NullSample).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag import answer_types
from rag.authors import author_matchers
from rag.errors import InputError
from rag.filters import check_filters, intent_filters, matches
from rag.fusion import bilingual, confine, fuse
from rag.glossary import Glossary
from rag.index import Index
from rag.kinds import RECORD_KINDS
from rag.lexical import has_cjk
from rag.protocols import Encoder
from rag.relevance import Coverage, coverage
from rag.query import (DocLookup, Gazetteer, QueryIntent, load_entities, parse_query, person_matchers,
                       scoring_text)
from rag.records import Filters, Passage, SearchResult
from rag.sentences import ENGLISH_SENTENCES
from rag.text import check_text
from rag.vectors import Allowed

MODES = ("hybrid", "dense", "bm25")
BOOSTS = ("route_", "answer_type:")  # lists that are sets: fused flat (rag.fusion.fuse)
ENGLISH_ONLY = ("dense_en", "bm25_en", "bm25_en_sentence")  # lists only chunks with an official English are in

# Fusion weights per ranked list (any fusion mode: calibrated under RRF, re-checked under min-max).
# Lexical counts only when the query has Chinese to match: English words against Chinese text are
# noise (measured: hit@5 fell from 0.89 to 0.7 with it);
# an English question gets a lexical list through the English->Chinese glossary instead, and the
# dense list over the official English where a document has one. An English question's lexical
# list is one of two, by chunk: English BM25 over the official English where the chunk has it
# (bm25_en), else BM25 through the glossary over the Chinese (bm25_glossary): the glossary's
# renderings are a stand-in for the English a chunk lacks, and over translated chunks they
# outvoted three dense lists that agreed (tuning sets: hit@1 89 -> 93 of 110, hit@5 unchanged).
# bm25_glossary was chosen among 0/0.5/1/1.5 on eval/dev.jsonl and checked on eval/extra.jsonl
# (1.5 over 1.0: dev hit@1 0.79 -> 0.82); bm25_en among 0/0.5/1/1.5 on dev, extra and 2023-dev
# (1.5 kept hit@5 at 106, 1.0 lost one). Re-checked under min-max fusion (lexical 1/1.25/1.5/2,
# dense 0.75/1 on the tuning sets): these stay best, 131 of 150 at rank 1. A list of weight 0 is
# not computed.
# bm25_en_sentence (English BM25 per sentence of the official English, a chunk scored by its best
# sentence: the question's words together in one sentence, not spread over a long paragraph):
# chosen among 0/0.5/1/1.5 on the tuning sets (hit@1 156 -> 159 of 182 at 1.0, all three English).
# A structure element asked for (which agenda item, session, addressee, annex, signatory, plenary
# meeting, when the meeting was called to order or rose: rag.answer_types) is decisive inside the
# documents the rest of the evidence puts first (`_decisive`): there, under min-max fusion (the
# default), a passage that holds one outranks the passages that do not (weight 4: the boost counts
# 6, more than the lists together; under RRF it is one boost among others). Chosen among 1/2/3/4/6
# on the tuning sets (hit@1 181 -> 185 of 214, none lost; 4 and 6 alike).
STRUCTURE_TYPES = ("agenda_item", "session", "addressee", "annex", "signature", "plenary", "opening", "closing")
DEFAULT_WEIGHTS = {"dense": 1.0, "sentence": 1.0, "bm25": 1.0, "bm25_glossary": 1.5,
                   "dense_en": 1.0, "bm25_en": 1.5, "bm25_en_sentence": 1.0,
                   "route_speaker": 1.0, "route_type": 1.0,
                   **{f"answer_type:{t}": 4.0 for t in STRUCTURE_TYPES}}


@dataclass
class Retriever:
    index: Index
    encoder: Encoder
    mode: str = "hybrid"
    fusion_mode: str = "minmax"  # rag.fusion.fuse (Settings.fusion); chosen on the tuning sets (README "Evaluation")
    flat_score: float = 1.5  # what a boost's member counts in minmax fusion (a list's best is 1)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rrf_k: int = 10  # RRF constant: candidate pools are small (one speaker's turn), so top ranks matter
    depth: int = 100  # how deep each list goes into fusion
    candidates: int = 300  # rows each list asks its index for (Settings.candidates)
    routing: bool = True  # apply query understanding (off for the plain baselines)
    exhaustive: bool = False  # score every row exactly, as before candidates (the reference they are measured by)
    max_filter_values: int | None = None  # per filter list (Settings.max_filter_values)
    glossary: Glossary = field(default_factory=Glossary)
    _gazetteer: Gazetteer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown retrieval mode {self.mode!r}; expected one of {MODES}")

    @property
    def gazetteer(self) -> Gazetteer:
        """The entity tables, loaded on first use."""
        with self._lock:
            if self._gazetteer is None:
                self._gazetteer = load_entities()
            return self._gazetteer

    def understand(self, query: str) -> QueryIntent:
        gazetteer = self.gazetteer
        speakers = self.index.memo("speaker_infos", lambda: list(dict.fromkeys(
            info for _, _, info in self.index.speakers() if info)))
        lookup = self.index.memo("doc_lookup", lambda: DocLookup.of(self.index.documents))
        people = self.index.memo("people", lambda: person_matchers(speakers, gazetteer)
                                 + author_matchers(self._voices(), gazetteer))
        return parse_query(query, lookup, speakers, gazetteer, people)

    def _voices(self) -> list[tuple[str, str | None]]:
        """(voice label, English manifest author) of each one-voice document (rag.authors)."""
        return [(labels[0], doc.author) for doc in self.index.documents
                if doc.type not in RECORD_KINDS and (labels := self.index.speakers_of(doc.id))]

    def search(self, query: str, top_k: int = 5, filters: Filters | None = None,
               intent: QueryIntent | None = None) -> SearchResult:
        check_text("the query", query)
        if top_k < 1:
            raise InputError(f"top_k must be at least 1, got {top_k}")
        if filters is not None:
            check_filters(self.index, filters, self.max_filter_values)
        intent = intent or self.understand(query)
        hard, soft = intent_filters(intent if self.routing else None, filters or Filters(),
                                    self._national_labels())
        allowed = self._allowed(hard, intent.structural)
        diagnostics: dict[str, Any] = {"intent": intent.to_dict(), "mode": self.mode}
        if not allowed.count and hard.speakers and not (filters and filters.speakers):
            # the speakers were inferred from the question and speak nowhere the explicit filters
            # allow: drop them, and say so (never an empty result without a reason)
            diagnostics["speaker_fallback"] = list(hard.speakers)
            hard = replace(hard, speakers=())
            allowed = self._allowed(hard, intent.structural)
        diagnostics |= {"filters": _filters_dict(hard), "candidates": allowed.count}
        if not allowed.count:
            diagnostics["message"] = "no passage matches the filters"
            return SearchResult(query, (), diagnostics)
        # speakers routed to, by filter or by boost, are not what the passage must say (tuning sets:
        # stripping the boosted ones too, hit@1 154 -> 156 of 182)
        routed = hard.speakers + (soft["route_speaker"].speakers if "route_speaker" in soft else ())
        text = scoring_text(intent, routed) if self.routing else query
        diagnostics["scoring_text"] = text
        # a speaker the tables recognise is understood, present or not (an absent one is reported)
        diagnostics["coverage"] = self.coverage(_without(text, [r.surface for r in intent.speakers])).to_dict()
        lists = self._ranked_lists(text, intent, allowed, soft, diagnostics)
        diagnostics["lists"] = {name: len(ranked) for name, ranked in lists.items()}
        scale = self._untranslated_scale(query, lists)
        fused = self._fuse(self._decisive(lists, scale), scale)[:top_k]
        chunks = self.index.get_chunks([row for row, _ in fused])
        passages = tuple(self._passage(chunk, score, rank)
                         for rank, (chunk, (_, score)) in enumerate(zip(chunks, fused), 1))
        return SearchResult(query, passages, diagnostics)

    def coverage(self, text: str) -> Coverage:
        """How much of the question's content the index's vocabulary holds (rag.relevance)."""
        if has_cjk(text):
            return coverage(text, self.index.bm25)
        english = self.index.bm25_en
        if english is None:
            return coverage(text, None)
        terms = " ".join(term for term, _ in self.glossary.matches(text))
        return coverage(text, english, english.tokenizer.tokenize(terms))

    def _allowed(self, hard: Filters, structural: bool) -> Allowed:
        """Live chunks the hard filters keep; headings and front matter only for structure questions."""
        base = self.index.everything() if structural else self.index.body()
        if hard.is_empty():
            return base
        return Allowed.of(base.mask & matches(self.index, hard))

    def _ranked_lists(self, query: str, intent: QueryIntent, allowed: Allowed, soft: dict[str, Filters],
                      diagnostics: dict[str, Any]) -> dict[str, dict[int, float]]:
        """Each list: row -> score, best first, `depth` long (boosts: row -> 1, a set)."""
        lists: dict[str, dict[int, float]] = {}
        scores: dict[str, dict[int, float]] = {}
        q = None
        if self.mode in ("hybrid", "dense"):
            q = self.encoder.encode_queries([query])
            scores["dense"] = self._dense(q, allowed)
            scores["sentence"] = self._sentence(q, allowed)
            diagnostics["dense_stats"] = self._stats(q, scores)
            english = self._english_lists(query)
            if "dense_en" in english:
                scores |= self._with_english(q, allowed, scores)
            for name, s in scores.items():
                lists[name] = _top(s.items(), self.depth)
        if self.mode == "bm25" or (self.mode == "hybrid" and has_cjk(query)):
            hits = self.index.bm25.search(query, self._k(len(self.index.bm25)), allowed=allowed.mask)
            lists["bm25"] = _top(hits, self.depth)
            diagnostics["lexical_hits"] = len(hits)
            if not hits:
                diagnostics["lexical_message"] = ("no lexical match for this Chinese query: "
                                                  "ranking rests on the dense model alone")
        elif self.mode == "hybrid":
            english = self._english_lists(query)
            # the glossary list covers the chunks the English list cannot (see DEFAULT_WEIGHTS)
            lists.update(self._glossary_list(query, self._untranslated(allowed) if "bm25_en" in english else allowed,
                                             diagnostics))
            if "bm25_en" in english:
                hits = self.index.bm25_en.search(query, self._k(len(self.index.bm25_en)), allowed=allowed.mask)
                diagnostics["lexical_hits_en"] = len(hits)
                if hits:
                    lists["bm25_en"] = _top(hits, self.depth)
                if "bm25_en_sentence" in english:
                    lists.update(self._english_sentences(query, allowed))
        if q is not None:
            lists.update(self._boosts(lists, soft, diagnostics, query))
        return lists

    def _english_sentences(self, query: str, allowed: Allowed) -> dict[str, dict[int, float]]:
        """chunk id -> English BM25 of its best sentence of the official English, best first."""
        bm25 = self.index.bm25_en_sentence
        hits = bm25.search(query, self._k(len(bm25)), allowed=self.index.sentence_en_filter(allowed).mask)
        best: dict[int, float] = {}
        for sentence, score in hits:
            best.setdefault(sentence // ENGLISH_SENTENCES, score)
        return {"bm25_en_sentence": _top(best.items(), self.depth)} if best else {}

    def _fuse(self, lists: dict[str, dict[int, float]], scale: dict[int, float],
              plain: bool = False) -> list[tuple[int, float]]:
        """rag.fusion.fuse with this retriever's settings; `plain`: structure elements at the
        weight of any other answer type (1)."""
        weights = self.weights
        if plain:
            weights = {**weights, **{f"answer_type:{t}": 1.0 for t in STRUCTURE_TYPES}}
        return fuse(lists, mode=self.fusion_mode, weights=weights, k=self.rrf_k,
                    flat=[name for name in lists if name.startswith(BOOSTS)], flat_score=self.flat_score,
                    scale=scale)

    def _decisive(self, lists: dict[str, dict[int, float]], scale: dict[int, float],
                  documents: int = 1) -> dict[str, dict[int, float]]:
        """A structure element's boost keeps its weight only inside the first `documents`
        documents of the plain fusion (computed only when one is asked for): the agenda item of
        the letter asked about comes first, a signature or title block of another document is
        never forced up (1, 2 and 3 documents alike on the tuning sets; 1 is the narrowest)."""
        names = [n for n in lists if n.removeprefix("answer_type:") in STRUCTURE_TYPES]
        if not names:
            return lists
        doc = self.index.columns.doc
        ranked = dict.fromkeys(int(doc[row]) for row, _ in self._fuse(lists, scale, plain=True))
        first = set(itertools.islice(ranked, documents))
        return confine(lists, names, lambda row: int(doc[row]) in first)

    def _untranslated_scale(self, query: str, lists: dict[str, dict[int, float]]) -> dict[int, float]:
        """English question: a chunk without the official English can be in none of the English
        lists, so its share of the ranked lists is scaled up to what a translated chunk can get.
        Absence by design is no evidence against it: before, a document without a translation
        lost to translated ones on list count alone (tuning sets: hit@1 186 -> 187, hit@5 208 ->
        209 of 214, none lost). The weights are those of the lists searched, found or not."""
        english = self._english_lists(query)
        if not english:
            return {}
        w = self.weights.get
        both = w("dense", 1.0) + w("sentence", 1.0)
        untranslated = both + w("bm25_glossary", 1.0)
        # without bm25_en the glossary list covers every chunk, the translated ones too
        translated = both + sum(w(name, 1.0) for name in english) + (0.0 if "bm25_en" in english else w("bm25_glossary", 1.0))
        if not untranslated or translated == untranslated:
            return {}
        en = self.index.columns.en
        rows = {row for name, ranked in lists.items() if not name.startswith(BOOSTS) for row in ranked}
        return {row: translated / untranslated for row in rows if not en[row]}

    def _untranslated(self, allowed: Allowed) -> Allowed:
        """The allowed chunks without an official English (one mask per index for the default sets:
        a store that plans a filter per mask, Milvus, plans it once)."""
        make = lambda: Allowed.of(allowed.mask & ~self.index.columns.en)  # noqa: E731
        if allowed is self.index.body():
            return self.index.memo("untranslated_body", make)
        if allowed is self.index.everything():
            return self.index.memo("untranslated_everything", make)
        return make()

    def _k(self, rows: int) -> int:
        """How many rows a list asks for: the candidates, or every row when exhaustive."""
        return rows if self.exhaustive else self.candidates

    def _english_lists(self, query: str) -> frozenset[str]:
        """The English lists a search takes part in: an English question in hybrid mode, a weight
        above 0, the index holding them (the sentence list only beside bm25_en)."""
        if self.mode != "hybrid" or has_cjk(query):
            return frozenset()
        names = {name for name in ENGLISH_ONLY
                 if getattr(self.index, name) is not None and self.weights.get(name, 1.0) > 0}
        if "bm25_en" not in names:
            names.discard("bm25_en_sentence")
        return frozenset(names)

    def _dense(self, q: np.ndarray, allowed: Allowed, english: bool = False) -> dict[int, float]:
        """chunk id -> cosine, best first (the ANN's top candidates inside the filter)."""
        index = self.index.dense_en if english else self.index.dense
        ids, scores = index.search(q, self._k(index.ntotal), allowed, live=self.index.live_count,
                                   exhaustive=self.exhaustive)
        return dict(zip(ids.tolist(), scores.tolist()))

    def _sentence(self, q: np.ndarray, allowed: Allowed) -> dict[int, float]:
        """chunk id -> its best sentence's cosine, best first, from the top candidate sentences."""
        ids, scores = self.index.sentences.search(q, self._k(self.index.sentences.ntotal),
                                                  self.index.sentence_filter(allowed),
                                                  live=self.index.sentences.ntotal, exhaustive=self.exhaustive)
        best: dict[int, float] = {}
        for chunk, score in zip(self.index.columns.sent_chunk[ids].tolist(), scores.tolist()):
            best.setdefault(chunk, score)
        return best

    def _with_english(self, q: np.ndarray, allowed: Allowed, scores: dict[str, dict[int, float]]) -> dict[str, dict[int, float]]:
        """English question: the official English as a list of its own (dense_en), and as a
        second view of each translated chunk in the dense and sentence lists (rag.fusion.bilingual):
        a long paragraph's answer is often one English sentence."""
        out: dict[str, dict[int, float]] = {}
        if self.index.dense_en is not None:
            out["dense_en"] = self._dense(q, allowed, english=True)
            out["dense"] = bilingual(scores["dense"], out["dense_en"])
        if self.index.sentences_en is not None:
            out["sentence"] = bilingual(scores["sentence"], self._sentence_en(q, allowed))
        return out

    def _sentence_en(self, q: np.ndarray, allowed: Allowed) -> dict[int, float]:
        """chunk id -> its best English sentence's cosine, best first."""
        index = self.index.sentences_en
        ids, scores = index.search(q, self._k(index.ntotal), self.index.sentence_en_filter(allowed),
                                   live=self.index.live_count * ENGLISH_SENTENCES, exhaustive=self.exhaustive)
        best: dict[int, float] = {}
        for chunk, score in zip((ids // ENGLISH_SENTENCES).tolist(), scores.tolist()):
            best.setdefault(chunk, score)
        return best

    def _stats(self, q: np.ndarray, scores: dict[str, dict[int, float]]) -> dict[str, float]:
        """The top candidate's score and how far it stands above the null sample (z-score): e5
        cosines are compressed, so abstention is calibrated on the z-score, not on a cosine."""
        tops = [next(iter(scores[k].values())) for k in ("dense", "sentence") if scores.get(k)]
        top = max(tops, default=-1.0)
        mean, std = self.index.null.stats(q)
        return {"top": round(top, 4), "mean": round(mean, 4), "z": round((top - mean) / std, 3)}

    def _boosts(self, lists: dict[str, dict[int, float]], soft: dict[str, Filters], diagnostics: dict[str, Any],
                query: str) -> dict[str, dict[int, float]]:
        """Routing boosts and expected-answer types: the candidates that match, as sets (fused flat:
        belonging is the boost; ranked by the dense score they only copied the dense list, and
        outvoted a front matter line that BM25 and the answer type put first; tuning sets: hit@1
        126 -> 127, hit@5 143 -> 144 of 150)."""
        types = answer_types.detect(query)
        diagnostics["answer_types"] = types
        if not soft and not types:
            return {}
        pool = np.array(sorted({row for ranked in lists.values() for row in ranked}), dtype=np.int64)
        if not len(pool):
            return {}
        out: dict[str, dict[int, float]] = {}
        for name, f in soft.items():
            out[name] = dict.fromkeys(pool[matches(self.index, f, pool)].tolist(), 1.0)
        holds = np.asarray(self.index.columns.holds[pool])
        for t in types:
            out[f"answer_type:{t}"] = dict.fromkeys(pool[(holds & answer_types.bit(t)) != 0].tolist(), 1.0)
        return {k: v for k, v in out.items() if v}

    def _national_labels(self) -> tuple[str, ...]:
        return self.index.memo("national_labels", lambda: tuple(dict.fromkeys(
            label for _, label, info in self.index.speakers() if info and info.capacity == "national")))

    def _glossary_list(self, query: str, allowed: Allowed, diagnostics) -> dict[str, dict[int, float]]:
        """English question: BM25 over the Chinese renderings of its UN terms (rag/glossary.py),
        plus the question's own tokens, which only ever match the Latin words, numbers and symbols
        that the Chinese text carries as written (`10-1-2`, `Unite Aware`, `500`)."""
        terms = self.glossary.terms(query)
        diagnostics["glossary_terms"] = terms
        tokenizer = self.index.tokenizer
        tokens = list(dict.fromkeys([t for term in terms for t in tokenizer.tokenize(term)]
                                    + tokenizer.tokenize(query)))
        if not tokens:
            return {}
        hits = self.index.bm25.search_tokens(tokens, self._k(len(self.index.bm25)), allowed=allowed.mask)
        diagnostics["lexical_hits"] = len(hits)
        return {"bm25_glossary": _top(hits, self.depth)} if hits else {}

    def _passage(self, chunk, score: float, rank: int) -> Passage:
        doc = self.index.document(chunk.doc_id)
        return Passage(chunk=chunk, score=score, rank=rank, title=doc.title_zh, date=doc.date,
                       url=doc.url)


def _top(scored, depth: int) -> dict[int, float]:
    """The first `depth` (row, score) pairs, best first, as row -> score (without copying the rest:
    the exhaustive reference scores every row)."""
    return dict(itertools.islice(scored, depth))


def _without(text: str, surfaces: list[str]) -> str:
    for surface in filter(None, surfaces):
        text = text.replace(surface, " ")
    return text


def _filters_dict(f: Filters) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in f.__dict__.items() if v}
