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


def test_chat_answers_the_last_user_message_only(client, fake):
    messages = [{"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "美国说了什么？"},
                {"role": "assistant", "content": "美国……[1]"},
                {"role": "user", "content": [{"type": "text", "text": "那么中方"}, {"type": "text", "text": "呢？"}]}]
    assert chat(client, messages, top_k=2).status_code == 200
    assert fake.calls[-1]["query"] == "那么中方呢？" and fake.calls[-1]["top_k"] == 2


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


# ---- concurrency


class SlowQA(FakeQA):
    """Counts how many calls run at once; the pipeline is not assumed to be thread-safe."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most = 0
        self._count = threading.Lock()

    def ask(self, question, top_k=5, filters=None, mode="extractive"):
        with self._count:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.02)
        try:
            return super().ask(question, top_k, filters, mode)
        finally:
            with self._count:
                self.active -= 1


def test_concurrent_requests_run_one_at_a_time(started):
    qa = SlowQA()
    c = started(create_app(lambda: qa, static_dir=None))
    statuses: list[int] = []

    def hit() -> None:
        statuses.append(c.post("/v1/ask", json={"question": CHINA_Q}).status_code)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8 and qa.most == 1 and len(qa.calls) == 8
