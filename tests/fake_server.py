"""`python tests/fake_server.py --port N`: the real service (uvicorn) over FakeQA, for client tests.
Honours RAG_API_KEY like `rag serve`."""

from __future__ import annotations

import argparse

from fakes import FakeQA  # the script's own directory is on sys.path

from rag.config import Settings
from service.app import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(FakeQA, args.host, args.port, Settings.from_env().api_key, index_name="fake")


if __name__ == "__main__":
    main()
