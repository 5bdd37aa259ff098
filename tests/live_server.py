"""Start a server command on a free loopback port and wait until its /healthz answers 200.

    with running_server([sys.executable, "tests/fake_server.py", "--port", "{port}"]) as base_url:
        httpx.get(f"{base_url}/v1/models")

Reusable for the real pipeline: `[".venv/bin/rag", "serve", "--port", "{port}"]` with a longer timeout.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(command: Sequence[str], env: Mapping[str, str] | None = None,
                   timeout: float = 60.0, cwd: Path = REPO) -> Iterator[str]:
    """Run `command` ("{port}" in any argument is replaced by a free port) and yield its base URL once
    GET /healthz answers 200. Fails with the server's output if it exits or never gets ready."""
    port = free_port()
    argv = [arg.replace("{port}", str(port)) for arg in command]
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as output:
        proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})},
                                stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(proc, base_url, timeout, output)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(proc: subprocess.Popen, base_url: str, timeout: float, output) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_read(output)}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout}s:\n{_read(output)}")


def _read(output) -> str:
    output.flush()
    output.seek(0)
    return output.read()[-5000:]
