"""Failures found by the hostile-user probe of issues 10 and 11 (real CLI, real server, openai and
mcp clients), each reproduced small: over FakeQA for HTTP input, over a hash-encoder index of a
slice of the corpus for index damage."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from fakes import FakeQA
from fastapi.testclient import TestClient
from test_index import HashEncoder, copy_corpus

from rag import index as index_mod
from rag.build import build
from rag.config import Settings
from rag.errors import IndexCorruptError, IndexLoadError
from service.app import create_app
from service.runtime import Runtime


@pytest.fixture
def client():
    app = create_app(lambda: FakeQA(), index_name="probe", static_dir=None)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert app.state.runtime.ready.wait(10)
        yield c


@pytest.fixture
def built(tmp_path: Path) -> Path:
    return build(copy_corpus(tmp_path / "corpus"), tmp_path / "idx" / "default", HashEncoder())[0]


def post(client: TestClient, path: str, raw: str):
    return client.post(path, content=raw.encode("utf-8"), headers={"Content-Type": "application/json"})


# ------------------------------------------------------------------ HTTP input: no 500, no ignored bad text

@pytest.mark.parametrize("bad", [r"\ud800", r"\udfff"])
def test_a_surrogate_in_a_content_part_type_is_400_not_500(client, bad):
    """The 'only text parts' error quoted the type; rendering a lone surrogate raised in JSONResponse."""
    r = post(client, "/v1/chat/completions",
             '{"model":"unrag","messages":[{"role":"user","content":[{"type":"%s","text":"x"}]}]}' % bad)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request"


def test_an_error_message_quoting_a_surrogate_still_renders():
    from service.errors import error_response
    assert b"\\ud800" in error_response(400, "invalid_request", "bad '\ud800'").body


@pytest.mark.parametrize("path, raw", [
    ("/v1/chat/completions", '{"model":"unrag","messages":[{"role":"user","content":"x","name":"%s"}]}'),
    ("/v1/chat/completions", '{"model":"unrag","user":"%s","messages":[{"role":"user","content":"x"}]}'),
    ("/v1/chat/completions", '{"model":"%s","messages":[{"role":"user","content":"x"}]}'),
    ("/v1/verify", '{"answer":"%s","citations":[{"doc_id":"S/PV.8838","text":"x"}]}'),
    ("/v1/verify", '{"answer":"x","citations":[{"doc_id":"S/PV.8838","text":"x","note":["%s"]}]}'),
])
@pytest.mark.parametrize("bad", [r"\ud800", r"\u0000"])
def test_invalid_text_in_an_accepted_but_unread_field_is_400(client, path, raw, bad):
    """Extra fields (OpenAI's name and user, an answer's text) were accepted with a NUL or a lone
    surrogate and answered 200: invalid Unicode is a 400 everywhere."""
    r = post(client, path, raw % bad)
    assert r.status_code == 400, r.text


def test_verify_bounds_the_claims_of_one_request(client):
    """25,000 claims in one 1 MB body took 64 s of a worker thread; four such requests held every
    query slot and a search waited 72 s behind them."""
    many = [{"doc": "S/PV.8838", "quote": "x"}] * (Settings().max_claims + 1)
    r = client.post("/v1/verify", json=many)
    assert r.status_code == 422 and "RAG_MAX_CLAIMS" in r.json()["error"]["message"], r.text
    long = [{"doc": "S/PV.8838", "quote": "中" * 5000}] * 5
    r = client.post("/v1/verify", json=long)
    assert r.status_code == 422 and "RAG_MAX_CLAIM_CHARS" in r.json()["error"]["message"], r.text


# ------------------------------------------------------------------ index damage: one line, no traceback

def test_a_deleted_config_json_names_the_file(built: Path):
    """It said 'keeps changing under the reader: try again' (five retries of a lock that never changes)."""
    (built.resolve() / "config.json").unlink()
    with pytest.raises(IndexLoadError) as e:
        index_mod.load(built)
    assert "config.json" in str(e.value) and "rag index" in str(e.value)


def test_chunks_whose_document_row_is_gone_are_corrupt_even_with_matching_records(built: Path):
    """A document row deleted with the checksum and counts rewritten: `rag ask` raised
    AttributeError ('NoneType' has no 'title_zh') with a traceback; `rag index --check` said ok."""
    version = built.resolve()
    db = sqlite3.connect(version / "store.sqlite")
    db.execute("DELETE FROM documents WHERE row = (SELECT min(row) FROM documents)")
    db.commit()
    db.close()
    config = json.loads((version / "config.json").read_text("utf-8"))
    config["artifacts"] = index_mod.artifacts(version)
    config["counts"]["documents"] -= 1
    (version / "config.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built).documents
    assert "store.sqlite" in str(e.value) and "\n" not in str(e.value)


def test_a_garbled_null_sample_is_one_line_even_when_sizes_match(built: Path):
    version = built.resolve()
    path = version / "null.npz"
    data = bytearray(path.read_bytes())
    data[100:400] = b"\0" * 300
    path.write_bytes(bytes(data))
    config = json.loads((version / "config.json").read_text("utf-8"))
    config["artifacts"] = index_mod.artifacts(version)
    (version / "config.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    assert "null.npz" in str(e.value)


def test_a_corrupt_index_is_logged_as_one_line(caplog):
    """The server log held a 20-line traceback for every corrupt index at start."""
    def load():
        raise IndexCorruptError("/x/store.sqlite: contents differ: rebuild the index with `rag index --force`")
    runtime = Runtime(load, "probe")
    with caplog.at_level(logging.ERROR, logger="service"):
        runtime.start()
        assert runtime.ready.wait(10)
    assert runtime.status == "failed" and "store.sqlite" in runtime.error
    records = [r for r in caplog.records if r.name == "service"]
    assert records and all(r.exc_info is None for r in records)


# ------------------------------------------------------------------ MCP: the same input rules as HTTP

def _call(server, tool: str, args: dict):
    from mcp import Client
    from test_mcp import run

    async def go():
        async with Client(server) as c:
            return await c.call_tool(tool, args)
    return run(go())


@pytest.mark.parametrize("tool, args", [
    ("search", {"query": "x", "top_k": True}),
    ("search", {"query": "x\x00y"}),
    ("verify_citation", {"doc": "S/PV.8838\x00", "quote": "x"}),
    ("get_document", {"id_or_symbol": "S/PV.8838\x00"}),
])
def test_mcp_rejects_what_http_rejects(tool, args):
    """`top_k: true` was taken as 1 and a NUL in a query was searched."""
    from rag.mcp_server import build_server
    result = _call(build_server(FakeQA()), tool, args)
    assert result.is_error, result


def test_verifications_cannot_take_every_query_slot():
    """Four heavy /v1/verify requests (closest-passage search in pure Python) held all four query
    slots: a search waited 72 s, and 3-5 s under a steady stream of bounded ones. Verifications
    now run one at a time in a lane of their own."""
    import functools
    import threading

    import anyio

    runtime = Runtime(lambda: FakeQA(), "probe", Settings(concurrent_queries=4))
    gate = threading.Event()
    running = []

    def verify() -> None:
        running.append(1)
        gate.wait(10)

    async def main() -> str:
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(functools.partial(runtime.run, verify, lane="verify"))
            await anyio.sleep(0.2)
            with anyio.fail_after(5):
                result, _ = await runtime.run(lambda: "searched")
            assert len(running) == 1  # the other three wait for the verify lane
            gate.set()
        return result

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # the browser tests keep an event loop on the main thread
        assert pool.submit(anyio.run, main).result() == "searched"


# ------------------------------------------------------------------ CLI input (rag/cli.py: the lead's file)

def _rag(args: list[str], tmp_path: Path):
    from click.testing import CliRunner

    from rag.cli import main
    return CliRunner().invoke(main, args, env={"RAG_INDEX_DIR": str(tmp_path / "none")})


@pytest.mark.parametrize("command", ["search", "ask"])
def test_cli_rejects_a_lone_surrogate_in_the_question(command, tmp_path):
    result = _rag([command, "\udced\udca0\udc80abc"], tmp_path)
    assert result.exit_code == 1 and "Unicode" in result.output, result.output


def test_cli_verify_names_a_file_that_is_not_utf8(tmp_path):
    bad = tmp_path / "claims.jsonl"
    bad.write_bytes(b"\xff\xfe{}\n")
    result = _rag(["verify", str(bad)], tmp_path)
    assert result.exit_code == 1 and "claims.jsonl" in result.output, result.output
