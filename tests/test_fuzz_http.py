"""Hypothesis over the HTTP schemas (FakeQA behind the real app): whatever JSON a client sends to
search, ask, verify or chat, the answer is a 2xx or a 4xx with the one error shape; never a 500,
never a traceback. Text fields draw from all of Unicode, lone surrogates and NUL included (sent
as raw JSON escapes, as a hostile client would)."""

from __future__ import annotations

import json

import pytest
from fakes import FakeQA
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import create_app

TEXT = st.text(st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", " ", "\ud800", "a\x00b", "中方对维和行动使用新技术提出了哪些建议？", "S/PV.8838", "x" * 3000])
SCALAR = st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False) | TEXT
FILTERS = st.fixed_dictionaries({}, optional={
    "doc_ids": st.lists(TEXT, max_size=3) | SCALAR, "speakers": st.lists(TEXT, max_size=3) | SCALAR,
    "doc_types": st.lists(TEXT, max_size=3) | SCALAR, "date_from": SCALAR, "date_to": SCALAR})
SEARCH = st.fixed_dictionaries({}, optional={"query": SCALAR, "top_k": SCALAR, "filters": FILTERS | SCALAR})
ASK = st.fixed_dictionaries({}, optional={"question": SCALAR, "top_k": SCALAR, "mode": SCALAR,
                                          "filters": FILTERS | SCALAR})
VERIFY_ITEM = st.fixed_dictionaries({}, optional={"doc": SCALAR, "quote": SCALAR, "speaker": SCALAR,
                                                  "paragraph": SCALAR})
VERIFY = VERIFY_ITEM | st.lists(VERIFY_ITEM, max_size=3)
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]) | SCALAR,
                                 "content": SCALAR | st.lists(st.fixed_dictionaries(
                                     {"type": st.just("text") | SCALAR, "text": SCALAR}), max_size=2)})
CHAT = st.fixed_dictionaries({}, optional={"model": st.sampled_from(["unrag", "unrag-llm"]) | SCALAR,
                                           "messages": st.lists(MESSAGE, max_size=3) | SCALAR,
                                           "stream": SCALAR, "top_k": SCALAR})
CASES = [("/v1/search", SEARCH), ("/v1/ask", ASK), ("/v1/verify", VERIFY), ("/v1/chat/completions", CHAT)]


@pytest.fixture(scope="module")
def client():
    app = create_app(lambda: FakeQA(), index_name="test", static_dir=None)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert app.state.runtime.ready.wait(10)
        yield c


def post(client: TestClient, path: str, body) -> None:
    raw = json.dumps(body, ensure_ascii=True)  # lone surrogates travel as \\ud800 escapes
    r = client.post(path, content=raw.encode("ascii"), headers={"content-type": "application/json"})
    assert r.status_code < 500, (path, raw[:300], r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert set(error) == {"type", "message"} and "Traceback" not in error["message"]


@pytest.mark.parametrize("path,strategy", CASES, ids=[p for p, _ in CASES])
def test_no_request_body_gives_a_500(client, path, strategy) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(body) -> None:
        post(client, path, body)
    check()
