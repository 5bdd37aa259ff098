"""Lexical search: a jieba tokenizer that keeps UN terms and document symbols whole, an English
analyzer (Snowball stemmer, English stopwords), and Okapi BM25 on `bm25s`, saved and loaded
memory-mapped (nothing is refit at load).

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

import bisect
import hashlib
import json
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

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
        self._lock = threading.Lock()  # the dictionary loads once, whichever thread asks first

    def words(self) -> list[str]:
        """The user-dictionary words, deduplicated, in a stable order."""
        if self._words is None:
            seen = dict.fromkeys([*read_terms(self.terms_file), *table_words(self.tables),
                                  *self.extra_words])
            self._words = [w for w in seen if w]
        return self._words

    def signature(self) -> str:
        """Hash of the user dictionary: an index stores it to detect a changed tokenizer."""
        return hashlib.sha256("\n".join([CUT_VERSION, *self.words()]).encode()).hexdigest()[:16]

    def _cutter(self) -> Any:
        with self._lock:
            if self._jieba is None:
                with warnings.catch_warnings():  # jieba imports pkg_resources (deprecated): not ours to show
                    warnings.simplefilter("ignore", UserWarning)
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
        pieces = _CLOCK_END.split(text)  # 11时35分散会: 分 closes the time, 散会 is the word
        for tok in (t for piece in pieces if piece for t in self._cutter().cut_for_search(piece)):
            tok = tok.strip().lower()
            if tok and not _is_noise(tok) and tok not in STOPWORDS:
                out.append(tok)
        return out


CUT_VERSION = "2"  # bump when _cut splits text differently (indexes record the signature)
_CLOCK_END = re.compile(r"(?<=\d[时分])")


class Analyzer(Protocol):
    """Text -> index tokens; `signature()` changes whenever the tokens would."""

    def tokenize(self, text: str) -> list[str]: ...

    def signature(self) -> str: ...


_EN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


# UN drafting abbreviations that are never ordinary words: `[Alt. para 22]` meets `alternative
# paragraph 22`. (Not `art.` or `add.`: `state-of-the-art`, `add value`.)
EN_ABBREVIATIONS = {"para": "paragraph", "paras": "paragraphs", "subpara": "subparagraph",
                    "subparas": "subparagraphs", "alt": "alternative"}


class EnglishAnalyzer:
    """English tokens for the official translations: lowercase words and numbers, English
    stopwords (bm25s's list) dropped, UN drafting abbreviations written out (EN_ABBREVIATIONS),
    Snowball-stemmed (PyStemmer: 'recommendations' and 'recommended' meet at 'recommend').
    Document symbols stay single tokens as in Chinese."""

    def __init__(self) -> None:
        from bm25s.stopwords import STOPWORDS_EN

        self.stopwords = frozenset(STOPWORDS_EN)
        self._local = threading.local()  # a Stemmer is not thread-safe: one per thread

    def signature(self) -> str:
        text = ("\n".join(sorted(self.stopwords)) + metadata.version("PyStemmer") + "english"
                + json.dumps(EN_ABBREVIATIONS, sort_keys=True))
        return "en-" + hashlib.sha256(text.encode()).hexdigest()[:13]

    def _stemmer(self) -> Any:
        if getattr(self._local, "stemmer", None) is None:
            import Stemmer

            self._local.stemmer = Stemmer.Stemmer("english")
        return self._local.stemmer

    def tokenize(self, text: str) -> list[str]:
        text = nfkc(text)
        symbols = [symbol_key(m.group()) for m in SYMBOL_TOKEN_RE.finditer(text)]
        words = [EN_ABBREVIATIONS.get(w, w) for w in _EN_WORD.findall(SYMBOL_TOKEN_RE.sub(" ", text).lower())
                 if w not in self.stopwords]
        return symbols + self._stemmer().stemWords(words)


class BM25:
    """Okapi BM25 (k1=1.5, b=0.75, Lucene idf: ln(1 + (N - n + 0.5) / (n + 0.5)), always positive)
    on `bm25s`, which precomputes every term's weight per document in a sparse matrix.

    Rows are documents in fit order; `ids[row]` is what a search returns (the chunk ids of an
    index; by default the rows). Repeated query terms count once. `search` returns only rows with
    a positive score, best first, ties by id. `save` / `load` write and memory-map the matrix.
    """

    def __init__(self, tokenizer: Analyzer | None = None, k1: float = 1.5, b: float = 0.75) -> None:
        self.tokenizer = tokenizer or Tokenizer()
        self.k1 = k1
        self.b = b
        self.ids = np.zeros(0, dtype=np.int64)
        self._bm: Any = None

    def fit(self, texts: Sequence[str]) -> BM25:
        return self.fit_tokens([self.tokenizer.tokenize(t) for t in texts])

    def fit_tokens(self, docs: Sequence[Sequence[str]], ids: Sequence[int] | None = None) -> BM25:
        import bm25s

        self.ids = np.asarray(range(len(docs)) if ids is None else ids, dtype=np.int64)
        if len(self.ids) != len(docs):
            raise ValueError(f"{len(docs)} documents but {len(self.ids)} ids")
        vocab: dict[str, int] = {}
        rows = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in docs]
        self._bm = None
        if rows and vocab:
            bm = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            bm.index((rows, vocab), create_empty_token=False, show_progress=False)
            self._bm = bm
        return self

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for these query tokens."""
        if self._bm is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        term_ids = self._bm.get_tokens_ids(list(dict.fromkeys(query_tokens)))
        if not term_ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._bm.get_scores_from_ids(term_ids)

    def search(self, query: str, k: int = 10, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (id, score) with score > 0. `allowed`: a boolean mask indexed by id, or an array
        of allowed ids; None allows all."""
        return self.search_tokens(self.tokenizer.tokenize(query), k, allowed)

    def search_tokens(self, tokens: Sequence[str], k: int = 10,
                      allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.scores(tokens)
        rows = np.flatnonzero(scores > 0)
        if allowed is not None and len(rows):
            rows = rows[_allowed_ids(np.asarray(allowed), self.ids, self.ids[rows])]
        if len(rows) > k:
            rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
        ids = self.ids[rows]
        order = np.lexsort((ids, -scores[rows]))[:k]
        return [(int(ids[i]), float(scores[rows[i]])) for i in order]

    def document_frequencies(self, tokens: Sequence[str]) -> dict[str, int]:
        """How many rows hold each token (0 for one the vocabulary lacks)."""
        if self._bm is None:
            return dict.fromkeys(tokens, 0)
        indptr, vocab = self._bm.scores["indptr"], self._bm.vocab_dict
        out = {}
        for t in tokens:
            i = vocab.get(t)
            out[t] = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
        return out

    def extends(self, token: str) -> bool:
        """Is `token` the start of a vocabulary word (`defin` of `definit`)? For English stems
        the stemmer cut differently."""
        if self._bm is None:
            return False
        words = self.__dict__.get("_sorted_vocab")
        if words is None:
            words = self.__dict__["_sorted_vocab"] = sorted(self._bm.vocab_dict)
        i = bisect.bisect_left(words, token)
        return i < len(words) and words[i].startswith(token)

    def ids_with(self, needle: str) -> np.ndarray:
        """Ids of the rows holding a token that contains `needle` (lowercase, no spaces): the
        documents that mention a symbol or a number, found through the vocabulary."""
        needle = "".join(nfkc(needle).split()).lower()
        if self._bm is None or not needle:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self._bm.scores["indptr"], self._bm.scores["indices"]
        terms = [t for term, t in self._bm.vocab_dict.items() if needle in term]
        rows = [np.asarray(indices[indptr[t]:indptr[t + 1]]) for t in terms if t + 1 < len(indptr)]
        return np.unique(self.ids[np.concatenate(rows)]) if rows else np.zeros(0, dtype=np.int64)

    def save(self, directory: Path) -> list[Path]:
        """Write the matrix, the vocabulary and the ids into `directory`; returns the files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm is not None:
            self._bm.save(str(directory))
        params = {"k1": self.k1, "b": self.b, "tokenizer": self.tokenizer.signature(),
                  "empty": self._bm is None}
        (directory / "unrag.json").write_text(json.dumps(params), "utf-8")
        np.save(directory / "ids.npy", self.ids)
        return sorted(p for p in directory.iterdir() if p.is_file())

    @classmethod
    def load(cls, directory: Path, tokenizer: Analyzer | None = None) -> BM25:
        """Memory-map a saved index. Raises ValueError for another tokenizer's index."""
        import bm25s

        directory = Path(directory)
        params = json.loads((directory / "unrag.json").read_text("utf-8"))
        bm = cls(tokenizer, k1=float(params["k1"]), b=float(params["b"]))
        if params.get("tokenizer") != bm.tokenizer.signature():
            raise ValueError(f"{directory}: built with another tokenizer dictionary "
                             f"({params.get('tokenizer')} != {bm.tokenizer.signature()}); rebuild the index")
        bm.ids = np.load(directory / "ids.npy", mmap_mode="r")
        if not params.get("empty"):
            bm._bm = bm25s.BM25.load(str(directory), mmap=True)
        return bm


def _allowed_ids(allowed: np.ndarray, all_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Which of `ids` the filter keeps: a boolean mask indexed by id, or a list of allowed ids."""
    if allowed.dtype == bool:
        top = int(all_ids.max(initial=-1))
        if len(allowed) <= top:
            raise ValueError(f"allowed mask has {len(allowed)} entries; ids go up to {top}")
        return allowed[ids]
    return np.isin(ids, allowed.astype(np.int64))
