"""Calibration data for the weak-evidence threshold (RAG_MIN_Z): the z-score of every question of
the QA sets, split by gold answerability, and what each candidate threshold would do.
Run: .venv/bin/python bench/abstention.py"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.pipeline import Pipeline, index_dir  # noqa: E402


def main() -> None:
    pipeline = Pipeline.load(index_dir("default"))
    rows = []
    for name in ("dev.jsonl", "extra.jsonl"):
        for line in (REPO / "eval" / name).read_text("utf-8").splitlines():
            q = json.loads(line)
            intent = pipeline.retriever.understand(q["question"])
            caught = pipeline._refusal(q["question"], intent) is not None
            stats = pipeline.search(q["question"], 5).diagnostics.get("dense_stats", {})
            rows.append((q["id"], q["answerable"], stats.get("z"), caught))
    for qid, answerable, z, caught in sorted(rows, key=lambda r: (r[2] is None, r[2])):
        print(f"{qid:10} {'A' if answerable else 'U'}  z={z}  {'refused by name rules' if caught else ''}")
    answerable_z = [z for _, a, z, _ in rows if a and z is not None]
    open_u = [(qid, z) for qid, a, z, c in rows if not a and not c]
    print(f"\nlowest z of an answerable question: {min(answerable_z)}")
    print(f"unanswerable questions not refused by the name rules: {open_u}")
    for t in (1.0, 1.5, 2.0, 2.5, 3.0):
        lost = sum(z < t for z in answerable_z)
        caught = sum(z is not None and z < t for _, z in open_u)
        print(f"threshold {t}: answerable wrongly abstained {lost}/{len(answerable_z)}, "
              f"remaining unanswerable abstained {caught}/{len(open_u)}")


if __name__ == "__main__":
    main()
