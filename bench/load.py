"""Load on a running `rag serve`: N concurrent clients for a fixed time, plus a /healthz prober.
Prints req/s, latency percentiles, errors, the server's memory and /healthz latency under load.
Asserts nothing; every request goes to 127.0.0.1 and the run stops by itself.

    .venv/bin/python bench/load.py                       # starts `rag serve` (index default) itself
    .venv/bin/python bench/load.py --workers 2 --clients 50 --duration 30 --path ask
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000   # an already running server (RSS: --pid)
    .venv/bin/python bench/load.py --command "python -m rag.cli serve --port {port}"   # any server command

Questions: the questions of eval/dev.jsonl and eval/extra.jsonl in turn, each made unique by a
request counter appended to it, so the pipeline's query-vector cache never answers (`--repeat`
sends them unchanged, as a client asking the same questions again would). `--path ask|search|mixed`
picks the endpoint.
Memory: RSS and PSS (shared pages divided among the processes sharing them) summed over the server
process and its children, read at the end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from live_server import _wait_healthy, free_port  # noqa: E402


def questions() -> list[str]:
    return [json.loads(line)["question"] for name in ("dev.jsonl", "extra.jsonl")
            for line in (REPO / "eval" / name).read_text("utf-8").splitlines() if line.strip()]


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    values = sorted(values)
    return values[max(0, int(-(-len(values) * p // 100)) - 1)]


async def client(http: httpx.AsyncClient, path: str, feed, stop: float, latencies: list, errors: list,
                 repeat: bool) -> None:
    while time.monotonic() < stop:
        i, q = next(feed)
        q = q if repeat else f"{q} {i}"
        endpoint = path if path != "mixed" else ("ask" if i % 2 else "search")
        body = {"question": q} if endpoint == "ask" else {"query": q}
        t0 = time.perf_counter()
        try:
            r = await http.post(f"/v1/{endpoint}", json=body)
            ok = r.status_code == 200
        except httpx.HTTPError as e:
            ok, r = False, e
        (latencies if ok else errors).append((time.perf_counter() - t0) * 1000 if ok else repr(r)[:200])


async def prober(http: httpx.AsyncClient, stop: float, latencies: list, errors: list) -> None:
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        try:
            r = await http.get("/healthz")
            (latencies if r.status_code == 200 else errors).append((time.perf_counter() - t0) * 1000)
        except httpx.HTTPError as e:
            errors.append(repr(e))
        await asyncio.sleep(0.1)


async def run(url: str, clients: int, duration: float, path: str, token: str | None, repeat: bool = False) -> dict:
    qs = questions()
    feed = ((i, qs[i % len(qs)]) for i in itertools.count())
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors: list = []
    health: list[float] = []
    health_errors: list = []
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, headers=headers) as http, \
            httpx.AsyncClient(base_url=url, timeout=30) as probe:
        for q in questions()[:4]:  # warm-up, not counted
            await http.post("/v1/ask", json={"question": q})
        started = time.monotonic()
        stop = started + duration
        await asyncio.gather(prober(probe, stop, health, health_errors),
                             *(client(http, path, feed, stop, latencies, errors, repeat) for _ in range(clients)))
        elapsed = time.monotonic() - started
    return {"path": path, "repeat": repeat, "clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "req_per_s": round(len(latencies) / elapsed, 1), "errors": len(errors),
            "p50_ms": _r(pct(latencies, 50)), "p95_ms": _r(pct(latencies, 95)), "p99_ms": _r(pct(latencies, 99)),
            "healthz_p50_ms": _r(pct(health, 50)), "healthz_p99_ms": _r(pct(health, 99)),
            "healthz_max_ms": _r(max(health) if health else None), "healthz_errors": len(health_errors),
            "error_samples": errors[:3]}


def _r(x: float | None) -> float | None:
    return round(x, 1) if x is not None else None


def memory(pid: int) -> dict:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    rss = pss = 0
    for p in procs:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return {"processes": len(procs), "rss_mb": round(rss / 2**20), "pss_mb": round(pss / 2**20)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server (default: start `rag serve` on a free loopback port)")
    ap.add_argument("--pid", type=int, help="with --url: the server's pid, for its memory")
    ap.add_argument("--command", help="server command with {port}, default: python -m rag.cli serve --port {port}")
    ap.add_argument("--workers", type=int, default=1, help="`rag serve --workers N` (default 1)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of load (at most 600)")
    ap.add_argument("--path", choices=("ask", "search", "mixed"), default="ask")
    ap.add_argument("--repeat", action="store_true", help="send the questions unchanged (the query cache answers)")
    ap.add_argument("--token", default=os.environ.get("RAG_API_KEY"), help="API key (default: RAG_API_KEY)")
    args = ap.parse_args()
    duration = min(args.duration, 600.0)
    if args.url:
        if not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
            sys.exit("load is only sent to this machine's loopback addresses")
        result = asyncio.run(run(args.url, args.clients, duration, args.path, args.token, args.repeat))
        if args.pid:
            result |= memory(args.pid)
        return print(json.dumps(result, ensure_ascii=False))
    port = free_port()
    command = (shlex.split(args.command) if args.command else
               [sys.executable, "-m", "rag.cli", "serve", "--workers", str(args.workers), "--port", "{port}"])
    argv = [a.replace("{port}", str(port)) for a in command]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(proc, url, 600, log)
            if args.workers > 1:  # every worker ready: /healthz answers from whichever worker gets it
                time.sleep(5)
                _wait_all_ready(url, args.workers)
            result = asyncio.run(run(url, args.clients, duration, args.path, args.token, args.repeat))
            result |= {"workers": args.workers} | memory(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps(result, ensure_ascii=False))


def _wait_all_ready(url: str, workers: int, seconds: float = 300) -> None:
    """Until `workers` consecutive fresh connections get 200 (each may land on another worker)."""
    deadline = time.monotonic() + seconds
    streak = 0
    while time.monotonic() < deadline and streak < 4 * workers:
        ok = httpx.get(f"{url}/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
        streak = streak + 1 if ok else 0
        time.sleep(0.05 if ok else 1)


if __name__ == "__main__":
    main()
