"""Request and response bodies of the HTTP API, with a description for every field (the OpenAPI
page at /docs shows them).

Requests are validated by pydantic: a wrong type is a 422 naming the field (`"top_k": true` is not
1: integers and booleans are strict); text with a lone surrogate or a NUL character is a 400
(`invalid_text`, mapped in service/errors.py). Numeric limits that RAG_* settings can change
(top_k, list lengths, lengths of text) are checked against the running Settings in
service/limits.py, so they are stated here in the descriptions, not as schema bounds.

Responses are the records' own `to_dict()` shapes (rag/records.py, rag/verify.py); the models
below document them (tests/test_service.py checks that their fields equal the records' keys).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from rag.records import Filters


def clean_text(value: str) -> str:
    """Reject text no document can contain and no response can encode."""
    for i, ch in enumerate(value):
        if ch == "\x00":
            raise PydanticCustomError("invalid_text", "contains a NUL character at position {at}", {"at": i})
        if "\ud800" <= ch <= "\udfff":
            raise PydanticCustomError("invalid_text", "contains a lone surrogate (U+{code}) at position {at}",
                                      {"code": f"{ord(ch):04X}", "at": i})
    return value


Text = Annotated[StrictStr, AfterValidator(clean_text)]


def _clean_any(value: Any, where: str) -> None:
    """clean_text over every string in a JSON value (keys too); the error names where it is."""
    if isinstance(value, str):
        try:
            clean_text(value)
        except PydanticCustomError as e:
            raise PydanticCustomError("invalid_text", "{where}: {detail}", {"where": where, "detail": e.message()}) from e
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _clean_any(item, f"{where}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _clean_any(key, f"{where} (a key)")
            _clean_any(item, f"{where}.{key}")


class Lenient(BaseModel):
    """A body that accepts fields it does not read (OpenAI's name, user, ...; an answer's other
    fields), whose text must still be valid Unicode like every other field's: 400, not ignored."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _clean_extra(self) -> Any:
        for key, value in (self.model_extra or {}).items():
            _clean_any(key, "a field name")
            _clean_any(value, key)
        return self


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable kind: invalid_request, validation_error, unauthorized, "
                                  "not_found, method_not_allowed, too_large, not_ready, internal_error, ...")
    message: str = Field(description="one line naming the field or what to do")


class ErrorBody(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorDetail


# ---------------------------------------------------------------- requests

class FiltersIn(BaseModel):
    """Restrictions applied before ranking; omitted or empty lists mean 'no restriction'. Each list
    holds at most RAG_MAX_FILTER_VALUES values (default 50) of at most RAG_MAX_FILTER_VALUE_CHARS
    characters (default 200). A value that names nothing in the index is a 422."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[Text] = Field(default_factory=list, examples=[["S/PV.8838"]], description="document ids")
    symbols: list[Text] = Field(default_factory=list, description="document symbols, any written form")
    speakers: list[Text] = Field(default_factory=list, description="speaker label, name or affiliation",
                                 examples=[["中国"]])
    doc_types: list[Text] = Field(default_factory=list, examples=[["meeting_record"]],
                                  description="document kinds: meeting_record, resolution, presidential_statement, "
                                              "letter, ...")
    date_from: dt.date | None = Field(None, description="ISO date, inclusive")
    date_to: dt.date | None = Field(None, description="ISO date, inclusive")

    @model_validator(mode="after")
    def _ordered_dates(self) -> FiltersIn:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from {self.date_from} is after date_to {self.date_to}")
        return self

    def to_filters(self) -> Filters:
        return Filters(
            doc_ids=tuple(self.doc_ids),
            symbols=tuple(self.symbols),
            speakers=tuple(self.speakers),
            doc_types=tuple(self.doc_types),
            date_from=self.date_from.isoformat() if self.date_from else None,
            date_to=self.date_to.isoformat() if self.date_to else None,
        )


TOP_K = "how many passages, 1 to RAG_MAX_TOP_K (default 50)"


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text = Field(examples=["中方对维和行动使用新技术提出了哪些建议？"],
                        description="Chinese or English; at most RAG_MAX_QUESTION_CHARS characters (default 2000)")
    top_k: StrictInt = Field(5, description=TOP_K)
    filters: FiltersIn | None = Field(None, description="restrictions applied before ranking")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Text = Field(examples=["中方对维和行动使用新技术提出了哪些建议？"],
                           description="Chinese or English; at most RAG_MAX_QUESTION_CHARS characters (default 2000)")
    top_k: StrictInt = Field(5, description="how many passages the answer may cite; " + TOP_K)
    filters: FiltersIn | None = Field(None, description="restrictions applied before ranking")
    mode: Literal["extractive", "llm"] = Field(
        "extractive", description="extractive: sentences quoted from the passages; llm: written by the configured "
                                  "LLM and checked for support (extractive when none is configured)")


class ClaimIn(BaseModel):
    """One citation to check."""

    model_config = ConfigDict(extra="forbid")

    doc: Text = Field(description="document id or any written form of its symbol (S/RES/2518(2020), resolution "
                                  "2518 (2020), 第8838次会议)", examples=["S/PV.8838"])
    quote: Text = Field(description="the quoted words, Chinese (or English, looked up in the official English "
                                    "when the document has one); at most 5000 characters",
                        examples=["我们鼓励社交媒体公司"])
    speaker: Text | None = Field(None, description="who is said to have said it: label, name, state or organ in "
                                                   "Chinese or English (肯尼亚, Kenya, 基马尼)", examples=["肯尼亚"])
    paragraph: Text | None = Field(None, description="the paragraph it is said to stand in (13, 3(a), p7)")


class CitationIn(Lenient):
    """A citation of a /v1/ask answer (its other fields are accepted and not used)."""

    doc_id: Text = Field(description="the cited document")
    text: Text = Field(description="the cited passage, checked as the quote")
    speaker: Text | None = Field(None, description="the cited speaker")
    paragraph: Text | None = Field(None, description="the cited paragraph")


class AnswerIn(Lenient):
    """A whole /v1/ask answer: each citation's passage is checked against its document, speaker
    and paragraph."""

    citations: list[CitationIn] = Field(description="the answer's citations")


VerifyRequest = ClaimIn | list[ClaimIn] | AnswerIn


class ContentPart(Lenient):
    type: Text = Field(description="only 'text' parts are read")
    text: Text | None = None


class ChatMessage(Lenient):  # name, tool_calls, ... are accepted and not used
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[ContentPart] | None = Field(
        None, description="text, or a list of text parts; at most RAG_MAX_MESSAGE_CHARS characters (default 20000)")


class StreamOptions(Lenient):
    include_usage: StrictBool = False


class ChatRequest(Lenient):
    """OpenAI chat-completions body. Sampling parameters (temperature, max_tokens, ...) are accepted
    and ignored: answers are extractive or checked for support, not sampled. `top_k` and `filters`
    may be added (openai client: `extra_body={...}`). The last user message is resolved against
    the earlier user messages into a standalone question (README "Chat follow-ups")."""

    model: Text = Field(examples=["unrag"], description="unrag (extractive) or unrag-llm")
    messages: list[ChatMessage] = Field(min_length=1, description="at most RAG_MAX_MESSAGES messages (default 100)")
    stream: StrictBool = Field(False, description="server-sent chat.completion.chunk events, citations in the last")
    stream_options: StreamOptions | None = None
    n: StrictInt | None = Field(None, ge=1, le=1, description="only one choice is produced")
    top_k: StrictInt = Field(5, description=TOP_K)
    filters: FiltersIn | None = Field(None, description="restrictions applied before ranking")


# ---------------------------------------------------------------- responses (documentation)

class SpeakerInfoOut(BaseModel):
    name: str | None = Field(description="the person's name as the record writes it (戴兵), when given")
    affiliation: str | None = Field(description="country or organ (中国, 秘书长, 安全理事会)")
    role: str | None = Field(description="主席 | 秘书长 | member | council | signatory | ...")
    language: str | None = Field(description="the record's language note (以英语发言), or 中文")
    capacity: str | None = Field(description="president | national (the President speaking for their country) | null")


class PassageOut(BaseModel):
    """A retrieved passage: the chunk with its provenance, score and document metadata."""

    doc_id: str = Field(description="document id (equal to the symbol when it has one)")
    symbol: str | None = Field(description="the official symbol (S/PV.8838); null when the document has none: "
                                           "never invented")
    doc_type: str = Field(description="meeting_record, resolution, presidential_statement, letter, ...")
    speaker: str | None = Field(description="the speaker label as the record writes it (戴兵先生（中国）); null for "
                                            "text outside any turn")
    speaker_info: SpeakerInfoOut | None = Field(description="the label's parts")
    turn: int | None = Field(description="1-based turn number in a meeting record; null elsewhere")
    paragraph: str = Field(description="the document's own paragraph number (13, 3(a)), else p<N>")
    start: int = Field(description="offset of the passage's first character in the source file")
    end: int = Field(description="offset one past its last character")
    text: str = Field(description="the passage, line wraps removed")
    role: str = Field(description="body | heading | front_matter")
    text_en: str | None = Field(description="the official English of the same span, when the document has one")
    en_start: int | None = Field(description="offset of text_en in the English file")
    en_end: int | None = Field(description="offset one past text_en's end")
    score: float = Field(description="fused ranking score (higher is better; comparable within one response)")
    rank: int = Field(description="1-based rank")
    title: str = Field(description="the document's Chinese title")
    date: str = Field(description="the document's date, YYYY-MM-DD")
    url: str | None = Field(description="https://undocs.org/zh/<symbol>; null without a symbol")


class CitationOut(BaseModel):
    id: int = Field(description="n of the [n] marker in the answer")


class CitedPassageOut(PassageOut, CitationOut):
    """A citation: `id` then the passage's fields."""


class SearchResponse(BaseModel):
    query: str = Field(description="the query as received")
    results: list[PassageOut] = Field(description="ranked passages, best first")
    diagnostics: dict[str, Any] = Field(description="how the query was understood and ranked (intent, filters, "
                                                    "candidates, dense_stats, ...); for debugging, may change")


class AskResponse(BaseModel):
    question: str = Field(description="the question answered")
    answer: str = Field(description="the answer; every sentence ends with [n] markers pointing into citations")
    answerable: bool = Field(description="false when the documents do not answer (the answer says why)")
    citations: list[CitedPassageOut] = Field(description="the cited passages; citations[n-1] is [n]")
    diagnostics: dict[str, Any] = Field(description="intent, filters, evidence strength, reason for abstaining; "
                                                    "may change")
    timings_ms: dict[str, float] = Field(description="queued (waiting for a free worker thread), answer, total")


class ClosestOut(BaseModel):
    text: str = Field(description="the source text most like the quote")
    speaker: str | None = Field(description="its speaker")
    paragraph: str | None = Field(description="its paragraph")
    start: int = Field(description="its offset in the source file")
    end: int = Field(description="one past its end")
    similarity: float = Field(description="difflib ratio of the normalised quote and passage, 0..1")
    differences: list[dict[str, str]] = Field(description="{op: replace|delete|insert, quote, source} for each "
                                                          "differing stretch of characters")


class VerificationOut(BaseModel):
    doc: str = Field(description="the document as given")
    quote: str = Field(description="the quote as given")
    found: bool = Field(description="the quote stands in the document after width and whitespace normalisation")
    exact: bool = Field(description="it also stands byte for byte in the source file")
    doc_id: str | None = Field(description="the document it was looked up in; null when none is known by that name")
    symbol: str | None = Field(description="that document's symbol")
    language: str | None = Field(description="zh (the document's text) or en (its official English)")
    speaker: str | None = Field(description="speaker label of the turn holding the quote's start")
    speakers: list[str | None] = Field(description="speaker of every turn the quote covers, in order")
    speaker_given: str | None = Field(description="the speaker as given")
    speaker_matches: bool | None = Field(description="every turn the quote covers is the given speaker's (through "
                                                     "the entity tables: 肯尼亚 = Kenya = 基马尼); null when no "
                                                     "speaker was given or the quote was not found")
    paragraph: str | None = Field(description="paragraph holding the quote's start")
    paragraph_matches: bool | None = Field(description="it is the paragraph given; null when none was given")
    start: int | None = Field(description="offset of the quote's first character in the source file")
    end: int | None = Field(description="offset one past its last character")
    crosses_turns: bool = Field(description="the quote covers more than one turn (two speakers' words)")
    closest: ClosestOut | None = Field(description="when not found: the passage most like the quote")
    error: str | None = Field(description="why nothing could be looked up (an unknown document)")


class VerifyResponse(BaseModel):
    results: list[VerificationOut] = Field(description="one per claim (per citation of an answer), in order")
    summary: dict[str, int] = Field(description="total, found, exact, speaker_mismatches, crosses_turns, "
                                                "unknown_documents")


class ResolutionOut(BaseModel):
    question: str = Field(description="the standalone question that was asked")
    message: str = Field(description="the last user message as written")
    follow_up: bool = Field(description="the message was read as a follow-up of the earlier ones")
    carried: list[str] = Field(description="what came from the history: speaker, document, topic")
    speakers: list[str] = Field(description="canonical names of the question's speakers")
    doc_ids: list[str] = Field(description="documents carried over as filters")
    rule: str = Field(description="standalone | substitution | template | pronoun | as_written")
    notes: list[str] = Field(description="why a follow-up was asked as written")


class ChatCompletionOut(BaseModel):
    """The OpenAI chat.completion object plus unrag's fields."""

    id: str
    object: str = Field(description="chat.completion")
    created: int
    model: str
    choices: list[dict[str, Any]] = Field(description="one choice; message.content is the cited answer")
    usage: dict[str, int] = Field(description="zeros: nothing is sampled")
    citations: list[CitedPassageOut] = Field(description="the cited passages; citations[n-1] is [n]")
    answerable: bool = Field(description="false when the documents do not answer")
    question: str = Field(description="the standalone question actually asked (the follow-up resolved)")
    resolution: ResolutionOut = Field(description="how the last user message was resolved")
    diagnostics: dict[str, Any] = Field(description="the answer's diagnostics, with the resolution")
