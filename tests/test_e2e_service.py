"""`rag serve` on the real index with the real model, in a subprocess on a loopback port: the
issue's 'done when' checks, over plain HTTP and through the real `openai` client."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration
QUESTION = "中方对维和行动使用新技术提出了哪些建议？"


def test_ask_returns_chinas_passage_as_citation_one(real_server_url: str) -> None:
    r = httpx.post(f"{real_server_url}/v1/ask", json={"question": QUESTION}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    first = body["citations"][0]
    assert body["answerable"] and "[1]" in body["answer"]
    assert (first["id"], first["symbol"], first["speaker"]) == (1, "S/PV.8838", "戴兵先生（中国）")
    assert first["url"].startswith("https://undocs.org/zh/S/PV.8838")
    assert set(body["timings_ms"]) >= {"answer", "total"}


def test_documents_with_slashes_and_spaces_and_readiness(real_server_url: str) -> None:
    doc = httpx.get(f"{real_server_url}/v1/documents/{quote('S/RES/2518 (2020)', safe='')}", timeout=30)
    assert doc.status_code == 200 and doc.json()["symbol"] == "S/RES/2518 (2020)"
    ready = httpx.get(f"{real_server_url}/readyz", timeout=30).json()
    assert ready["chunks"] > 200 and len(ready["documents"]) == 5


def test_openai_client_gets_the_same_cited_answer_streaming_or_not(real_server_url: str) -> None:
    client = openai.OpenAI(base_url=f"{real_server_url}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]
    plain = client.chat.completions.create(model="unrag", messages=messages)
    citations = plain.model_extra["citations"]
    assert citations[0]["speaker"] == "戴兵先生（中国）" and "[1]" in plain.choices[0].message.content
    text, streamed = "", None
    for chunk in client.chat.completions.create(model="unrag", messages=messages, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if (chunk.model_extra or {}).get("citations"):
            streamed = chunk.model_extra["citations"]
    assert text == plain.choices[0].message.content
    assert [c["text"] for c in streamed] == [c["text"] for c in citations]
