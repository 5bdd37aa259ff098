"""Every error the library raises on purpose, in one hierarchy.

Each message is one line that names what is wrong and where (the file and line or field, the
index file and the command to run). The faces map them in one place each: the CLI
(`rag.cli.friendly_errors`: one line, exit 1) and the service (`service.errors`: the HTTP status
in `http_status`). Anything that is not a RagError is a bug: the CLI shows it as an internal
error and the service answers 500 without a traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class. `http_status` is the status the service answers with."""

    http_status = 400
    type = "invalid_request"


class InputError(RagError, ValueError):
    """A question, parameter or request the library rejects (empty, invalid Unicode, bad top_k
    or mode). A ValueError too, so plain Python callers can catch it as one."""


class FilterError(InputError):
    """A filter value that names nothing in the index or is malformed (it would silently match
    nothing)."""

    http_status = 422
    type = "validation_error"


class NotFoundError(RagError, LookupError):
    """A document, paragraph or speaker asked for by name that the index does not hold."""

    http_status = 404
    type = "not_found"


class CorpusError(RagError):
    """Bad corpus input; the message names the file and the line or field. Nothing is skipped."""


class ExtractionError(CorpusError):
    """A PDF or Word file whose text cannot be read."""


class IndexLoadError(RagError):
    """An index that is missing, stale, corrupt or built with another model or chunker."""

    http_status = 503
    type = "not_ready"


class IndexCorruptError(IndexLoadError):
    """An index file whose size, checksum or row count differs from what its build recorded."""


class IndexBusyError(RagError):
    """Another process holds the build lock of this index."""

    http_status = 409
    type = "conflict"


class ModelError(RagError):
    """The embedding model cannot be found or loaded."""

    http_status = 503
    type = "not_ready"


class ConfigError(RagError):
    """A RAG_* setting with a value that cannot be used."""

    http_status = 500
    type = "config_error"
