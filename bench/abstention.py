"""Calibration data for abstention: for every question of the QA files, whether the name rules
refuse it, whether it names a document or speaker, its dense z-score (RAG_MIN_Z) and its lexical
coverage (RAG_MIN_COVERAGE, RAG_LOW_COVERAGE, RAG_LOW_COVERAGE_Z, RAG_MIN_COVERAGE_EN,
rag/relevance.py); then what each candidate rule would do, per language (the rule chosen is the
one with the fewest errors, answerable refused plus unanswerable answered, on the calibration half).

Calibrate on one half, report on the other (README "Abstention"):
  .venv/bin/python bench/abstention.py --qa eval/dev.jsonl --qa eval/extra.jsonl \\
      --qa eval/2023-dev.jsonl --qa eval/offtopic.jsonl --skip off-b-        # calibration
  .venv/bin/python bench/abstention.py --qa eval/2023.jsonl --qa eval/offtopic.jsonl --skip off-a-  # report
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.pipeline import Pipeline, index_dir  # noqa: E402


def rows_of(pipeline: Pipeline, files: list[Path], skip: tuple[str, ...]) -> list[dict]:
    rows = []
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            q = json.loads(line) if line.strip() else None
            if q is None or q["id"].startswith(skip):
                continue
            intent = pipeline.retriever.understand(q["question"])
            result = pipeline.search(q["question"], 5)
            d = result.diagnostics
            named = d.get("filters", {})
            cov = d.get("coverage") or {}
            rows.append({"id": q["id"], "answerable": q.get("answerable", True), "lang": intent.lang,
                         "names": pipeline._refusal(q["question"], intent) is not None,
                         "named": bool(named.get("doc_ids") or named.get("speakers")),
                         "z": d.get("dense_stats", {}).get("z"),
                         "coverage": cov.get("score") if cov.get("measured") else None,
                         "missing": cov.get("missing", [])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", action="append", type=Path, required=True, help="QA file (repeatable)")
    parser.add_argument("--skip", action="append", default=[], help="leave out ids with this prefix")
    parser.add_argument("--index", default="default")
    args = parser.parse_args()
    pipeline = Pipeline.load(index_dir(args.index))
    rows = rows_of(pipeline, args.qa, tuple(args.skip))
    for r in sorted(rows, key=lambda r: (r["answerable"], r["coverage"] if r["coverage"] is not None else 9)):
        print(f"{r['id']:10} {'A' if r['answerable'] else 'U'}  coverage={r['coverage']}  z={r['z']}  "
              f"{'names-rule ' if r['names'] else ''}{'named ' if r['named'] else ''}{' '.join(r['missing'])}")
    ans = [r for r in rows if r["answerable"] and not r["names"]]
    una = [r for r in rows if not r["answerable"]]
    print(f"\n{len(ans)} answerable (not refused by name rules), {len(una)} unanswerable, "
          f"{sum(r['names'] for r in una)} of them refused by the name rules")
    # the rule in use, per language (the two coverages are measured on different vocabularies):
    # Chinese off-topic below lo, or below 0.55 with z < zmin; English below lo alone
    for lang, grid in (("zh", [(lo, z) for lo in (0.25, 0.3, 0.35, 0.55) for z in (0.0, 2.75, 3.0, 3.25, 3.5)]),
                       ("en", [(lo, 0.0) for lo in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6)])):
        a = [r for r in ans if r["lang"] == lang]
        u = [r for r in una if r["lang"] == lang]
        for lo, zmin in grid:
            off = lambda r: r["coverage"] is not None and (  # noqa: E731
                r["coverage"] < lo or (r["coverage"] < 0.55 and r["z"] is not None and r["z"] < zmin))
            lost = [r["id"] for r in a if off(r)]
            caught = sum(r["names"] or off(r) for r in u)
            print(f"{lang}: coverage < {lo}" + (f", or < 0.55 with z < {zmin}" if zmin else "") +
                  f": answerable refused {len(lost)}/{len(a)} {lost}, unanswerable refused (with the name "
                  f"rules) {caught}/{len(u)}; errors {len(lost) + len(u) - caught}")
    for t in (1.0, 1.5, 2.0, 2.5):
        lost = sum(r["z"] is not None and r["z"] < t and not r["named"] for r in ans)
        print(f"z < {t} (not named): answerable refused {lost}/{len(ans)}")


if __name__ == "__main__":
    main()
