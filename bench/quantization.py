"""What the IVF indexes' 8-bit codes (`IVF<nlist>,SQ8`, rag.vectors.auto_factory) cost in ranking.

Run: .venv/bin/python bench/quantization.py [--index index/default] [--tiled A B]

1. On the real index (default): every vector of the four lists (dense, sentences, and their
   English twins) against the real questions of eval/*.jsonl. The top 10 by exact float inner
   product is the reference; each code is scored by the share of that top 10 it keeps (r@10) and
   how often its first is the exact first (top1). Codes: flat fp16, flat 8-bit, and 8-bit on the
   residual of an IVF centroid (what IVF,SQ8 stores) with every list visited, so that only the
   quantization differs; all built by rag.vectors.new_index (8-bit ranges widened by SQ8_MARGIN).
   Last: the IVF trained on a tenth of the vectors and all of them added, as later builds add
   vectors to an index without training it again; with the margin, then without it.
2. `--tiled A B`: two tilings of bench/scale.py built alike but for their factory (e.g. SQfp16 and
   SQ8): the served search (Retriever.search, candidates, nprobe) on both, the top 10 of each list
   and of the fused ranking compared, question by question.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LISTS = ("dense", "sentences", "dense_en", "sentences_en")


def questions() -> list[str]:
    return [json.loads(line)["question"] for path in sorted((REPO / "eval").glob("*.jsonl"))
            for line in path.read_text("utf-8").splitlines() if line.strip()]


def encoder():
    from rag.config import Settings
    from rag.embed import encoder_for
    return encoder_for(None, Settings.from_env())


def overlap(a, b, k: int = 10) -> float:
    a, b = list(a)[:k], list(b)[:k]
    return len(set(a) & set(b)) / len(b) if b else 1.0


def coded(x: np.ndarray, factory: str, train: np.ndarray, margin: float | None = None) -> faiss.Index:
    """The production index type (rag.vectors.new_index: 8-bit ranges widened by SQ8_MARGIN, or
    by `margin`) trained on `train`, holding every row of x."""
    from rag import vectors as vec
    index = vec.new_index(x.shape[1], factory, train, vec.SQ8_MARGIN if margin is None else margin)
    vec.add(index, np.arange(len(x), dtype=np.int64), x)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = ivf.nlist  # every list: only the codes differ from the exact search
    return index


def real(path: Path) -> None:
    from rag import index as index_mod
    index = index_mod.load(path)
    qs = questions()
    q = np.asarray(encoder().encode_queries(qs), dtype=np.float32)
    print(f"{len(qs)} questions, index {path}")
    for name in LISTS:
        view = getattr(index, name, None)
        if view is None:
            continue
        x = np.asarray(view.vectors(view.all_ids()), dtype=np.float32)
        exact = np.argsort(-(q @ x.T), axis=1)[:, :10]
        nlist = max(1, min(64, len(x) // 39))
        tenth = x[np.sort(np.random.default_rng(0).choice(len(x), max(len(x) // 10, nlist), replace=False))]
        row = []
        ivf = f"IVF{nlist},SQ8"
        for factory, train, margin, label in (("SQfp16", x, None, "SQfp16"), ("SQ8", x, None, "SQ8"), (ivf, x, None, ivf),
                                              (ivf, tenth, None, "trained on a tenth, the rest added later"),
                                              (ivf, tenth, 0.0, "the same without the margin")):
            _, got = coded(x, factory, train, margin).search(q, 10)
            r10 = np.mean([overlap(g, e) for g, e in zip(got, exact)])
            row.append(f"{label} r@10 {r10:.4f} top1 {np.mean(got[:, 0] == exact[:, 0]):.4f}")
        print(f"{name} ({len(x)}): " + " | ".join(row))


def tiled(a: Path, b: Path) -> None:
    from rag import index as index_mod
    from rag.pipeline import Pipeline
    from rag.config import Settings
    enc, settings, qs = encoder(), Settings.from_env(), questions()
    runs = [Pipeline(index_mod.load(p, nprobe=settings.nprobe), enc, settings=settings).retriever for p in (a, b)]
    print(f"{len(qs)} questions; {a.name}: {runs[0].index.config['factories']}; "
          f"{b.name}: {runs[1].index.config['factories']}")
    lists: dict[str, list[float]] = {name: [] for name in ("dense", "sentences", "dense_en", "sentences_en", "fused")}
    for question in qs:
        vector = enc.encode_queries([question])
        got = []
        for r in runs:
            allowed = r.index.body()
            got.append({"dense": r._dense(vector, allowed), "sentences": r._sentence(vector, allowed),
                        "dense_en": r._dense(vector, allowed, english=True), "sentences_en": r._sentence_en(vector, allowed),
                        "fused": [p.chunk.id for p in r.search(question, 10).passages]})
        for name in lists:
            lists[name].append(overlap(got[1][name], got[0][name]))
    print("top 10 kept: " + ", ".join(f"{name} {np.mean(v):.4f}" for name, v in lists.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "index" / "default")
    parser.add_argument("--tiled", type=Path, nargs=2, metavar=("REFERENCE", "OTHER"))
    args = parser.parse_args()
    tiled(*args.tiled) if args.tiled else real(args.index)


if __name__ == "__main__":
    main()
