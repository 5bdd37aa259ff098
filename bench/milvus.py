"""FAISS vs Milvus (milvus-lite) on the real index: export time, load time, and query p50/p95 of
the whole retriever search and of its dense and BM25 calls alone, over every question of the QA
sets; and how many questions get the same top-5 from both. Prints numbers; asserts nothing; the
last line is JSON. Run: .venv/bin/python bench/milvus.py [--index default] [--uri URI]
(default URI: milvus-lite in a temporary directory, so the index version is left as built)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import index as index_mod  # noqa: E402
from rag import milvus_export, milvus_store  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embed import encoder_for  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(p / 100 * len(values) + 0.5)) - 1)]


def timed(call, *args) -> float:
    t = time.perf_counter()
    call(*args)
    return (time.perf_counter() - t) * 1000


def measure(pipelines: dict[str, Pipeline], questions: list[str], vectors: dict,
            rounds: int = 3) -> dict[str, dict[str, list[float]]]:
    """Each question on each store in turn (interleaved: both see the same machine load)."""
    out = {name: {"search": [], "dense": [], "bm25": []} for name in pipelines}
    for _ in range(rounds):
        for q in questions:
            for name, p in pipelines.items():
                index, body = p.index, p.index.body()
                out[name]["search"].append(timed(p.search, q))
                out[name]["dense"].append(timed(index.dense.search, vectors[q], 300, body))
                out[name]["bm25"].append(timed(index.bm25.search, q, 300, body.mask))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default="default")
    ap.add_argument("--uri", default=None)
    args = ap.parse_args()
    settings = Settings.from_env()
    path = settings.index_path(args.index)
    questions = [json.loads(line)["question"] for name in ("dev.jsonl", "extra.jsonl")
                 for line in (REPO / "eval" / name).read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        uri = args.uri or str(Path(tmp) / "milvus.db")
        t = time.perf_counter()
        done = milvus_export.export(path, uri, force=True)
        export_s = time.perf_counter() - t
        encoder = encoder_for(None, settings)
        t = time.perf_counter()
        faiss_index = index_mod.load(path, encoder)
        faiss_load = time.perf_counter() - t
        t = time.perf_counter()
        milvus_index = index_mod.load(path, encoder, store="milvus", milvus_uri=uri)
        milvus_load = time.perf_counter() - t
        pipelines = {"faiss": Pipeline(faiss_index, encoder, settings=settings),
                     "milvus": Pipeline(milvus_index, encoder, settings=settings)}
        vectors = {q: encoder.encode_queries([q]) for q in questions}
        for p in pipelines.values():
            p.search("warm-up 维和")
        same = sum([p.chunk.id for p in pipelines["faiss"].search(q, 5).passages]
                   == [p.chunk.id for p in pipelines["milvus"].search(q, 5).passages] for q in questions)
        timings = measure(pipelines, questions, vectors)
        milvus_index.close()
        faiss_index.close()
    print(f"index {args.index}: {faiss_index.live_count} chunks; {len(questions)} questions x 3 rounds; "
          f"export to {'milvus-lite' if not milvus_store.is_remote(uri) else uri}: {export_s:.1f} s "
          f"({sum(done['collections'].values())} rows)")
    print(f"load: faiss {faiss_load * 1000:.0f} ms, milvus {milvus_load * 1000:.0f} ms")
    result = {"chunks": faiss_index.live_count, "questions": len(questions), "export_s": round(export_s, 2),
              "same_top5": same}
    for store, values in timings.items():
        for call, ms in values.items():
            p50, p95 = statistics.median(ms), pct(ms, 95)
            print(f"{store:6} {call:6}: p50 {p50:6.2f} ms, p95 {p95:6.2f} ms")
            result[f"{store}_{call}_p50_ms"] = round(p50, 2)
            result[f"{store}_{call}_p95_ms"] = round(p95, 2)
    print(f"same top-5: {same}/{len(questions)} questions")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
