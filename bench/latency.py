"""Latency and memory of the real pipeline: load time, then search and ask over every question of
the QA sets. Prints numbers; asserts nothing. Run: `make bench` (or .venv/bin/python bench/latency.py)."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.pipeline import Pipeline, index_dir  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(p / 100 * len(values) + 0.5)) - 1)]


def main() -> None:
    questions = [json.loads(line)["question"] for name in ("dev.jsonl", "extra.jsonl")
                 for line in (REPO / "eval" / name).read_text("utf-8").splitlines() if line.strip()]
    t0 = time.perf_counter()
    pipeline = Pipeline.load(index_dir("default"))
    pipeline.ask("warm-up")  # loads the model and the tokenizer
    load_s = time.perf_counter() - t0
    timings: dict[str, list[float]] = {"ask": [], "search": []}
    for q in questions:  # ask first: a search of the same question would reuse its query vector
        for name, call in (("ask", pipeline.ask), ("search", pipeline.search)):
            t = time.perf_counter()
            call(q)
            timings[name].append((time.perf_counter() - t) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"questions: {len(questions)}; chunks: {len(pipeline.chunks)}")
    print(f"load (index + model + tokenizer, first query): {load_s:.1f} s")
    for name, values in timings.items():
        print(f"{name}: p50 {statistics.median(values):.0f} ms, p95 {pct(values, 95):.0f} ms, "
              f"max {max(values):.0f} ms")
    print(f"peak RSS: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
