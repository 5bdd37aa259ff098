"""The HTTP service over FakeQA: every endpoint, every error, auth, loading states, static page."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import FakeQA
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.errors import InputError
from rag.records import Filters
from service.app import create_app

PASSAGE_FIELDS = ["doc_id", "symbol", "doc_type", "speaker", "speaker_info", "turn", "paragraph", "start",
                  "end", "text", "role", "text_en", "en_start", "en_end", "score", "rank", "title", "date", "url"]
CHINA_Q = "中方对维和行动使用新技术提出了哪些建议？"


@pytest.fixture
def started() -> Iterator[Callable[[FastAPI], TestClient]]:
    """Start an app (lifespan included), wait until loading has finished; stopped after the test."""
    clients: list[TestClient] = []

    def start(app: FastAPI) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        assert app.state.runtime.ready.wait(10)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def fake() -> FakeQA:
    return FakeQA()


@pytest.fixture
def client(started, fake: FakeQA) -> TestClient:
    return started(create_app(lambda: fake, index_name="test", static_dir=None))


def assert_error(response, status: int, type_: str, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == type_
    message = body["error"]["message"]
    for word in words:
        assert word in message
    assert "Traceback" not in response.text
    return message


# ---- loading and health


def test_health_is_503_while_loading_then_200():
    release = threading.Event()

    def slow_load() -> FakeQA:
        release.wait(10)
        return FakeQA()

    app = create_app(slow_load, index_name="slow", static_dir=None)
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 503
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "loading"
        assert_error(c.post("/v1/search", json={"query": "维和"}), 503, "not_ready", "loading")
        release.set()
        assert app.state.runtime.ready.wait(10)
        assert c.get("/healthz").json() == {"status": "ready"}
        assert c.post("/v1/search", json={"query": "维和"}).status_code == 200


def test_load_failure_is_reported_not_raised(started):
    def broken() -> FakeQA:
        raise FileNotFoundError("index/default/config.json is missing")

    app = create_app(broken, static_dir=None)
    c = started(app)
    health = c.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "failed"
    assert "config.json is missing" in health.json()["error"]["message"]
    assert_error(c.post("/v1/ask", json={"question": "维和"}), 503, "not_ready", "failed to load")


def test_qa_is_loaded_once(started, fake):
    loads = []
    app = create_app(lambda: loads.append(1) or fake, static_dir=None)
    c = started(app)
    for _ in range(3):
        assert c.post("/v1/search", json={"query": "维和"}).status_code == 200
    assert loads == [1]


def test_readyz_details(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["index"] == "test" and body["model"] == "fake-encoder"
    assert body["chunks"] == 5
    assert [d["id"] for d in body["documents"]] == ["S/PV.8838", "S/RES/2518 (2020)"]


# ---- search and ask


def test_search_returns_passages_with_the_cli_fields(client, fake):
    r = client.post("/v1/search", json={"query": CHINA_Q, "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == CHINA_Q and "diagnostics" in body
    assert len(body["results"]) == 2
    first = body["results"][0]
    assert list(first) == PASSAGE_FIELDS
    assert first["speaker"] == "戴兵先生（中国）" and first["rank"] == 1
    assert fake.calls[-1]["top_k"] == 2 and fake.calls[-1]["filters"] is None


def test_search_default_top_k_is_5(client, fake):
    client.post("/v1/search", json={"query": "维和"})
    assert fake.calls[-1]["top_k"] == 5


def test_filters_reach_the_library_as_records(client, fake):
    filters = {"doc_ids": ["S/PV.8838"], "speakers": ["中国"], "doc_types": ["meeting_record"],
               "date_from": "2021-01-01", "date_to": "2021-12-31"}
    body = client.post("/v1/search", json={"query": "维和", "filters": filters}).json()
    assert fake.calls[-1]["filters"] == Filters(doc_ids=("S/PV.8838",), speakers=("中国",),
                                                doc_types=("meeting_record",), date_from="2021-01-01",
                                                date_to="2021-12-31")
    assert body["results"] and {p["speaker"] for p in body["results"]} == {"戴兵先生（中国）"}


@pytest.mark.parametrize("filters, field", [
    ({"doc_ids": ["S/PV.9999"]}, "filters.doc_ids"),
    ({"symbols": ["S/RES/1 (1946)"]}, "filters.symbols"),
    ({"doc_types": ["tweet"]}, "filters.doc_types"),
    ({"speaker": ["中国"]}, "filters.speaker"),
    ({"date_from": "18/08/2021"}, "filters.date_from"),
    ({"date_from": "2022-01-01", "date_to": "2021-01-01"}, "date_from"),
    ({"doc_ids": "S/PV.8838"}, "filters.doc_ids"),
])
def test_bad_filters_are_422_naming_the_field(client, filters, field):
    assert_error(client.post("/v1/search", json={"query": "维和", "filters": filters}), 422,
                 "validation_error", field)


def test_ask_returns_cited_answer_with_timings(client, fake):
    r = client.post("/v1/ask", json={"question": CHINA_Q})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["question", "answer", "answerable", "citations", "diagnostics", "timings_ms"]
    assert body["answerable"] is True and "[1]" in body["answer"]
    first = body["citations"][0]
    assert list(first) == ["id"] + PASSAGE_FIELDS
    assert first["id"] == 1 and first["symbol"] == "S/PV.8838" and first["speaker"] == "戴兵先生（中国）"
    assert {"queued", "answer", "total"} <= set(body["timings_ms"])
    assert fake.calls[-1] == {"call": "ask", "query": CHINA_Q, "top_k": 5, "filters": None, "mode": "extractive"}


def test_ask_passes_mode_and_filters(client, fake):
    body = {"question": "维和", "mode": "llm", "top_k": 3, "filters": {"symbols": ["S/RES/2518 (2020)"]}}
    assert client.post("/v1/ask", json=body).status_code == 200
    call = fake.calls[-1]
    assert call["mode"] == "llm" and call["top_k"] == 3
    assert call["filters"] == Filters(symbols=("S/RES/2518 (2020)",))


def test_unanswerable_question_is_200_with_no_citations(client):
    body = client.post("/v1/ask", json={"question": "xyz"}).json()
    assert body["answerable"] is False and body["citations"] == []


@pytest.mark.parametrize("path, key", [("/v1/ask", "question"), ("/v1/search", "query")])
@pytest.mark.parametrize("text", ["", "   \n", "问" * 2001])
def test_empty_or_long_question_is_400(client, path, key, text):
    assert_error(client.post(path, json={key: text}), 400, "invalid_request", key)


def test_question_of_2000_characters_is_accepted(client):
    assert client.post("/v1/ask", json={"question": "维" * 2000}).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({}, "body.question"),
    ({"question": "维和", "top_k": 0}, "body.top_k"),
    ({"question": "维和", "top_k": 51}, "body.top_k"),
    ({"question": "维和", "top_k": "many"}, "body.top_k"),
    ({"question": "维和", "mode": "generative"}, "body.mode"),
    ({"question": "维和", "topk": 3}, "body.topk"),
    ({"question": 42}, "body.question"),
])
def test_ask_validation_errors_are_422_naming_the_field(client, body, field):
    assert_error(client.post("/v1/ask", json=body), 422, "validation_error", field)


def test_invalid_json_is_422(client):
    r = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert_error(r, 422, "validation_error", "JSON")


def test_body_without_json_content_type_says_so(client):
    r = client.post("/v1/ask", content=json.dumps({"question": "维和"}).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 422, "validation_error", "Content-Type: application/json")


class RejectingQA(FakeQA):
    def ask(self, question, top_k=5, filters=None, mode="extractive"):
        raise InputError("llm mode needs RAG_LLM_URL")


class CrashingQA(FakeQA):
    def search(self, query, top_k=5, filters=None):
        raise RuntimeError("secret internal state /home/x/.cache")


def test_library_input_error_is_400_with_its_message(started):
    c = started(create_app(RejectingQA, static_dir=None))
    assert_error(c.post("/v1/ask", json={"question": "维和"}), 400, "invalid_request", "RAG_LLM_URL")


def test_unexpected_error_is_500_without_details(started):
    c = started(create_app(CrashingQA, static_dir=None))
    message = assert_error(c.post("/v1/search", json={"query": "维和"}), 500, "internal_error", "RuntimeError")
    assert "secret" not in message


# ---- documents and speakers


def test_documents_list(client):
    docs = client.get("/v1/documents").json()["documents"]
    assert [d["id"] for d in docs] == ["S/PV.8838", "S/RES/2518 (2020)"]
    pv = docs[0]
    assert {"id", "symbol", "type", "date", "title_zh", "title_en", "chunk_count", "speakers"} <= set(pv)
    assert pv["chunk_count"] == 4
    assert pv["speakers"] == ["秘书长", "戴兵先生（中国）", "印度 (主席以本国身份发言)"]


@pytest.mark.parametrize("path", ["/v1/documents/S%2FRES%2F2518%20%282020%29", "/v1/documents/S/RES/2518 (2020)"])
def test_document_id_with_slashes_and_spaces(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "S/RES/2518 (2020)" and body["type"] == "resolution"
    assert body["turns"][0]["turn"] is None and "安全理事会强调" in body["turns"][0]["chunks"][0]["text"]


def test_document_detail_has_turns_in_order(client):
    body = client.get("/v1/documents/S%2FPV.8838").json()
    assert [t["turn"] for t in body["turns"]] == [1, 2, 3]
    china = body["turns"][1]
    assert china["speaker"] == "戴兵先生（中国）" and china["speaker_info"]["affiliation"] == "中国"
    starts = [c["start"] for c in china["chunks"]]
    assert len(starts) == 2 and starts == sorted(starts)


def test_unknown_document_is_404(client):
    assert_error(client.get("/v1/documents/S%2FPV.9999"), 404, "not_found", "S/PV.9999")


def test_speakers(client):
    speakers = {s["speaker"]: s for s in client.get("/v1/speakers").json()["speakers"]}
    assert list(speakers) == ["秘书长", "戴兵先生（中国）", "印度 (主席以本国身份发言)"]
    china = speakers["戴兵先生（中国）"]
    assert china["speaker_info"]["name"] == "戴兵"
    assert china["documents"] == [{"doc_id": "S/PV.8838", "symbol": "S/PV.8838", "turns": [2], "chunk_count": 2}]


# ---- OpenAI-compatible chat


def chat(client, messages, **extra):
    return client.post("/v1/chat/completions", json={"model": "unrag", "messages": messages} | extra)


def test_models(client):
    data = client.get("/v1/models").json()
    assert data["object"] == "list" and [m["id"] for m in data["data"]] == ["unrag", "unrag-llm"]


def test_chat_content_is_the_ask_answer_with_citations(client):
    ask = client.post("/v1/ask", json={"question": CHINA_Q}).json()
    r = chat(client, [{"role": "user", "content": CHINA_Q}])
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": ask["answer"]}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["citations"] == ask["citations"]


def test_chat_resolves_a_follow_up_from_the_user_messages(client, fake):
    messages = [{"role": "system", "content": "Answer briefly. 印度说了什么？"},
                {"role": "user", "content": "秘书长对维和数字转型说了什么？"},
                {"role": "assistant", "content": "印度……[1]"},
                {"role": "user", "content": [{"type": "text", "text": "那么中方"}, {"type": "text", "text": "呢？"}]}]
    r = chat(client, messages, top_k=2)
    assert r.status_code == 200
    asked = fake.calls[-1]["query"]
    assert asked == "中国对维和数字转型说了什么？" and fake.calls[-1]["top_k"] == 2  # the SG swapped for China only
    body = r.json()
    assert body["question"] == asked and body["resolution"]["message"] == "那么中方呢？"
    assert body["resolution"]["speakers"] == ["中国"] and body["resolution"]["follow_up"] is True
    assert body["diagnostics"]["followup"]["question"] == asked


def test_chat_carries_the_document_into_the_filters(client, fake):
    messages = [{"role": "user", "content": "在S/PV.8838中，秘书长说了什么？"}, {"role": "user", "content": "他还说了什么？"}]
    body = chat(client, messages).json()
    assert fake.calls[-1]["query"] == body["question"] and "秘书长" in body["question"]
    assert fake.calls[-1]["filters"] == Filters(doc_ids=("S/PV.8838",))
    assert body["resolution"]["carried"] == ["speaker", "document"]


def test_chat_standalone_question_is_asked_as_written(client, fake):
    messages = [{"role": "user", "content": "秘书长说了什么？"}, {"role": "user", "content": "中方对维和行动使用新技术提出了哪些建议？"}]
    assert chat(client, messages).json()["resolution"]["follow_up"] is False
    assert fake.calls[-1]["query"] == "中方对维和行动使用新技术提出了哪些建议？" and fake.calls[-1]["filters"] is None


def test_chat_model_selects_the_answer_mode(client, fake):
    chat(client, [{"role": "user", "content": "维和"}], model="unrag-llm")
    assert fake.calls[-1]["mode"] == "llm"


def test_chat_streaming_delivers_content_then_citations_then_done(client):
    ask = client.post("/v1/ask", json={"question": CHINA_Q}).json()
    with client.stream("POST", "/v1/chat/completions",
                       json={"model": "unrag", "stream": True, "stream_options": {"include_usage": True},
                             "messages": [{"role": "user", "content": CHINA_Q}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert content == ask["answer"]
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) >= 2
    final = [c for c in chunks if c["choices"]][-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["citations"] == ask["citations"]
    assert chunks[-1]["choices"] == [] and "usage" in chunks[-1]


@pytest.mark.parametrize("messages, status, type_, field", [
    ([{"role": "system", "content": "hi"}], 400, "invalid_request", "no user message"),
    ([{"role": "user", "content": "  "}], 400, "invalid_request", "messages.0.content"),
    ([{"role": "user", "content": None}], 400, "invalid_request", "messages.0.content"),
    ([{"role": "user", "content": "维" * 2001}], 400, "invalid_request", "messages.0.content"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], 422, "validation_error",
     "image_url"),
    ([{"role": "robot", "content": "hi"}], 422, "validation_error", "body.messages.0.role"),
    ([], 422, "validation_error", "body.messages"),
])
def test_chat_errors(client, messages, status, type_, field):
    assert_error(chat(client, messages), status, type_, field)


def test_chat_unknown_model_and_n(client):
    assert_error(chat(client, [{"role": "user", "content": "维和"}], model="gpt-4o"), 404, "model_not_found",
                 "gpt-4o", "unrag")
    assert_error(chat(client, [{"role": "user", "content": "维和"}], n=2), 422, "validation_error", "body.n")
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "维和"}]})
    assert_error(r, 422, "validation_error", "body.model")


# ---- auth, routing, static page, docs


@pytest.fixture
def keyed(started, fake) -> TestClient:
    return started(create_app(lambda: fake, api_key="s3cret", static_dir=None))


@pytest.mark.parametrize("method, path", [("post", "/v1/search"), ("post", "/v1/ask"), ("get", "/v1/documents"),
                                          ("get", "/v1/documents/S%2FPV.8838"), ("get", "/v1/speakers"),
                                          ("post", "/v1/chat/completions"), ("get", "/v1/models")])
def test_api_key_guards_every_v1_endpoint(keyed, method, path):
    r = getattr(keyed, method)(path)
    assert_error(r, 401, "unauthorized", "Authorization")
    assert r.headers["www-authenticate"] == "Bearer"
    wrong = {"Authorization": "Bearer nope"}
    assert_error(getattr(keyed, method)(path, headers=wrong), 401, "unauthorized", "wrong API key")


def test_right_api_key_passes_and_health_stays_open(keyed):
    auth = {"Authorization": "Bearer s3cret"}
    assert keyed.post("/v1/search", json={"query": "维和"}, headers=auth).status_code == 200
    assert keyed.get("/v1/models", headers=auth).status_code == 200
    assert keyed.get("/healthz").status_code == 200 and keyed.get("/readyz").status_code == 200


def test_unknown_route_and_method_have_the_error_shape(client):
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/search"), 405, "method_not_allowed")


def test_openapi_lists_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/v1/search", "/v1/ask", "/v1/documents", "/v1/documents/{doc_id}", "/v1/speakers",
            "/v1/chat/completions", "/v1/models", "/healthz", "/readyz"} <= paths
    assert client.get("/docs").status_code == 200


def test_static_page_is_served_at_root_without_shadowing(started, tmp_path: Path, fake):
    (tmp_path / "index.html").write_text("<h1>unrag page</h1>", encoding="utf-8")
    c = started(create_app(lambda: fake, static_dir=tmp_path))
    assert "unrag page" in c.get("/").text
    assert c.get("/healthz").json() == {"status": "ready"}
    assert c.get("/v1/models").json()["object"] == "list"
    assert c.get("/docs").status_code == 200 and "/v1/ask" in c.get("/openapi.json").json()["paths"]
    assert_error(c.get("/v1/documents/nope"), 404, "not_found", "nope")


def test_without_static_dir_root_is_404(client):
    assert_error(client.get("/"), 404, "not_found")


def test_wrong_method_is_405_even_with_the_page_mounted(started, tmp_path: Path, fake):
    (tmp_path / "index.html").write_text("<h1>page</h1>", encoding="utf-8")
    c = started(create_app(lambda: fake, static_dir=tmp_path))
    for method, path in [("get", "/v1/search"), ("get", "/v1/ask"), ("get", "/v1/verify"), ("put", "/v1/search"),
                         ("get", "/v1/chat/completions"), ("delete", "/v1/speakers")]:
        assert_error(getattr(c, method)(path), 405, "method_not_allowed")
    assert_error(c.get("/v1/nothing"), 404, "not_found")
    assert "page" in c.get("/").text


# ---- input hygiene and limits (issue 10 item 1)

SURROGATE = b'"\\ud800"'
NUL = b'"a\\u0000b"'


def post_raw(client, path: str, body: bytes, headers: dict | None = None):
    return client.post(path, content=body, headers={"Content-Type": "application/json", **(headers or {})})


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
@pytest.mark.parametrize("path, template", [
    ("/v1/search", b'{"query": %s}'),
    ("/v1/ask", b'{"question": %s}'),
    ("/v1/ask", b'{"question": "S/PV.9999 \\u4e2d\\u65b9", "filters": {"speakers": [%s]}}'),  # refusal path
    ("/v1/ask", b'{"question": %s, "mode": "llm"}'),
    ("/v1/chat/completions", b'{"model": "unrag", "messages": [{"role": "user", "content": %s}]}'),
    ("/v1/chat/completions", b'{"model": "unrag", "stream": true, "messages": [{"role": "user", "content": %s}]}'),
    ("/v1/chat/completions", b'{"model": "unrag", "messages": [{"role": "user", "content": [{"type": "text", "text": %s}]}]}'),
    ("/v1/chat/completions", b'{"model": "unrag", "messages": [{"role": "user", "content": %s}, '
                             b'{"role": "user", "content": "and China?"}]}'),
    ("/v1/verify", b'{"doc": "S/PV.8838", "quote": %s}'),
    ("/v1/verify", b'[{"doc": "S/PV.8838", "quote": "x", "speaker": %s}]'),
])
def test_invalid_unicode_is_400_everywhere(client, fake, path, template, bad):
    message = assert_error(post_raw(client, path, template % bad), 400, "invalid_request", "valid Unicode")
    assert "surrogate" in message or "NUL" in message
    assert fake.calls == []


@pytest.mark.parametrize("path, body, field", [
    ("/v1/search", {"query": "维和", "top_k": True}, "body.top_k"),
    ("/v1/ask", {"question": "维和", "top_k": 2.0}, "body.top_k"),
    ("/v1/ask", {"question": "维和", "top_k": "3"}, "body.top_k"),
    ("/v1/chat/completions", {"model": "unrag", "messages": [{"role": "user", "content": "维和"}], "stream": "yes"},
     "body.stream"),
    ("/v1/chat/completions", {"model": "unrag", "messages": [{"role": "user", "content": "维和"}], "top_k": False},
     "body.top_k"),
    ("/v1/search", {"query": ["维和"]}, "body.query"),
])
def test_types_are_strict(client, fake, path, body, field):
    assert_error(client.post(path, json=body), 422, "validation_error", field)
    assert fake.calls == []


SMALL = Settings(max_body_bytes=2000, max_filter_values=3, max_filter_value_chars=10, max_messages=4,
                 max_message_chars=50, max_question_chars=30, max_top_k=8)


@pytest.fixture
def small(started, fake) -> TestClient:
    return started(create_app(lambda: fake, static_dir=None, settings=SMALL))


def test_body_over_the_limit_is_413_before_parsing(small, fake):
    body = json.dumps({"query": "维和", "filters": {"speakers": ["x"] * 1000}}).encode()
    assert_error(post_raw(small, "/v1/search", body), 413, "too_large", "2000", "RAG_MAX_BODY_BYTES")

    def chunks():  # no Content-Length: the streamed bytes are counted
        yield b'{"query": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    r = small.post("/v1/search", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "too_large", "2000")
    assert fake.calls == []


def test_body_limit_comes_before_auth(started, fake):
    c = started(create_app(lambda: fake, static_dir=None, api_key="k", settings=SMALL))
    big = json.dumps({"query": "x" * 5000}).encode()
    assert_error(post_raw(c, "/v1/search", big), 413, "too_large")  # not 401: nothing was parsed or checked
    assert_error(post_raw(c, "/v1/search", b'{"query": "x"}'), 401, "unauthorized")


@pytest.mark.parametrize("body, status, field", [
    ({"query": "维和", "filters": {"speakers": ["中国", "印度", "秘书长", "主席"]}}, 422, "filters.speakers: 4 values"),
    ({"query": "维和", "filters": {"doc_ids": ["S/PV.8838" * 2]}}, 422, "filters.doc_ids.0: 18 characters"),
    ({"query": "维" * 31}, 400, "RAG_MAX_QUESTION_CHARS"),
    ({"query": "维和", "top_k": 9}, 422, "RAG_MAX_TOP_K"),
])
def test_search_limits(small, fake, body, status, field):
    assert_error(small.post("/v1/search", json=body), status, "validation_error" if status == 422 else "invalid_request",
                 field)
    assert fake.calls == []


def test_chat_message_limits(small, fake):
    five = [{"role": "user", "content": "维和"}] * 5
    assert_error(chat(small, five), 422, "validation_error", "body.messages: 5 messages", "RAG_MAX_MESSAGES")
    long_earlier = [{"role": "system", "content": "x" * 51}, {"role": "user", "content": "维和"}]
    assert_error(chat(small, long_earlier), 400, "invalid_request", "messages.0.content has 51", "RAG_MAX_MESSAGE_CHARS")
    assert_error(chat(small, [{"role": "user", "content": "维" * 31}]), 400, "invalid_request",
                 "messages.0.content", "RAG_MAX_QUESTION_CHARS")
    assert fake.calls == []


class NoSymbolQA(FakeQA):
    """FakeQA plus a letter without a symbol (the case that made '/v1/documents/%20' return it)."""

    def __init__(self) -> None:
        super().__init__()
        from dataclasses import replace

        from fakes import RES
        letter = replace(RES, id="letter-2012-04-04", symbol=None, type="letter", file="letter.txt")
        self.documents = (*self.documents, letter)
        first = self.chunks[-1]
        self.chunks = (*self.chunks, replace(first, id="l1", doc_id=letter.id, symbol=None, doc_type="letter"))
        self.sources[letter.id] = self.sources[RES.id]


@pytest.mark.parametrize("path", ["/v1/documents/%20", "/v1/documents/%09", "/v1/documents/%E3%80%80",
                                  "/v1/documents/%20%20", "/v1/documents/%0A"])
def test_blank_document_id_is_404(started, path):
    c = started(create_app(NoSymbolQA, static_dir=None))
    assert c.get("/v1/documents/letter-2012-04-04").json()["symbol"] is None
    assert_error(c.get(path), 404, "not_found", "unknown document")


# ---- readiness, auth, CORS (issue 10 item 9)


def test_readyz_hides_details_without_the_key(keyed):
    bare = keyed.get("/readyz")
    assert bare.status_code == 200 and bare.json() == {"status": "ready"}
    assert keyed.get("/readyz", headers={"Authorization": "Bearer nope"}).json() == {"status": "ready"}
    full = keyed.get("/readyz", headers={"Authorization": "Bearer s3cret"}).json()
    assert full["index"] == "default" and full["info"]["model"] == "fake-encoder" and full["chunks"] == 5


def test_failed_load_reason_is_hidden_without_the_key(started):
    def broken() -> FakeQA:
        raise FileNotFoundError("/srv/secret/index/default/config.json is missing")

    c = started(create_app(broken, api_key="s3cret", static_dir=None))
    for path in ("/healthz", "/readyz"):
        r = c.get(path)
        assert r.status_code == 503 and "/srv/secret" not in r.text and r.json()["status"] == "failed"
    full = c.get("/readyz", headers={"Authorization": "Bearer s3cret"})
    assert full.status_code == 503 and "/srv/secret" in full.json()["error"]["message"]


def test_cors_is_off_by_default_and_configurable(client, started, fake):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/v1/search", headers=preflight).headers
    assert "access-control-allow-origin" not in client.get("/v1/models", headers={"Origin": "https://example.org"}).headers
    c = started(create_app(lambda: fake, static_dir=None, api_key="k",
                           settings=Settings(cors_origins=("https://example.org",))))
    r = c.options("/v1/search", headers=preflight | {"Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://example.org"
    other = c.options("/v1/search", headers=preflight | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_reload_swaps_in_the_new_qa_and_a_failure_keeps_the_old(started):
    loads: list[str] = []
    fail = threading.Event()

    def load() -> FakeQA:
        if fail.is_set():
            raise RuntimeError("corpus/manifest.json: line 3: bad date")
        qa = FakeQA()
        qa.info["generation"] = len(loads)
        loads.append("ok")
        return qa

    app = create_app(load, static_dir=None)
    c = started(app)
    runtime = app.state.runtime
    assert runtime.start_reload() == {"status": "started"}
    _wait(lambda: runtime.reload_state["status"] != "running")
    ready = c.get("/readyz").json()
    assert ready["reload"]["status"] == "done" and ready["info"]["generation"] == 1
    fail.set()
    runtime.start_reload()
    _wait(lambda: runtime.reload_state["status"] != "running")
    ready = c.get("/readyz").json()
    assert ready["status"] == "ready" and ready["info"]["generation"] == 1  # the old one still serves
    assert ready["reload"]["status"] == "failed" and "bad date" in ready["reload"]["error"]
    assert c.post("/v1/search", json={"query": "维和"}).status_code == 200


def _wait(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- citation verification over FakeQA (the real index: tests/test_e2e_service.py)


def test_verify_one_claim(client):
    r = client.post("/v1/verify", json={"doc": "Ｓ／PV.8838", "quote": "中方支持加强维和人员培训，提高应对能力。",
                                        "speaker": "中国", "paragraph": "3"})
    assert r.status_code == 200
    body = r.json()
    assert body["summary"] == {"total": 1, "found": 1, "exact": 0, "speaker_mismatches": 0, "crosses_turns": 0,
                               "unknown_documents": 0}
    (result,) = body["results"]
    assert result["found"] and result["doc_id"] == "S/PV.8838" and result["speaker"] == "戴兵先生（中国）"
    assert result["speaker_matches"] is True and result["paragraph_matches"] is True and not result["crosses_turns"]


def test_verify_a_list_and_an_answer(client):
    claims = [{"doc": "S/PV.8838", "quote": "中方支持加强维和人员培训", "speaker": "印度"},
              {"doc": "S/PV.8838", "quote": "中方反对使用新技术"},
              {"doc": "S/PV.9999", "quote": "中方支持"}]
    results = client.post("/v1/verify", json=claims).json()["results"]
    assert [r["found"] for r in results] == [True, False, False]
    assert results[0]["speaker_matches"] is False
    assert results[1]["closest"]["speaker"] == "戴兵先生（中国）" and results[1]["closest"]["similarity"] > 0.3
    assert results[2]["doc_id"] is None and "S/PV.9999" in results[2]["error"]
    answer = client.post("/v1/ask", json={"question": CHINA_Q}).json()
    checked = client.post("/v1/verify", json=answer).json()
    assert checked["summary"]["total"] == len(answer["citations"]) == checked["summary"]["found"]
    assert all(r["speaker_matches"] and r["paragraph_matches"] for r in checked["results"])


@pytest.mark.parametrize("body, field", [
    ({"doc": "S/PV.8838"}, "body.quote"),
    ({"doc": "S/PV.8838", "quote": "  "}, "quote"),
    ({"doc": "S/PV.8838", "quote": "x", "who": "中国"}, "who"),
    ([], "the list is empty"),
    ([{"doc": "S/PV.8838", "quote": 3}], "body[0].quote"),
    ({"citations": [{"text": "x"}]}, "doc_id"),
    ("S/PV.8838", "body"),
])
def test_verify_bad_input_is_422_naming_the_field(client, body, field):
    assert_error(client.post("/v1/verify", json=body), 422, "validation_error", field)


# ---- the OpenAPI page documents every field (issue 11 item 4)


def test_response_models_match_the_records():
    from rag.followup import Resolution
    from rag.records import Passage, SearchResult
    from rag.verify import Closest, Verification
    from service import schemas
    from fakes import FakeQA

    qa = FakeQA()
    answer = qa.ask(CHINA_Q)
    passage: Passage = answer.citations[0]
    search = SearchResult("q", answer.citations)
    cases = [(schemas.PassageOut, passage.to_dict()), (schemas.CitedPassageOut, answer.to_dict()["citations"][0]),
             (schemas.SpeakerInfoOut, passage.chunk.speaker_info.to_dict()),
             (schemas.SearchResponse, search.to_dict()),
             (schemas.AskResponse, answer.to_dict() | {"timings_ms": {}}),
             (schemas.ResolutionOut, Resolution("q", "m", False).to_dict())]
    from rag.verify import Claim, Verifier
    found = Verifier(qa).verify(Claim("S/PV.8838", "中方反对"))
    cases += [(schemas.VerificationOut, found.to_dict()), (schemas.ClosestOut, found.closest.to_dict())]
    for model, record in cases:
        assert list(model.model_fields) == list(record), model.__name__
    assert {f.name for f in __import__("dataclasses").fields(Verification)} == set(schemas.VerificationOut.model_fields)
    assert {f.name for f in __import__("dataclasses").fields(Closest)} == set(schemas.ClosestOut.model_fields)


def test_openapi_describes_every_field(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("SearchRequest", "AskRequest", "ClaimIn", "ChatRequest", "FiltersIn", "PassageOut", "SearchResponse",
                 "AskResponse", "VerificationOut", "VerifyResponse", "ChatCompletionOut", "ResolutionOut"):
        props = schemas[name]["properties"]
        undocumented = [p for p, v in props.items() if "description" not in v and p not in ("id", "created", "model",
                                                                                           "stream_options", "n")]
        if name not in ("ChatRequest", "ChatCompletionOut"):
            assert not undocumented, (name, undocumented)
    paths = spec["paths"]
    for path, ref in [("/v1/search", "SearchResponse"), ("/v1/ask", "AskResponse"), ("/v1/verify", "VerifyResponse"),
                      ("/v1/chat/completions", "ChatCompletionOut")]:
        assert ref in json.dumps(paths[path]["post"]["responses"]["200"])


# ---- concurrency (issue 10 item 4)


class SlowQA(FakeQA):
    """Counts how many calls run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most = 0
        self._count = threading.Lock()

    def ask(self, question, top_k=5, filters=None, mode="extractive"):
        with self._count:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.2)
        try:
            return super().ask(question, top_k, filters, mode)
        finally:
            with self._count:
                self.active -= 1


def test_requests_run_concurrently_up_to_the_limit_and_health_stays_fast(started):
    qa = SlowQA()
    app = create_app(lambda: qa, static_dir=None, settings=Settings(concurrent_queries=3))
    c = started(app)
    statuses: list[int] = []

    def hit() -> None:
        statuses.append(c.post("/v1/ask", json={"question": CHINA_Q}).status_code)

    threads = [threading.Thread(target=hit) for _ in range(9)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    health = []
    while any(t.is_alive() for t in threads):
        t0 = time.perf_counter()
        assert c.get("/healthz").status_code == 200
        health.append(time.perf_counter() - t0)
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert statuses == [200] * 9 and len(qa.calls) == 9
    assert qa.most == 3  # no global lock, and no more than RAG_CONCURRENT_QUERIES at once
    assert health and min(health) < 0.2  # answered while every worker thread was busy, not after
