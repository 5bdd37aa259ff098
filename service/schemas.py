"""Request bodies of the HTTP API, validated by pydantic (422 names the offending field).

Response bodies are the records' own `to_dict()` shapes (rag/records.py), not restated here, so
the CLI's `--json` output and the API can never drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.records import Filters

MAX_TOP_K = 50


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    """The one error shape of every endpoint."""

    error: ErrorDetail


class FiltersIn(BaseModel):
    """Restrictions applied before ranking; omitted or empty lists mean 'no restriction'."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] = Field(default_factory=list, examples=[["S/PV.8838"]])
    symbols: list[str] = Field(default_factory=list)
    speakers: list[str] = Field(default_factory=list, description="speaker label, name or affiliation",
                                examples=[["中国"]])
    doc_types: list[str] = Field(default_factory=list, examples=[["meeting_record"]])
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


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(examples=["中方对维和行动使用新技术提出了哪些建议？"])
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    filters: FiltersIn | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(examples=["中方对维和行动使用新技术提出了哪些建议？"])
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    filters: FiltersIn | None = None
    mode: Literal["extractive", "llm"] = "extractive"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ... are accepted and not used

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI chat-completions body. Sampling parameters (temperature, max_tokens, ...) are accepted
    and ignored: answers are extractive or checked for support, not sampled. `top_k` and `filters`
    may be added (openai client: `extra_body={...}`)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=["unrag"])
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1, le=1, description="only one choice is produced")
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)
    filters: FiltersIn | None = None

