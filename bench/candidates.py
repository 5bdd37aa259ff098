"""Quality with candidate retrieval against the exhaustive reference (every row of every list
scored): the same top 5 for how many answerable questions, and hit@1 / hit@5 of each.

    .venv/bin/python bench/candidates.py [--qa FILE ...] [--index default]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.evaluate import first_hit, load_qa  # noqa: E402
from rag.pipeline import Pipeline, index_dir  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

SETS = ("dev.jsonl", "extra.jsonl", "2023-dev.jsonl", "2023.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qa", action="append", type=Path)
    ap.add_argument("--index", default="default")
    args = ap.parse_args()
    pipeline = Pipeline.load(index_dir(args.index))
    fast = pipeline.retriever
    exact = Retriever(fast.index, fast.encoder, candidates=fast.candidates, exhaustive=True,
                      fusion_mode=fast.fusion_mode)
    items = [i for path in (args.qa or [REPO / "eval" / s for s in SETS]) for i in load_qa(path) if i.answerable]
    same, hits = 0, {"candidates": [0, 0], "exhaustive": [0, 0]}
    for item in items:
        tops = {}
        for name, retriever in (("candidates", fast), ("exhaustive", exact)):
            passages = retriever.search(item.question, top_k=5).passages
            tops[name] = [p.chunk.id for p in passages]
            rank = first_hit(passages, item)
            hits[name][0] += rank == 1
            hits[name][1] += rank is not None
        same += tops["candidates"] == tops["exhaustive"]
    print(json.dumps({"questions": len(items), "same_top5": same,
                      "hit@1": {k: v[0] for k, v in hits.items()},
                      "hit@5": {k: v[1] for k, v in hits.items()}}))


if __name__ == "__main__":
    main()
