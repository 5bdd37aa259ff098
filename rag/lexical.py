"""Lexical search: a jieba tokenizer that keeps UN terms and document symbols whole, and Okapi BM25.

The tokenizer owns a private `jieba.Tokenizer` (no global jieba state). Its user dictionary is
`rag/data/un_terms.txt` plus every Chinese name and alias in `rag/data/member_states.tsv` and
`rag/data/organs.tsv`; it is loaded on first use. Document symbols (S/PV.8838, S/RES/2518 (2020),
S/2021/681, A/65/698, 2589(2021)) become single tokens, `rag.text.symbol_key`: NFKC, no spaces,
lowercase ("s/res/2518(2020)"); a resolution symbol also yields its bare form "2518(2020)" so that
"第2518(2020)号决议" and "S/RES/2518 (2020)" meet. Words are cut in jieba's search mode: a long
term yields itself and the dictionary words inside it (维和人员 -> 维和, 人员, 维和人员), so a query
for 维和 still meets 维和人员 while the whole term ranks an exact match higher.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.text import SYMBOL_TOKEN_RE, nfkc, symbol_key

DATA = Path(__file__).parent / "data"
TERMS_FILE = DATA / "un_terms.txt"
TABLE_FILES = (DATA / "member_states.tsv", DATA / "organs.tsv")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_RES_YEAR = re.compile(r"^s/res/(\d+\(\d{4}\))$")

STOPWORDS = frozenset(
    "的 了 和 与 及 在 是 有 也 就 都 而 之 其 或 并 对 以 于 为 将 把 被 从 这 那 该 此 等 个 们 我 你 他 她 它 "
    "第 号 次 吗 呢 吧 啊 么 什么 哪 哪些 哪个 如何 怎样 怎么 多少 说 说了 提到 the a an of to in on and or for is "
    "are was were be by with at as that this what which who did does do how about".split()
)


def has_cjk(text: str) -> bool:
    """True when the text holds at least one CJK ideograph."""
    return bool(_CJK.search(text))


def _is_noise(tok: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZC" for c in tok)


def table_words(paths: Iterable[Path] = TABLE_FILES) -> list[str]:
    """Every Chinese cell value (split on ';') of the entity tables, for the user dictionary."""
    words: list[str] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if n == 1 or not line.strip() or line.startswith("#"):
                continue
            for cell in line.split("\t"):
                words.extend(w.strip() for w in cell.split(";") if has_cjk(w) and " " not in w.strip())
    return words


def read_terms(path: Path = TERMS_FILE) -> list[str]:
    """The jieba user dictionary: one term a line (optional frequency and tag after spaces)."""
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0])
    return terms


class Tokenizer:
    """jieba tokens for BM25; cheap to construct, the dictionary loads on the first `tokenize`."""

    def __init__(self, terms_file: Path = TERMS_FILE, tables: Sequence[Path] = TABLE_FILES,
                 extra_words: Iterable[str] = ()) -> None:
        self.terms_file = Path(terms_file)
        self.tables = tuple(Path(p) for p in tables)
        self.extra_words = tuple(extra_words)
        self._jieba: Any = None
        self._words: list[str] | None = None

    def words(self) -> list[str]:
        """The user-dictionary words, deduplicated, in a stable order."""
        if self._words is None:
            seen = dict.fromkeys([*read_terms(self.terms_file), *table_words(self.tables),
                                  *self.extra_words])
            self._words = [w for w in seen if w]
        return self._words

    def signature(self) -> str:
        """Hash of the user dictionary: an index stores it to detect a changed tokenizer."""
        return hashlib.sha256("\n".join(self.words()).encode()).hexdigest()[:16]

    def _cutter(self) -> Any:
        if self._jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not ours to show
            tok = jieba.Tokenizer()
            for word in self.words():
                tok.add_word(word)
            self._jieba = tok
        return self._jieba

    def tokenize(self, text: str) -> list[str]:
        text = nfkc(text)
        tokens: list[str] = []
        pos = 0
        for m in SYMBOL_TOKEN_RE.finditer(text):  # full-width forms are covered: text is NFKC
            tokens.extend(self._cut(text[pos:m.start()]))
            sym = symbol_key(m.group())
            tokens.append(sym)
            bare = _RES_YEAR.match(sym)
            if bare:
                tokens.append(bare.group(1))
            pos = m.end()
        tokens.extend(self._cut(text[pos:]))
        return tokens

    def _cut(self, text: str) -> list[str]:
        if not text.strip():
            return []
        out = []
        for tok in self._cutter().cut_for_search(text):
            tok = tok.strip().lower()
            if tok and not _is_noise(tok) and tok not in STOPWORDS:
                out.append(tok)
        return out


class BM25:
    """Okapi BM25 over token lists (k1=1.5, b=0.75).

    idf = ln(1 + (N - n + 0.5) / (n + 0.5)), always positive (the Lucene form). Repeated query
    terms count once. `search` returns only documents with a positive score, best first.
    """

    def __init__(self, tokenizer: Tokenizer | None = None, k1: float = 1.5, b: float = 0.75) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.k1 = k1
        self.b = b
        self.docs: list[list[str]] = []
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._idf: dict[str, float] = {}
        self._norm = np.zeros(0)

    def fit(self, texts: Sequence[str]) -> BM25:
        return self.fit_tokens([self.tokenizer.tokenize(t) for t in texts])

    def fit_tokens(self, docs: Sequence[Sequence[str]]) -> BM25:
        self.docs = [list(d) for d in docs]
        n_docs = len(self.docs)
        lengths = np.array([len(d) for d in self.docs], dtype=np.float64)
        avg = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        self._norm = self.k1 * (1.0 - self.b + self.b * lengths / avg)
        rows: dict[str, tuple[list[int], list[int]]] = {}
        for i, doc in enumerate(self.docs):
            for term, tf in Counter(doc).items():
                ids, tfs = rows.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self._postings = {t: (np.array(ids), np.array(tfs, dtype=np.float64))
                          for t, (ids, tfs) in rows.items()}
        self._idf = {t: math.log(1.0 + (n_docs - len(ids) + 0.5) / (len(ids) + 0.5))
                     for t, (ids, _) in rows.items()}
        return self

    def __len__(self) -> int:
        return len(self.docs)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for these query tokens."""
        out = np.zeros(len(self.docs))
        for term in dict.fromkeys(query_tokens):
            if term in self._postings:
                ids, tf = self._postings[term]
                out[ids] += self._idf[term] * tf * (self.k1 + 1.0) / (tf + self._norm[ids])
        return out

    def search(self, query: str, k: int = 10, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (doc index, score) with score > 0. `allowed`: a boolean mask over the documents
        or an array of allowed document indices; None allows all."""
        return self.search_tokens(self.tokenizer.tokenize(query), k, allowed)

    def search_tokens(self, tokens: Sequence[str], k: int = 10,
                      allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.scores(tokens)
        if allowed is not None:
            allowed = np.asarray(allowed)
            mask = np.zeros(len(scores), dtype=bool)
            if allowed.dtype == bool:
                if allowed.shape != scores.shape:
                    raise ValueError(f"allowed mask has shape {allowed.shape}, expected {scores.shape}")
                mask = allowed
            else:
                mask[allowed.astype(int)] = True
            scores = np.where(mask, scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        order = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [(int(i), float(scores[i])) for i in order]

    def to_state(self) -> dict[str, Any]:
        """JSON-serializable: parameters, the tokenized documents and the tokenizer signature."""
        return {"kind": "bm25-okapi", "version": 1, "k1": self.k1, "b": self.b,
                "tokenizer": self.tokenizer.signature(), "docs": self.docs}

    @classmethod
    def from_state(cls, state: dict[str, Any], tokenizer: Tokenizer | None = None) -> BM25:
        if state.get("kind") != "bm25-okapi" or state.get("version") != 1:
            raise ValueError(f"not a BM25 state of version 1: kind={state.get('kind')!r} "
                             f"version={state.get('version')!r}")
        bm = cls(tokenizer, k1=float(state["k1"]), b=float(state["b"]))
        if state.get("tokenizer") != bm.tokenizer.signature():
            raise ValueError("BM25 state was built with another tokenizer dictionary "
                             f"({state.get('tokenizer')} != {bm.tokenizer.signature()}); rebuild the index")
        return bm.fit_tokens(state["docs"])
