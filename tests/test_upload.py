"""POST /v1/documents (service/upload.py) in process, over FakeQA and a temporary corpus. The rebuild
itself is the runtime's (`Runtime.start_reload`); here a recorder stands in for it to check that a
successful upload, and only a successful one, starts it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fakes import FakeQA
from rag.config import Settings
from service.app import create_app
from un_docs import make_docx, make_pdf

RESOLUTION = ["2023年届会", "议程项目15", "区域合作", "2023年7月25日经济及社会理事会决议", "经济及社会理事会，",
              "决定请联合国会员国考虑是否可以采取适当措施。", "第43次全体会议", "2023年7月25日"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "manifest.json").write_text('{"documents": []}\n', encoding="utf-8")
    return d


def client_for(corpus: Path, reloads: list, **kwargs) -> Iterator[TestClient]:
    app = create_app(FakeQA, corpus_dir=corpus, static_dir=None, **kwargs)
    app.state.runtime.start_reload = lambda: reloads.append(1) or {"status": "reloading"}
    with TestClient(app) as client:
        yield client


@pytest.fixture
def reloads() -> list:
    return []


@pytest.fixture
def client(corpus: Path, reloads: list) -> Iterator[TestClient]:
    yield from client_for(corpus, reloads)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "E_RES_2023_18.pdf", RESOLUTION, symbol="E/RES/2023/18")


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def post(client: TestClient, path: Path, data: dict | None = None, translation: Path | None = None, **kw):
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    if translation:
        files["translation"] = (translation.name, translation.read_bytes(), "text/plain")
    return client.post("/v1/documents", files=files, data=data or {}, **kw)


def test_dry_run_reports_what_the_document_states_and_writes_nothing(client, corpus, pdf, reloads) -> None:
    before = snapshot(corpus)
    r = post(client, pdf, {"dry_run": "true"})
    assert r.status_code == 200, r.text
    doc = r.json()["documents"][0]
    assert {k: v["value"] for k, v in doc["detected"].items()} == {
        "symbol": "E/RES/2023/18", "kind": "resolution", "date": "2023-07-25",
        "organ": "Economic and Social Council", "title_zh": "2023年7月25日经济及社会理事会决议"}
    assert doc["source"] == "E_RES_2023_18.pdf" and doc["entry"]["id"] == "E/RES/2023/18"
    assert r.json()["written"] is False and snapshot(corpus) == before and reloads == []


def test_upload_writes_the_document_and_starts_the_rebuild(client, corpus, pdf, reloads) -> None:
    r = post(client, pdf, {"title_en": "Resolution adopted by the Economic and Social Council on 25 July 2023",
                           "author": ""})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["written"] is True and body["reload"] == {"status": "reloading"} and reloads == [1]
    entry = body["documents"][0]["entry"]
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"] == [entry]
    assert entry["source_file"] == "E_RES_2023_18.pdf" and (corpus / entry["file"]).is_file()


def test_form_values_override_the_document(client, corpus, tmp_path, reloads) -> None:
    docx = make_docx(tmp_path / "note.docx", RESOLUTION, symbol="E/RES/2023/18")
    r = post(client, docx, {"id": "res-18", "date": "2023-07-26", "title_en": "T", "kind": "presidential_statement"})
    assert r.status_code == 201, r.text
    entry = r.json()["documents"][0]["entry"]
    assert (entry["id"], entry["date"], entry["type"], entry["symbol"]) == (
        "res-18", "2023-07-26", "presidential_statement", "E/RES/2023/18")


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "minutes"}, "kind 'minutes' is not one of"),
    ({"date": "2023-13-01", "title_en": "T"}, "date '2023-13-01' is not a calendar date"),
])
def test_bad_fields_are_422_naming_the_field(client, corpus, pdf, data, message, reloads) -> None:
    before = snapshot(corpus)
    r = post(client, pdf, data)
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error"
    assert message in r.json()["error"]["message"]
    assert snapshot(corpus) == before and reloads == []


def test_missing_metadata_is_422_and_writes_nothing(client, corpus, tmp_path, reloads) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("谨此告知。\n", encoding="utf-8")
    before = snapshot(corpus)
    r = post(client, path)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("plain.txt: missing id, kind, date, title_zh")
    assert snapshot(corpus) == before and reloads == []


def test_a_duplicate_is_refused(client, corpus, pdf, reloads) -> None:
    assert post(client, pdf, {"title_en": "T"}).status_code == 201
    r = post(client, pdf, {"title_en": "T"})
    assert r.status_code == 422 and "id 'E/RES/2023/18' is already in the corpus" in r.json()["error"]["message"]
    assert reloads == [1]


@pytest.mark.parametrize(("name", "data", "status", "message"), [
    ("scan.pdf", b"%PDF-1.4 broken", 400, "scan.pdf: PDF cannot be read"),
    ("notes.doc", b"x", 422, "file: 'notes.doc' is not a .txt, .pdf or .docx file"),
])
def test_unreadable_uploads_name_the_uploaded_file(client, name, data, status, message) -> None:
    r = client.post("/v1/documents", files={"file": (name, data)})
    assert r.status_code == status and r.json()["error"]["message"].startswith(message)
    assert "rag-upload-" not in r.json()["error"]["message"]  # not the temporary copy's path


def test_the_file_part_is_required(client) -> None:
    r = client.post("/v1/documents", files={"translation": ("en.txt", b"English")})
    assert r.status_code == 422 and r.json()["error"]["message"] == "file: a file is required (.txt, .pdf or .docx)"


def test_a_json_body_is_refused(client) -> None:
    r = client.post("/v1/documents", json={"file": "x"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]["message"]


def test_uploads_over_the_limit_are_413(corpus, pdf, reloads) -> None:
    for c in client_for(corpus, reloads, settings=Settings(max_upload_bytes=1000)):
        before = snapshot(corpus)
        r = post(c, pdf)
        assert r.status_code == 413 and "the limit is 1000" in r.json()["error"]["message"]
        body = pdf.read_bytes()

        def chunks():  # no Content-Length: counted while streaming
            yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
            for i in range(0, len(body), 500):
                yield body[i:i + 500]
            yield b"\r\n--b--\r\n"

        r = c.post("/v1/documents", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and "over the limit of 1000 bytes" in r.json()["error"]["message"]
        assert snapshot(corpus) == before and reloads == []


def test_the_key_is_required_when_one_is_set(corpus, pdf, reloads) -> None:
    for c in client_for(corpus, reloads, api_key="k"):
        assert post(c, pdf).status_code == 401
        assert post(c, pdf, {"dry_run": "true"}, headers={"Authorization": "Bearer k"}).status_code == 200


def test_without_a_corpus_directory_uploads_are_unavailable(pdf) -> None:
    with TestClient(create_app(FakeQA, static_dir=None)) as c:
        r = post(c, pdf)
        assert r.status_code == 503 and "without a corpus directory" in r.json()["error"]["message"]


def test_the_form_is_documented_in_openapi(client) -> None:
    spec = client.get("/openapi.json").json()["paths"]["/v1/documents"]["post"]
    schema = spec["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"]
    assert {"file", "translation", "dry_run", "id", "symbol", "kind", "organ", "date", "author", "title_zh",
            "title_en", "layout"} == set(schema["properties"])
