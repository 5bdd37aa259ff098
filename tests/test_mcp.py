"""The MCP server: in-process over FakeQA (the SDK's in-memory client), and `rag mcp` over stdio on
the real index with the SDK's own stdio client (integration)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sys
from pathlib import Path

import pytest
from fakes import FakeQA
from mcp import Client, StdioServerParameters

from rag.corpus import load_manifest
from rag.mcp_server import build_server, document_uri

TOOLS = {"search", "ask", "get_document", "list_speakers", "verify_citation"}
REPO = Path(__file__).resolve().parents[1]


def run(coro):
    """Run on a thread of its own: the browser tests' session-wide Playwright keeps an event loop
    running on the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_tools_resources_and_errors_in_process():
    async def main():
        async with Client(build_server(FakeQA())) as c:
            tools = {t.name: t for t in (await c.list_tools()).tools}
            assert set(tools) == TOOLS
            assert tools["search"].input_schema["properties"]["top_k"]["maximum"] == 50
            assert "filters" in tools["ask"].input_schema["properties"]
            assert tools["verify_citation"].input_schema["required"] == ["doc", "quote"]
            found = (await c.call_tool("search", {"query": "中方建议新技术", "top_k": 2})).structured_content
            assert list(found) == ["query", "results", "diagnostics"] and found["results"][0]["symbol"] == "S/PV.8838"
            answer = (await c.call_tool("ask", {"question": "中方建议新技术",
                                                "filters": {"speakers": ["中国"]}})).structured_content
            assert answer["citations"][0]["speaker"] == "戴兵先生（中国）" and "[1]" in answer["answer"]
            doc = (await c.call_tool("get_document", {"id_or_symbol": "S/PV.8838", "paragraph": "3"})).structured_content
            assert [t["speaker"] for t in doc["turns"]] == ["戴兵先生（中国）"]
            speakers = (await c.call_tool("list_speakers", {"doc": "S/PV.8838"})).structured_content["speakers"]
            assert [s["speaker"] for s in speakers][:2] == ["秘书长", "戴兵先生（中国）"]
            checked = (await c.call_tool("verify_citation", {"doc": "S/PV.8838", "quote": "中方支持加强维和人员培训",
                                                             "speaker": "China"})).structured_content
            assert checked["found"] and checked["speaker_matches"]
            for name, args, words in [("get_document", {"id_or_symbol": "S/PV.9999"}, "unknown document"),
                                      ("search", {"query": "x", "top_k": 99}, "top_k"),
                                      ("ask", {"question": "  "}, "question is empty"),
                                      ("search", {"query": "x", "filters": {"doc_types": ["tweet"]}}, "tweet")]:
                result = await c.call_tool(name, args)
                assert result.is_error and words in result.content[0].text, (name, result.content[0].text)
            resources = (await c.list_resources()).resources
            assert [str(r.uri) for r in resources] == [document_uri("S/PV.8838"), document_uri("S/RES/2518 (2020)")]
            text = (await c.read_resource(document_uri("S/RES/2518 (2020)"))).contents[0].text
            assert json.loads(text)["symbol"] == "S/RES/2518 (2020)"

    run(main())


@pytest.mark.integration
def test_rag_mcp_over_stdio_on_the_real_index(real_index_dir: Path):
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.cli", "mcp"], cwd=str(REPO),
                                   env={**os.environ, "RAG_INDEX_DIR": str(real_index_dir)})

    async def main():
        async with Client(params, read_timeout_seconds=300) as c:
            assert {t.name for t in (await c.list_tools()).tools} == TOOLS
            result = await c.call_tool("search", {"query": "中方对维和行动使用新技术提出了哪些建议？", "top_k": 3})
            assert not result.is_error
            passages = result.structured_content["results"]
            assert len(passages) == 3 and all(p["symbol"].startswith("S/") for p in passages)
            assert passages[0]["speaker"] == "戴兵先生（中国）"
            answer = (await c.call_tool("ask", {"question": "What did Kenya say about social media companies?"}))
            cited = answer.structured_content["citations"]
            assert cited and all(c["symbol"] == "S/PV.8838" and "肯尼亚" in c["speaker"] for c in cited)
            resources = (await c.list_resources()).resources
            held = {str(r.uri) for r in resources}
            assert held == {document_uri(d.id) for d in load_manifest(REPO / "corpus")}

    run(main())
