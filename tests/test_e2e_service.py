"""`rag serve` on the real index with the real model, in a subprocess on a loopback port: the
issue's 'done when' checks, over plain HTTP and through the real `openai` client."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import openai
import pytest

from rag.corpus import load_manifest

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
    held = {d.id for d in load_manifest(Path(__file__).resolve().parents[1] / "corpus")}
    assert ready["chunks"] > 200 and {d["id"] for d in ready["documents"]} == held


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


def _kenya_quote(url: str) -> str:
    """A sentence of Kenya's turn in S/PV.8838, read from the server itself (not written here)."""
    doc = httpx.get(f"{url}/v1/documents/{quote('S/PV.8838', safe='')}", timeout=30).json()
    kenya = next(t for t in doc["turns"] if t["speaker"] and "肯尼亚" in t["speaker"])
    text = next(c["text"] for c in kenya["chunks"] if "社交媒体公司" in c["text"])
    return next(s + "。" for s in text.split("。") if "社交媒体公司" in s)


def test_verify_real_quotes_on_the_real_index(real_server_url: str) -> None:
    real = _kenya_quote(real_server_url)
    claims = [{"doc": "S/PV.8838", "quote": real, "speaker": "Kenya"},
              {"doc": "S/PV.8838", "quote": real, "speaker": "基马尼"},
              {"doc": "S/PV.8838", "quote": "中方坚决反对社交媒体公司参与维和行动。", "speaker": "中国"},
              {"doc": "S/PV.8838", "quote": real, "speaker": "中国"}]
    r = httpx.post(f"{real_server_url}/v1/verify", json=claims, timeout=60)
    assert r.status_code == 200
    kenya, by_name, invented, wrong = r.json()["results"]
    assert kenya["found"] and kenya["speaker_matches"] is True and kenya["speaker"] == "基马尼先生（肯尼亚）"
    assert by_name["speaker_matches"] is True and not kenya["crosses_turns"]
    assert invented["found"] is False and invented["closest"]["similarity"] < 1
    assert wrong["found"] and wrong["speaker_matches"] is False
    source_span = kenya["end"] - kenya["start"]
    assert source_span >= len(real)  # offsets into the source file, line wraps included


def test_follow_up_with_the_real_openai_client_cites_china(real_server_url: str) -> None:
    client = openai.OpenAI(base_url=f"{real_server_url}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": "What did Kenya say about social media companies?"}]
    first = client.chat.completions.create(model="unrag", messages=messages)
    assert {c["speaker"] for c in first.model_extra["citations"]} == {"基马尼先生（肯尼亚）"}
    messages += [{"role": "assistant", "content": first.choices[0].message.content},
                 {"role": "user", "content": "And what did China say about that?"}]
    second = client.chat.completions.create(model="unrag", messages=messages)
    assert second.model_extra["question"] == "What did China say about social media companies?"
    citations = second.model_extra["citations"]
    assert citations and {c["speaker"] for c in citations} == {"戴兵先生（中国）"}


def test_hostile_input_on_the_real_server(real_server_url: str) -> None:
    for path, body in [("/v1/search", b'{"query": "\\ud800"}'), ("/v1/ask", b'{"question": "S/PV.9999 \\ud800"}'),
                       ("/v1/chat/completions", b'{"model": "unrag", "stream": true, "messages": '
                                                b'[{"role": "user", "content": "\\ud800"}]}')]:
        r = httpx.post(f"{real_server_url}{path}", content=body, headers={"Content-Type": "application/json"},
                       timeout=30)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request"
    assert httpx.get(f"{real_server_url}/v1/search", timeout=30).status_code == 405  # the page is mounted here
    for blank in ("%20", "%09", "%E3%80%80"):
        assert httpx.get(f"{real_server_url}/v1/documents/{blank}", timeout=30).status_code == 404
    assert httpx.post(f"{real_server_url}/v1/search", json={"query": "维和", "top_k": True}, timeout=30).status_code == 422
