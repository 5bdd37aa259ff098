"""rag/config.py: one settings object read from RAG_* variables; rag/errors.py: one hierarchy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import errors
from rag.config import Settings


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s == Settings()
    assert s.min_z == 1.5 and s.max_top_k == 50 and s.api_key is None and s.cors_origins == ()


def test_every_variable_is_read_and_typed():
    s = Settings.from_env({"RAG_INDEX_DIR": "/tmp/ix", "RAG_MIN_Z": "2.5", "RAG_MAX_TOP_K": "20",
                           "RAG_CORS_ORIGINS": "http://a.example, http://b.example",
                           "RAG_API_KEY": " k ", "RAG_SOMETHING_ELSE": "x", "HOME": "/root"})
    assert s.index_dir == Path("/tmp/ix") and s.index_path("n") == Path("/tmp/ix/n")
    assert s.min_z == 2.5 and s.max_top_k == 20 and s.api_key == "k"
    assert s.cors_origins == ("http://a.example", "http://b.example")
    assert s.get("RAG_SOMETHING_ELSE") == "x" and "HOME" not in s.extra


def test_blank_variables_mean_unset():
    assert Settings.from_env({"RAG_API_KEY": "  ", "RAG_MIN_Z": ""}) == Settings()


@pytest.mark.parametrize("name,value", [("RAG_MIN_Z", "high"), ("RAG_MAX_TOP_K", "0"),
                                        ("RAG_MAX_BODY_BYTES", "1.5")])
def test_unusable_values_name_the_variable(name, value):
    with pytest.raises(errors.ConfigError, match=name):
        Settings.from_env({name: value})


def test_one_error_hierarchy():
    for cls in (errors.InputError, errors.FilterError, errors.NotFoundError, errors.CorpusError,
                errors.ExtractionError, errors.IndexLoadError, errors.IndexCorruptError,
                errors.IndexBusyError, errors.ModelError, errors.ConfigError):
        assert issubclass(cls, errors.RagError)
        assert 400 <= cls.http_status < 600 and cls.type
    assert issubclass(errors.InputError, ValueError)  # plain Python callers may catch ValueError
    assert errors.FilterError.http_status == 422 and errors.IndexLoadError.http_status == 503
