"""The MCP server (Model Context Protocol, official `mcp` SDK): the corpus as tools and resources
for assistants and agent frameworks.

    server = build_server(qa, settings, corpus_dir)     # qa: rag.protocols.QA
    server.run("stdio")                                  # `rag mcp`
    run_http(server, host, port)                         # `rag mcp --http PORT`: streamable HTTP at /mcp

Tools (each with a JSON schema; results are the records the HTTP API returns):
- search(query, top_k, filters)               -> {query, results, diagnostics}     (= POST /v1/search)
- ask(question, top_k, filters)               -> {question, answer, answerable, citations, diagnostics} (= /v1/ask)
- get_document(id_or_symbol, paragraph?)      -> the document with its turns and chunks (= /v1/documents/{id})
- list_speakers(doc?)                         -> {speakers: [...]}                  (= /v1/speakers)
- verify_citation(doc, quote, speaker?, paragraph?) -> one verification            (= POST /v1/verify)
Resources: `unrag://documents/<url-encoded id>`, one per document (its JSON view).
Errors (unknown document, bad filter, over-long question) come back as tool errors with the
library's one-line message.
"""


import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import FunctionResource
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from rag.catalog import Catalog
from rag.config import Settings
from rag.errors import RagError
from rag.protocols import QA
from rag.records import Filters
from rag.verify import Claim, Verifier

RESOURCE_PREFIX = "unrag://documents/"


class FiltersArg(BaseModel):
    """Restrictions applied before ranking; omitted lists mean no restriction."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] = Field(default_factory=list, description="document ids or symbols, e.g. S/PV.8838")
    speakers: list[str] = Field(default_factory=list, description="speaker label, name or affiliation, e.g. 中国")
    doc_types: list[str] = Field(default_factory=list,
                                 description="meeting_record, resolution, presidential_statement, letter, ...")
    date_from: str | None = Field(None, description="YYYY-MM-DD, inclusive")
    date_to: str | None = Field(None, description="YYYY-MM-DD, inclusive")

    def to_filters(self) -> Filters:
        return Filters(doc_ids=tuple(self.doc_ids), speakers=tuple(self.speakers), doc_types=tuple(self.doc_types),
                       date_from=self.date_from, date_to=self.date_to)


def document_uri(doc_id: str) -> str:
    return RESOURCE_PREFIX + quote(doc_id, safe="")


def build_server(qa: QA, settings: Settings | None = None, corpus_dir: Path | None = None) -> MCPServer:
    """The server over `qa`; `corpus_dir` is where verification reads source files when the index keeps none.
    (No `from __future__ import annotations` here: the SDK reads the tools' annotations at registration.)"""
    settings = settings or Settings()
    catalog = Catalog(qa, corpus_dir)
    verifier = Verifier(catalog)
    server = MCPServer("unrag", instructions=(
        "Cited question answering over Chinese UN documents (Security Council records, resolutions, statements, "
        "letters). Use `ask` for a cited answer, `search` for passages, `get_document` to read, `verify_citation` "
        "to check that a quote stands in a document in a given speaker's turn."))
    TopK = Annotated[StrictInt, Field(ge=1, le=settings.max_top_k, description=f"passages, 1 to {settings.max_top_k}")]

    def text_arg(value: str, name: str) -> str:
        stripped = valid(value, name).strip()
        if not stripped:
            raise ToolError(f"{name} is empty")
        if len(stripped) > settings.max_question_chars:
            raise ToolError(f"{name} has {len(stripped)} characters; the limit is {settings.max_question_chars}")
        return stripped

    def document(id_or_symbol: str):
        valid(id_or_symbol, "id_or_symbol")
        doc = catalog.find(id_or_symbol) or verifier.find(id_or_symbol)
        if doc is None:
            raise ToolError(f"unknown document {id_or_symbol!r}; known: {', '.join(catalog.doc_ids)}")
        return doc

    @server.tool(description="Ranked passages for a query (Chinese or English), each with its document symbol, "
                             "speaker, paragraph and source offsets.")
    def search(query: Annotated[str, Field(description="what to look for")], top_k: TopK = 5,
               filters: FiltersArg | None = None) -> dict[str, Any]:
        with _tool_errors():
            checked = catalog.check_filters(filters.to_filters() if filters else None)
            return qa.search(text_arg(query, "query"), top_k, checked).to_dict()

    @server.tool(description="A short answer whose every sentence ends with [n], citations[n-1] being the "
                             "passage (symbol, speaker, paragraph); says so when the documents do not answer.")
    def ask(question: Annotated[str, Field(description="the question, Chinese or English")], top_k: TopK = 5,
            filters: FiltersArg | None = None) -> dict[str, Any]:
        with _tool_errors():
            checked = catalog.check_filters(filters.to_filters() if filters else None)
            return qa.ask(text_arg(question, "question"), top_k, checked).to_dict()

    @server.tool(description="One document: metadata and its turns (speaker, chunks with paragraph numbers and "
                             "source offsets) in reading order; with `paragraph`, only that paragraph.")
    def get_document(id_or_symbol: Annotated[str, Field(description="document id or symbol in any written form")],
                     paragraph: Annotated[str | None, Field(description="a paragraph number, e.g. 13 or 3(a)")] = None
                     ) -> dict[str, Any]:
        with _tool_errors():
            return catalog.document(document(id_or_symbol), paragraph)

    @server.tool(description="Who speaks where: every speaker with the documents and turns they speak in; with "
                             "`doc`, only that document's speakers.")
    def list_speakers(doc: Annotated[str | None, Field(description="document id or symbol")] = None
                      ) -> dict[str, Any]:
        with _tool_errors():
            return {"speakers": catalog.speakers(document(doc) if doc else None)}

    @server.tool(description="Check a citation: does the quote stand verbatim (whitespace and width aside) in the "
                             "document, in whose turn, at which paragraph and offsets; does the speaker match. "
                             "When not found, the closest passage and the differences.")
    def verify_citation(doc: Annotated[str, Field(description="document id or symbol in any written form")],
                        quote: Annotated[str, Field(description="the quoted words")],
                        speaker: Annotated[str | None, Field(description="who is said to have said it")] = None,
                        paragraph: Annotated[str | None, Field(description="the paragraph it is said to be in")] = None
                        ) -> dict[str, Any]:
        with _tool_errors():
            for value, name in ((doc, "doc"), (speaker, "speaker"), (paragraph, "paragraph")):
                valid(value, name)
            return verifier.verify(Claim(doc, text_arg(quote, "quote"), speaker, paragraph)).to_dict()

    for doc in catalog.documents:
        server.add_resource(FunctionResource.from_function(
            _reader(catalog, doc), uri=document_uri(doc.id), name=doc.id, title=doc.symbol or doc.title_zh,
            description=f"{doc.type}, {doc.date}: {doc.title_zh}", mime_type="application/json"))
    return server


def _reader(catalog: Catalog, doc):
    def read() -> str:
        return json.dumps(catalog.document(doc), ensure_ascii=False)
    return read


def valid(value: Any, name: str) -> Any:
    """A text argument holding a NUL or a lone surrogate is a tool error (as a 400 is over HTTP)."""
    bad = next((ch for ch in value if ch == "\x00" or "\ud800" <= ch <= "\udfff"), None) if isinstance(value, str) else None
    if bad is not None:
        raise ToolError(f"{name}: invalid Unicode (U+{ord(bad):04X}); send valid text")
    return value


@contextmanager
def _tool_errors() -> Iterator[None]:
    """The library's errors as tool errors with their one-line message."""
    try:
        yield
    except RagError as exc:
        raise ToolError(" ".join(str(exc).split())) from exc


def run_http(server: MCPServer, host: str, port: int) -> None:
    """The streamable HTTP transport at http://HOST:PORT/mcp."""
    server.run("streamable-http", host=host, port=port)
