"""Embedding speed per encoder runtime on the corpus's real chunks (the passages an index embeds).

    python bench/embed_speed.py [--n N] [--model PATH_OR_NAME] [--json]
                                [--runtime all|torch-b32|torch|openvino|openvino-f32]

Each runtime runs in its own process (so its peak RSS is its own) and reports: load time,
passages/s (the best of --repeat passes: wall clock, and estimated from CPU time, which other
processes on the machine disturb less), single-query latency (median of 30 different one-question
calls), peak RSS.
`torch-b32` is the encoder before OpenVINO (torch, batches of 32): the speed-up column is
relative to it. `torch` is today's fallback (batches of 8), `openvino` the default runtime (its
precision the device's default: bf16 on CPUs with native bf16), `openvino-f32` full precision.
The last line is JSON."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RUNTIMES = {"torch-b32": ("torch", "auto", 32), "torch": ("torch", "auto", None),
            "openvino": ("openvino", "auto", None), "openvino-f32": ("openvino", "f32", None)}
QUERIES = ["安全理事会关于马里局势的决议", "What did Kenya say about social media companies?",
           "秘书长提到的维和数字化转型战略", "简易爆炸装置", "中方对维和行动使用新技术提出了哪些建议？",
           "How many peacekeepers were killed?"]


def passages(n: int | None) -> list[str]:
    """The texts of `n` evenly spaced chunks of the corpus (all chunks when n is None)."""
    from rag.chunks import chunk_corpus

    texts = [c.text for c in chunk_corpus(REPO / "corpus")[1]]
    step = max(1, len(texts) // n) if n else 1
    return texts[::step][:n]


def measure(runtime: str, n: int | None, model: str | None, repeat: int) -> dict:
    from rag.embed import Embedder, available_cores
    from rag.model_store import resolve_model

    texts = passages(n)
    kind, precision, batch_size = RUNTIMES[runtime]
    t0 = time.perf_counter()
    embedder = Embedder(resolve_model(model), batch_size=batch_size, runtime=kind, precision=precision)
    embedder.encode_passages(texts[:4])  # load + warm up
    load_s = time.perf_counter() - t0
    wall = cpu = float("inf")
    for _ in range(repeat):  # the best of `repeat` passes: the least disturbed by other processes
        t0, c0 = time.perf_counter(), time.process_time()
        embedder.encode_passages(texts)
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    latencies = []
    for i in range(30):
        t0 = time.perf_counter()
        embedder.encode_queries([f"{QUERIES[i % len(QUERIES)]} {i}"])
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"runtime": runtime, "engine": embedder.info["runtime"], "passages": len(texts),
            "mean_chars": round(sum(map(len, texts)) / len(texts)),
            "load_s": round(load_s, 1), "passages_per_s": round(len(texts) / wall, 1),
            "passages_per_s_cpu": round(len(texts) / (cpu / available_cores()), 1),
            "query_ms_p50": round(statistics.median(latencies), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "threads": available_cores(), "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="number of chunks (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the chunks; the best counts")
    parser.add_argument("--model", default=None, help="default: resolve_model()")
    parser.add_argument("--runtime", default="all", choices=["all", *RUNTIMES])
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    args = parser.parse_args()
    if args.runtime != "all":
        print(json.dumps(measure(args.runtime, args.n, args.model, args.repeat)))
        return
    rows = []
    for runtime in RUNTIMES:
        command = [sys.executable, __file__, "--runtime", runtime, "--repeat", str(args.repeat)] \
            + (["--n", str(args.n)] if args.n else []) + (["--model", args.model] if args.model else [])
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{runtime}: failed\n{done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = rows[0]["passages_per_s_cpu"]
    if not args.json:
        print(f"{rows[0]['passages']} chunks of {rows[0]['mean_chars']} characters on average, "
              f"{rows[0]['threads']} threads; speed-up from CPU time, relative to torch-b32")
        print(f"{'runtime':14} {'engine':22} {'load s':>6} {'pass/s':>7} {'pass/s cpu':>10} {'speed-up':>8} "
              f"{'query ms':>8} {'peak RSS MB':>11} {'load avg':>8}")
        for r in rows:
            print(f"{r['runtime']:14} {r['engine']:22} {r['load_s']:6.1f} {r['passages_per_s']:7.1f} "
                  f"{r['passages_per_s_cpu']:10.1f} {r['passages_per_s_cpu'] / base:7.2f}x "
                  f"{r['query_ms_p50']:8.1f} {r['peak_rss_mb']:11} {r['load_average']:8.1f}")
    print(json.dumps({"runtimes": rows}))


if __name__ == "__main__":
    main()
