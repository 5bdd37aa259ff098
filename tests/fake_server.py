"""`python tests/fake_server.py --port N`: the real service (uvicorn) over FakeQA, for client tests.
Honours RAG_API_KEY like `rag serve`."""

from __future__ import annotations

import argparse

from fakes import FakeQA  # the script's own directory is on sys.path

from service.app import api_key_from_env, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(FakeQA, args.host, args.port, api_key_from_env(), index_name="fake")


if __name__ == "__main__":
    main()
