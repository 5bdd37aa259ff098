"""Do the encoder runtimes give the same retrieval? Builds the corpus index once per runtime (in a
temporary directory) and compares, on the evaluation questions (eval/dev.jsonl, eval/extra.jsonl):

- the cosine between the runtimes' vectors of every passage the index embeds (chunks and
  sentences) and of every question (min and mean);
- the top-5 overlap of the full pipeline's search (fused dense + sentence + BM25 ranking):
  |top5(a) & top5(b)| / 5, averaged over the questions, and how often the top 1 is the same;
- the same with an index built by one runtime and queried by the other (indexes are shared).

    python bench/encoder_agreement.py [--runtimes torch openvino] [--model PATH]

The adoption rule for a runtime (README "Embedding"): top-5 overlap >= 0.95 against torch fp32."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import index as index_mod  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embed import Embedder  # noqa: E402
from rag.model_store import resolve_model  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402


class Recording:
    """An Encoder that passes through and keeps every passage vector it produced, in call order."""

    def __init__(self, inner: Embedder):
        self.inner, self.passages = inner, []
        self.model_id, self.weights_hash = inner.model_id, inner.weights_hash

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        vectors = self.inner.encode_passages(texts, progress=progress)
        self.passages.append(vectors)
        return vectors


def questions() -> list[str]:
    return [json.loads(line)["question"] for name in ("dev.jsonl", "extra.jsonl")
            for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def top5(pipeline: Pipeline, qs: list[str]) -> list[list[str]]:
    return [[p.chunk.id for p in pipeline.search(q, 5).passages] for q in qs]


def overlap(a: list[list[str]], b: list[list[str]]) -> tuple[float, int]:
    return (float(np.mean([len(set(x) & set(y)) / 5 for x, y in zip(a, b)])),
            sum(bool(x) and bool(y) and x[0] == y[0] for x, y in zip(a, b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs=2, default=["torch", "openvino"], metavar=("A", "B"))
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    model, qs = resolve_model(args.model), questions()
    settings = Settings.from_env()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for runtime in args.runtimes:
            encoder = Recording(Embedder(model, runtime=runtime))
            t0 = time.perf_counter()
            index_mod.build(REPO / "corpus", Path(tmp) / runtime, encoder, force=True)
            build_s = time.perf_counter() - t0
            pipeline = Pipeline(index_mod.load(Path(tmp) / runtime, encoder.inner), encoder.inner,
                                settings=settings)
            runs[runtime] = {"encoder": encoder, "pipeline": pipeline, "build_s": build_s,
                             "queries": encoder.inner.encode_queries(qs), "top5": top5(pipeline, qs)}
        a, b = (runs[r] for r in args.runtimes)
        pa, pb = np.concatenate(a["encoder"].passages), np.concatenate(b["encoder"].passages)
        if pa.shape != pb.shape:
            raise SystemExit(f"the builds embedded different passages: {pa.shape} vs {pb.shape}")
        cos_p, cos_q = (pa * pb).sum(axis=1), (a["queries"] * b["queries"]).sum(axis=1)
        same, top1 = overlap(a["top5"], b["top5"])
        # index built by A, queried by B: B's query vectors against A's stored vectors
        crossed = Pipeline(index_mod.load(Path(tmp) / args.runtimes[0], b["pipeline"].encoder.inner),
                           b["pipeline"].encoder.inner, settings=settings)
        cross, cross_top1 = overlap(a["top5"], top5(crossed, qs))
    ra, rb = (runs[r]["encoder"].inner.info["runtime"] for r in args.runtimes)
    result = {"a": ra, "b": rb, "questions": len(qs), "passages": len(pa),
              "passage_cosine_min": round(float(cos_p.min()), 6),
              "passage_cosine_mean": round(float(cos_p.mean()), 6),
              "query_cosine_min": round(float(cos_q.min()), 6),
              "query_cosine_mean": round(float(cos_q.mean()), 6),
              "top5_overlap": round(same, 3), "same_top1": top1,
              "top5_overlap_crossed": round(cross, 3), "same_top1_crossed": cross_top1,
              "build_s": {r: round(runs[r]["build_s"], 1) for r in args.runtimes}}
    print(f"{ra} vs {rb}: {len(pa)} passages, {len(qs)} questions")
    print(f"passage cosine  min {result['passage_cosine_min']:.6f}  mean {result['passage_cosine_mean']:.6f}")
    print(f"query cosine    min {result['query_cosine_min']:.6f}  mean {result['query_cosine_mean']:.6f}")
    print(f"top-5 overlap   {same:.3f}  (same top 1: {top1}/{len(qs)})")
    print(f"crossed         {cross:.3f}  (index by {ra}, queries by {rb}; "
          f"same top 1: {cross_top1}/{len(qs)})")
    print(f"index build     " + ", ".join(f"{r} {s:.1f} s" for r, s in result["build_s"].items()))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
