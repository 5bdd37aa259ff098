"""The real server (uvicorn in a subprocess, 127.0.0.1) over FakeQA, driven by the real `openai` client
and by LangChain's ChatOpenAI: citations must arrive on every path, streaming included."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from live_server import running_server

KEY = "test-key-123"
QUESTION = "中方对维和行动使用新技术提出了哪些建议？"
FAKE_SERVER = str(Path(__file__).with_name("fake_server.py"))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server([sys.executable, FAKE_SERVER, "--port", "{port}"], env={"RAG_API_KEY": KEY}) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def expected(base_url) -> dict:
    r = httpx.post(f"{base_url}/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    return r.json()


def test_server_listens_on_loopback_and_is_ready(base_url):
    assert base_url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{base_url}/readyz").json() == {"status": "ready"}  # no details without the key
    ready = httpx.get(f"{base_url}/readyz", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert ready["status"] == "ready" and ready["index"] == "fake"


def test_models(client):
    assert {m.id for m in client.models.list()} == {"unrag", "unrag-llm"}


def test_chat_completion_carries_the_answer_and_citations(client, expected):
    completion = client.chat.completions.create(model="unrag", messages=[{"role": "user", "content": QUESTION}])
    assert completion.choices[0].message.content == expected["answer"]
    assert "[1]" in completion.choices[0].message.content
    citations = completion.model_extra["citations"]
    assert citations == expected["citations"]
    assert citations[0]["id"] == 1 and citations[0]["symbol"] == "S/PV.8838"
    assert citations[0]["speaker"] == "戴兵先生（中国）"


def test_streaming_delivers_content_and_final_citations(client, expected):
    stream = client.chat.completions.create(model="unrag", stream=True,
                                            messages=[{"role": "user", "content": QUESTION}])
    chunks = list(stream)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == expected["answer"]
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert final.model_extra["citations"] == expected["citations"]
    assert final.model_extra["citations"][0]["speaker"] == "戴兵先生（中国）"


def test_streaming_with_usage_and_extra_body(client):
    stream = client.chat.completions.create(
        model="unrag", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "中方支持加强维和人员培训吗？"}],
        extra_body={"top_k": 1, "filters": {"speakers": ["中国"]}})
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    citations = [c for c in chunks if c.choices][-1].model_extra["citations"]
    assert len(citations) == 1 and citations[0]["speaker"] == "戴兵先生（中国）"


def test_wrong_key_is_rejected(base_url):
    wrong = openai.OpenAI(base_url=f"{base_url}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.chat.completions.create(model="unrag", messages=[{"role": "user", "content": QUESTION}])
    assert err.value.status_code == 401 and "wrong API key" in str(err.value)


def test_bad_requests_surface_as_openai_errors(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="unrag", messages=[{"role": "user", "content": " "}])
    assert err.value.body["type"] == "invalid_request"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


def test_langchain_chat_openai_works_unchanged(base_url, expected):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="unrag", base_url=f"{base_url}/v1", api_key=KEY, max_retries=0)
    assert llm.invoke(QUESTION).content == expected["answer"]
    assert "".join(str(chunk.content) for chunk in llm.stream(QUESTION)) == expected["answer"]


def test_follow_up_through_the_client_names_the_question_asked(client):
    messages = [{"role": "user", "content": "秘书长对维和数字转型说了什么？"},
                {"role": "assistant", "content": "……[1]"},
                {"role": "user", "content": "那中方呢？"}]
    completion = client.chat.completions.create(model="unrag", messages=messages)
    assert completion.model_extra["question"] == "中国对维和数字转型说了什么？"
    assert completion.model_extra["resolution"]["carried"] == ["topic"]
    assert completion.model_extra["citations"] and completion.model_extra["answerable"] is True
    stream = list(client.chat.completions.create(model="unrag", messages=messages, stream=True))
    assert [c for c in stream if c.choices][-1].model_extra["question"] == "中国对维和数字转型说了什么？"
