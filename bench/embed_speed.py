"""Embedding throughput on ~150-character Chinese passages cut from the corpus.

    python bench/embed_speed.py [--n 200] [--batch-size 32] [--model PATH_OR_NAME]

Prints load time, passages/s, and the process's peak resident memory."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.embed import Embedder, available_cores, resolve_model  # noqa: E402


def passages(n: int, size: int = 150) -> list[str]:
    """`n` consecutive ~`size`-character slices of the corpus text, line breaks removed."""
    text = "".join(p.read_text(encoding="utf-8").replace("\n", "")
                   for p in sorted((REPO / "corpus").glob("*.txt")))
    if len(text) < n * size:
        raise SystemExit(f"corpus has {len(text)} characters, fewer than {n} x {size}")
    step = len(text) // n
    return [text[i * step:i * step + size] for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default=None, help="default: resolve_model()")
    args = parser.parse_args()

    texts = passages(args.n)
    t0 = time.perf_counter()
    embedder = Embedder(resolve_model(args.model), batch_size=args.batch_size)
    embedder.encode_passages(texts[:4])  # load + warm up
    load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    vectors = embedder.encode_passages(texts)
    encode_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    embedder.encode_queries(["安全理事会关于马里局势的决议"] * 20)
    query_ms = (time.perf_counter() - t0) / 20 * 1000
    print(f"model        {embedder.model_id}")
    print(f"threads      {available_cores()}")
    print(f"load+warmup  {load_s:.1f} s")
    print(f"passages     {len(texts)} x {sum(map(len, texts)) / len(texts):.0f} chars -> {vectors.shape}")
    print(f"throughput   {len(texts) / encode_s:.1f} passages/s ({encode_s:.1f} s wall)")
    # With other processes competing for the cores, wall time understates the speed; CPU time
    # spread over our threads estimates what an idle machine would give.
    print(f"cpu          {cpu_s:.1f} s -> {len(texts) / (cpu_s / available_cores()):.1f} passages/s "
          f"if the {available_cores()} cores were ours; load average {os.getloadavg()[0]:.1f}")
    print(f"query        {query_ms:.1f} ms each (batch of 20)")
    print(f"peak RSS     {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
