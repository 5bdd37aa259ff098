"""Evaluation: QA files with gold evidence -> per-question rows and summary metrics per system.

Definitions (k = the number of passages asked of `search`, 5 by default):
- Text match: `norm(s)` (rag.qa.norm) = NFKC, then every whitespace character removed. A passage *contains* a
  quote when norm(quote) is a substring of norm(passage text).
- Speaker match: an evidence item with an empty speaker list accepts any passage; otherwise at
  least one of its names (normalised the same way) must be a substring of the passage's speaker
  label, name or affiliation (role, language and capacity do not count).
- Hit: a passage whose doc_id equals the evidence doc, that contains the quote and whose speaker
  matches; any one evidence item of the question suffices. The "doc+quote" variant drops the
  speaker condition (for systems that know no speakers).
- hit@1, hit@k, MRR (cut at k): over answerable questions, from the 1-based position of the first
  hit among the first k passages of `search` (MRR adds 1/position, 0 without a hit).
- speaker accuracy: among all (question, passage) pairs of answerable questions where the passage
  matches some evidence item on doc+quote, the share where it also matches that item's speaker.
- grounding: share of all returned search passages (every question) whose document is in the
  sources, whose offsets lie inside it and whose text equals source[start:end] once all
  whitespace is removed on both sides (no NFKC: verbatim). "citation grounding": same for `ask`
  citations.
- symbol accuracy: share of all search passages and citations whose symbol equals the manifest
  symbol of their doc_id (None when the manifest has none). Only when `symbols` is given.
- abstention accuracy: share of unanswerable questions that `ask` answers with answerable False;
  "wrongly abstained": answerable questions answered with answerable False (count over all
  answerable). "citation hit": answerable questions answered as answerable whose citations
  contain a hit; "citation speaker accuracy" like speaker accuracy, over citations.
- refusal precision: share of the refused questions (answerable False) that are unanswerable;
  refusal recall: share of the unanswerable questions that are refused (= abstention accuracy).
- citations verified: share of `ask` citations that rag.verify confirms against the corpus (the
  cited text stands in the cited document, every turn it covers is the cited speaker's, at the
  cited paragraph). Only when a verifier is given (run_eval makes one from the corpus).
- With several QA files, hit@1 and hit@k (both variants) and abstention accuracy are also given
  per file, e.g. "hit@1 [dev]"; hit@1 and hit@k per question language always ("hit@1 [en]").
- latency: wall-clock ms per call; p50/p95 by the nearest-rank method (the ceil(p/100*n)-th
  smallest value). run_eval makes one untimed warm-up call per system first (lazy loading).
A metric without its population (no ask, no matching passage) is None, shown as "n/a".
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.qa import Evidence, QAFormatError, QAItem, check_gold, load_qa, load_sources, norm
from rag.records import Passage, SearchResult

_WS = re.compile(r"\s+")


# ---------------------------------------------------------------- matching

def speaker_ok(passage: Passage, evidence: Evidence) -> bool:
    if not evidence.speakers:
        return True
    c = passage.chunk
    info = c.speaker_info
    # label, name and affiliation only: role, language and capacity (主席, 以英语发言) would let
    # gold "主席" accept a national-capacity turn, and say nothing about who spoke.
    labels = [c.speaker] + ([info.name, info.affiliation] if info else [])
    labels = [norm(x) for x in labels if isinstance(x, str) and x]
    return any(norm(name) in label for name in evidence.speakers for label in labels)


def doc_quote_ok(passage: Passage, evidence: Evidence) -> bool:
    return passage.chunk.doc_id == evidence.doc and norm(evidence.quote) in norm(passage.chunk.text)


def is_hit(passage: Passage, item: QAItem, *, speaker: bool = True) -> bool:
    return any(doc_quote_ok(passage, e) and (not speaker or speaker_ok(passage, e))
               for e in item.evidence)


def first_hit(passages: Sequence[Passage], item: QAItem, *, speaker: bool = True) -> int | None:
    """1-based position of the first hit, None without one."""
    return next((i for i, p in enumerate(passages, 1) if is_hit(p, item, speaker=speaker)), None)


def speaker_judgements(passages: Sequence[Passage], item: QAItem) -> list[bool]:
    """For each passage that matches some evidence on doc+quote: does its speaker match too?"""
    out = []
    for p in passages:
        matching = [e for e in item.evidence if doc_quote_ok(p, e)]
        if matching:
            out.append(any(speaker_ok(p, e) for e in matching))
    return out


def grounded(passage: Passage, sources: Mapping[str, str]) -> bool:
    c = passage.chunk
    src = sources.get(c.doc_id)
    if src is None or not 0 <= c.start <= c.end <= len(src):
        return False
    return _WS.sub("", c.text) == _WS.sub("", src[c.start:c.end])


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the ceil(p/100 * n)-th smallest value (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# ---------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class Row:
    id: str
    qa_set: str
    lang: str
    answerable: bool  # gold
    hit_rank: int | None
    doc_quote_rank: int | None
    first_speaker: str | None
    predicted_answerable: bool | None  # None: the system has no ask
    citation_hit: bool | None
    search_ms: float
    ask_ms: float | None
    ungrounded: int  # returned passages whose text is not their source slice


@dataclass(frozen=True)
class Ratio:
    num: float
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None


@dataclass(frozen=True)
class Report:
    k: int
    rows: tuple[Row, ...]
    metrics: dict[str, Ratio | float | None] = field(default_factory=dict)

    def value(self, name: str) -> float | None:
        m = self.metrics[name]
        return m.value if isinstance(m, Ratio) else m

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "metrics": {name: self.value(name) for name in self.metrics},
            "counts": {name: [m.num, m.den] for name, m in self.metrics.items()
                       if isinstance(m, Ratio)},
            "rows": [asdict(r) for r in self.rows],
        }


def evaluate(items: Sequence[QAItem], ask: Callable[[str], Any] | None,
             search: Callable[[str], SearchResult], sources: Mapping[str, str], k: int = 5,
             symbols: Mapping[str, str | None] | None = None, verifier: Any = None) -> Report:
    """Run every question through `search` (first k passages kept) and, when given, `ask` (an
    Answer-like object with `answerable` and `citations`); score as the module docstring says."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rows, shown, cited, spk, cite_spk = [], [], [], [], []
    search_ms, ask_ms = [], []
    for item in items:
        t0 = time.perf_counter()
        passages = tuple(search(item.question).passages[:k])
        search_ms.append((time.perf_counter() - t0) * 1000)
        answer = None
        if ask is not None:
            t0 = time.perf_counter()
            answer = ask(item.question)
            ask_ms.append((time.perf_counter() - t0) * 1000)
        citations = tuple(answer.citations) if answer is not None else ()
        shown.extend(passages)
        cited.extend(citations)
        if item.answerable:
            spk.extend(speaker_judgements(passages, item))
            cite_spk.extend(speaker_judgements(citations, item))
        rows.append(_row(item, passages, answer, citations, sources, search_ms[-1],
                         ask_ms[-1] if answer is not None else None))
    metrics = _metrics(rows, k, ask is not None, shown, cited, spk, cite_spk, sources, symbols)
    if verifier is not None and ask is not None:
        metrics["citations verified"] = Ratio(sum(_verified(verifier, p) for p in cited), len(cited))
    metrics |= {"search p50 ms": percentile(search_ms, 50), "search p95 ms": percentile(search_ms, 95),
                "ask p50 ms": percentile(ask_ms, 50), "ask p95 ms": percentile(ask_ms, 95)}
    return Report(k, tuple(rows), metrics)


def _row(item, passages, answer, citations, sources, s_ms, a_ms) -> Row:
    predicted = bool(answer.answerable) if answer is not None else None
    citation_hit = None
    if answer is not None and item.answerable:
        citation_hit = bool(predicted) and first_hit(citations, item) is not None
    return Row(
        id=item.id, qa_set=item.qa_set, lang=item.lang, answerable=item.answerable,
        hit_rank=first_hit(passages, item) if item.answerable else None,
        doc_quote_rank=first_hit(passages, item, speaker=False) if item.answerable else None,
        first_speaker=passages[0].chunk.speaker if passages else None,
        predicted_answerable=predicted, citation_hit=citation_hit,
        search_ms=round(s_ms, 2), ask_ms=round(a_ms, 2) if a_ms is not None else None,
        ungrounded=sum(not grounded(p, sources) for p in passages),
    )


def _metrics(rows, k, has_ask, shown, cited, spk, cite_spk, sources, symbols) -> dict[str, Any]:
    ans = [r for r in rows if r.answerable]
    una = [r for r in rows if not r.answerable]
    m: dict[str, Any] = {"questions": len(rows), "answerable": len(ans)}
    for suffix, attr in (("", "hit_rank"), (" doc+quote", "doc_quote_rank")):
        ranks = [getattr(r, attr) for r in ans]
        m[f"hit@1{suffix}"] = Ratio(sum(x == 1 for x in ranks), len(ans))
        m[f"hit@{k}{suffix}"] = Ratio(sum(x is not None for x in ranks), len(ans))
        m[f"MRR{suffix}"] = Ratio(sum(1 / x for x in ranks if x), len(ans))
    m["speaker accuracy"] = Ratio(sum(spk), len(spk))
    sets = sorted({r.qa_set for r in rows})
    for name in sets if len(sets) > 1 else ():
        part = [r for r in ans if r.qa_set == name]
        for suffix, attr in (("", "hit_rank"), (" doc+quote", "doc_quote_rank")):
            ranks = [getattr(r, attr) for r in part]
            m[f"hit@1{suffix} [{name}]"] = Ratio(sum(x == 1 for x in ranks), len(part))
            m[f"hit@{k}{suffix} [{name}]"] = Ratio(sum(x is not None for x in ranks), len(part))
    for lang in sorted({r.lang for r in ans}):
        part = [r.hit_rank for r in ans if r.lang == lang]
        m[f"hit@1 [{lang}]"] = Ratio(sum(x == 1 for x in part), len(part))
        m[f"hit@{k} [{lang}]"] = Ratio(sum(x is not None for x in part), len(part))
    m["grounding"] = Ratio(sum(grounded(p, sources) for p in shown), len(shown))
    m["symbol accuracy"] = (Ratio(sum(_symbol_ok(p, symbols) for p in shown + cited),
                                  len(shown) + len(cited)) if symbols is not None else None)
    if not has_ask:
        names = ["abstention accuracy", *(f"abstention accuracy [{n}]" for n in sets
                                          if len(sets) > 1),
                 "wrongly abstained", "refusal precision", "refusal recall", "citation hit", "citation speaker accuracy",
                 "citation grounding"]
        return m | dict.fromkeys(names)
    m["abstention accuracy"] = Ratio(sum(r.predicted_answerable is False for r in una), len(una))
    for name in sets if len(sets) > 1 else ():
        part = [r for r in una if r.qa_set == name]
        m[f"abstention accuracy [{name}]"] = Ratio(
            sum(r.predicted_answerable is False for r in part), len(part))
    m["wrongly abstained"] = Ratio(sum(r.predicted_answerable is False for r in ans), len(ans))
    refused = [r for r in rows if r.predicted_answerable is False]
    m["refusal precision"] = Ratio(sum(not r.answerable for r in refused), len(refused))
    m["refusal recall"] = Ratio(sum(not r.answerable for r in refused), len(una))
    m["citation hit"] = Ratio(sum(bool(r.citation_hit) for r in ans), len(ans))
    m["citation speaker accuracy"] = Ratio(sum(cite_spk), len(cite_spk))
    m["citation grounding"] = Ratio(sum(grounded(p, sources) for p in cited), len(cited))
    return m


def _verified(verifier: Any, passage: Passage) -> bool:
    """rag.verify confirms the citation: its text in its document, its speaker's turn, its paragraph."""
    from rag.verify import Claim
    c = passage.chunk
    result = verifier.verify(Claim(c.doc_id, c.text, c.speaker, c.paragraph))
    return result.found and result.speaker_matches is not False and result.paragraph_matches is not False


def _symbol_ok(passage: Passage, symbols: Mapping[str, str | None]) -> bool:
    c = passage.chunk
    return c.doc_id in symbols and c.symbol == symbols[c.doc_id]


# ---------------------------------------------------------------- running and reporting

def run_eval(systems: Mapping[str, Any], qa_paths: Sequence[str | Path], corpus_dir: str | Path,
             k: int = 5) -> dict[str, Report]:
    """Evaluate every system (anything with `search(query, top_k)`, optionally `ask(question,
    top_k)`) on the questions of all `qa_paths`. Gold is checked against the corpus first."""
    items = [item for path in qa_paths for item in load_qa(path)]
    dup = sorted(qid for qid, n in Counter(i.id for i in items).items() if n > 1)
    if dup:
        raise QAFormatError(f"question ids used in more than one QA file: {', '.join(dup)}")
    sources, symbols = load_sources(corpus_dir)
    if problems := check_gold(items, sources):
        raise QAFormatError("gold evidence does not match the corpus:\n" + "\n".join(problems))
    verifier = _corpus_verifier(corpus_dir)
    reports = {}
    for name, system in systems.items():
        ask = getattr(system, "ask", None)
        system.search(items[0].question, top_k=k)  # warm-up: lazy loading stays out of latency
        if ask is not None:
            ask(items[0].question, top_k=k)
        reports[name] = evaluate(
            items,
            ask=(lambda q, ask=ask: ask(q, top_k=k)) if ask is not None else None,
            search=lambda q, system=system: system.search(q, top_k=k),
            sources=sources, k=k, symbols=symbols, verifier=verifier)
    return reports


def _corpus_verifier(corpus_dir: str | Path) -> Any:
    """A rag.verify.Verifier over the corpus as chunked now (independent of any system's index)."""
    from types import SimpleNamespace

    from rag.catalog import Catalog
    from rag.chunks import chunk_corpus
    from rag.verify import Verifier
    documents, chunks = chunk_corpus(Path(corpus_dir))
    return Verifier(Catalog(SimpleNamespace(documents=documents, chunks=chunks), Path(corpus_dir)))


def format_table(reports: Mapping[str, Report], detail: str | None = None) -> str:
    """One summary table, a column per system (in the given order), then per-question rows of
    `detail` (default: the first system)."""
    if not reports:
        raise ValueError("no reports to format")
    names = list(reports)
    first = reports[names[0]]
    rows = [["metric", *names]]
    for metric in first.metrics:
        rows.append([metric, *(_cell(reports[n].metrics.get(metric)) for n in names)])
    out = [_layout(rows), ""]
    detail = detail or names[0]
    out.append(f"per question ({detail}): rank = first hit among the top {first.k} "
               "(dq: doc+quote only); gold/pred A = answerable, U = not; cite = a citation hits")
    table = [["id", "lang", "gold", "rank", "dq", "first speaker", "pred", "cite", "search ms",
              "ask ms"]]
    for r in reports[detail].rows:
        table.append([r.id, r.lang, "A" if r.answerable else "U", _opt(r.hit_rank),
                      _opt(r.doc_quote_rank), _clip(r.first_speaker or "-", 18),
                      {None: "n/a", True: "A", False: "U"}[r.predicted_answerable],
                      {None: "-", True: "hit", False: "miss"}[r.citation_hit],
                      f"{r.search_ms:.0f}", "n/a" if r.ask_ms is None else f"{r.ask_ms:.0f}"])
    out.append(_layout(table))
    return "\n".join(out)


def _cell(m: Ratio | float | None) -> str:
    if isinstance(m, Ratio):
        if m.value is None:
            return "n/a"
        num = f"{m.num:.2f}" if m.num != int(m.num) else f"{int(m.num)}"
        return f"{m.value:.3f} ({num}/{m.den})"
    if m is None:
        return "n/a"
    return f"{m:.0f}" if float(m).is_integer() or m >= 100 else f"{m:.1f}"


def _opt(x: int | None) -> str:
    return "-" if x is None else str(x)


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _clip(s: str, width: int) -> str:
    out = ""
    for ch in s:
        if _width(out + ch) > width:
            return out + "…"
        out += ch
    return out


def _layout(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)).rstrip()
                     for r in rows)
