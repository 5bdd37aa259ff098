"""Calibration data for the weak-evidence threshold (RAG_MIN_Z): the z-score of every question of
the QA sets (the top candidate's best score against the index's null sample, rag.index.NullSample),
split by gold answerability, and what each candidate threshold would do.
Run: .venv/bin/python bench/abstention.py [--qa eval/dev.jsonl --qa eval/extra.jsonl] [--index NAME]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.pipeline import Pipeline, index_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", action="append", type=Path,
                        help="QA file (repeatable; default eval/dev.jsonl and eval/extra.jsonl)")
    parser.add_argument("--index", default="default")
    args = parser.parse_args()
    files = args.qa or [REPO / "eval" / "dev.jsonl", REPO / "eval" / "extra.jsonl"]
    pipeline = Pipeline.load(index_dir(args.index))
    rows = []
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            intent = pipeline.retriever.understand(q["question"])
            caught = pipeline._refusal(q["question"], intent) is not None
            result = pipeline.search(q["question"], 5)
            named = result.diagnostics.get("filters", {})
            exempt = bool(named.get("doc_ids") or named.get("speakers"))  # never abstains on z
            z = result.diagnostics.get("dense_stats", {}).get("z")
            rows.append((q["id"], q.get("answerable", True), z, caught, exempt))
    for qid, answerable, z, caught, exempt in sorted(rows, key=lambda r: (r[2] is None, r[2])):
        note = "refused by name rules" if caught else ("names a document or speaker" if exempt else "")
        print(f"{qid:10} {'A' if answerable else 'U'}  z={z}  {note}")
    answerable_z = [z for _, a, z, _, e in rows if a and z is not None and not e]
    open_u = [(qid, z) for qid, a, z, c, e in rows if not a and not c and not e]
    print(f"\nlowest z of an answerable question open to the z rule: {min(answerable_z, default=None)}")
    print(f"unanswerable questions left to the z rule: {open_u}")
    for t in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5):
        lost = sum(z < t for z in answerable_z)
        caught = sum(z is not None and z < t for _, z in open_u)
        print(f"threshold {t}: answerable wrongly abstained {lost}/{len(answerable_z)}, "
              f"remaining unanswerable abstained {caught}/{len(open_u)}")


if __name__ == "__main__":
    main()
