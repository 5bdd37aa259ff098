"""`rag`: a thin click face over the library. Library errors become CLI errors in one place."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from rag.config import HOME, Settings
from rag.errors import InputError, RagError
from rag.kinds import KINDS
from rag.text import check_text


def friendly_errors(fn):
    """Map the library's errors (rag.errors.RagError) to a one-line CLI error, exit 1, never a
    traceback. Anything else is a bug and keeps its traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RagError as e:
            raise click.ClickException(" ".join(str(e).split()) or type(e).__name__) from e
    return wrapper


def settings() -> Settings:
    """The settings read once by `main` (RAG_* variables)."""
    return click.get_current_context().find_root().obj


def corpus_option(fn):
    return click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None,
                        help="Corpus directory (default: RAG_CORPUS_DIR or corpus/).")(fn)


def _corpus(corpus_dir: Path | None) -> Path:
    return corpus_dir or settings().corpus_dir


def _print_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


@click.group()
@click.pass_context
@friendly_errors
def main(ctx: click.Context) -> None:
    """Cited question answering over Chinese UN documents."""
    ctx.obj = Settings.from_env()


@main.command()
@corpus_option
@click.option("--doc", "doc_id", help="Only this document (id or symbol).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per chunk per line.")
@friendly_errors
def chunks(corpus_dir: Path, doc_id: str | None, as_json: bool) -> None:
    """The chunks of the corpus, with speakers and source offsets."""
    from rag.chunks import chunk_corpus
    from rag.text import squash
    docs, all_chunks = chunk_corpus(_corpus(corpus_dir))
    wanted = squash(doc_id) if doc_id else None
    if wanted and not any(wanted in (squash(d.id), squash(d.symbol or "")) for d in docs):
        raise click.ClickException(f"no document {doc_id!r}; known: {', '.join(d.id for d in docs)}")
    for c in all_chunks:
        if wanted and wanted not in (squash(c.doc_id), squash(c.symbol or "")):
            continue
        if as_json:
            click.echo(json.dumps(c.to_dict(), ensure_ascii=False))
        else:
            who = (c.speaker or "-")[:24]
            preview = " ".join(c.text.split())[:40]
            click.echo(f"{(c.symbol or c.doc_id)[:22]:22}  {c.paragraph:>8}  {who:24}  {preview}")


@main.command()
@click.option("--force", is_flag=True, help="Convert again even if the folder is current.")
@friendly_errors
def model(force: bool) -> None:
    """Rebuild the bundled multilingual-e5-small into a sentence-transformers folder and its OpenVINO IR."""
    from rag.model_store import prepare_model
    click.echo(str(prepare_model(settings().model_dir, force=force)))


store_option = click.option(
    "--store", type=click.Choice(["faiss", "milvus"]), default=None,
    help="Vector and BM25 search: faiss (default: RAG_STORE or faiss) or milvus (the collections "
         "exported to RAG_MILVUS_URI, default milvus-lite inside the index version).")


def _with_store(store: str | None) -> Settings:
    """The settings, with --store when given."""
    import dataclasses
    return dataclasses.replace(settings(), store=store) if store else settings()


@main.command("index")
@corpus_option
@click.option("--name", default="default", show_default=True)
@click.option("--model", "model_spec", default=None, help="Model path or name (default: RAG_MODEL or the bundled one).")
@click.option("--factory", default=None,
              help="FAISS index factory string, e.g. IVF1024,SQ8 (default: the existing index's, else auto: by size).")
@click.option("--force", is_flag=True, help="Rebuild from scratch even if nothing changed (cached embeddings are reused).")
@click.option("--check", is_flag=True, help="Verify the built index (every checksum and row count); build nothing.")
@click.option("--ray", "ray_address", default=None, metavar="auto|ADDRESS",
              help="Embed the passages on a Ray cluster: auto (the one Ray finds, else a local one) or its address.")
@store_option
@friendly_errors
def index_cmd(corpus_dir: Path, name: str, model_spec: str | None, factory: str | None, force: bool,
              check: bool, ray_address: str | None, store: str | None) -> None:
    """Build index/<name> from the corpus: only what changed is embedded again (skipped when
    nothing changed); says what was added, changed and removed."""
    from rag import index as index_mod
    path = settings().index_path(name)
    if check:
        return click.echo(json.dumps(index_mod.check(path), ensure_ascii=False))
    encoder = _index_encoder(model_spec, ray_address)
    path, built = index_mod.build(_corpus(corpus_dir), path, encoder, progress=True, force=force,
                                  factory=factory, settings=_with_store(store),
                                  notify=lambda message: click.echo(message, err=True))
    config = index_mod.read_config(path)
    click.echo(json.dumps({"index": str(path), "built": built, "chunks": config["n_chunks"],
                           "model": config["model_id"], "changes": config["changes"] if built else None},
                          ensure_ascii=False))


def _index_encoder(model_spec: str | None, ray_address: str | None):
    from rag.embed import encoder_for
    encoder = encoder_for(model_spec, settings())
    if not ray_address:
        return encoder
    from rag.ray_embed import RayEncoder
    return RayEncoder(encoder.model_id, ray_address, runtime=encoder.runtime, precision=encoder.precision)


def _pipeline(name: str, model_spec: str | None):
    from rag.pipeline import Pipeline
    return Pipeline.load(settings().index_path(name), model_spec, settings=settings())


def _filters(doc, speaker, doc_type, date_from, date_to):
    from rag.records import Filters
    return Filters(doc_ids=doc, speakers=speaker, doc_types=doc_type, date_from=date_from,
                   date_to=date_to)


filter_options = [
    click.option("--doc", multiple=True, help="Restrict to a document id or symbol (repeatable)."),
    click.option("--speaker", multiple=True, help="Restrict to a speaker: label, name or affiliation (repeatable)."),
    click.option("--type", "doc_type", multiple=True,
                 type=click.Choice(list(KINDS)),
                 help="Restrict to a document type (repeatable)."),
    click.option("--date-from", default=None, help="Documents dated on or after YYYY-MM-DD."),
    click.option("--date-to", default=None, help="Documents dated on or before YYYY-MM-DD."),
    click.option("--index", "name", default="default", show_default=True),
    click.option("--model", "model_spec", default=None),
]
def _top_k(ctx: click.Context, param: click.Parameter, value: int) -> int:
    top = ctx.find_root().obj.max_top_k  # the one limit: Settings.max_top_k (RAG_MAX_TOP_K)
    if not 1 <= value <= top:
        raise click.BadParameter(f"{value} is not from 1 to {top} (RAG_MAX_TOP_K)")
    return value


top_k_option = click.option("-k", "top_k", type=int, default=5, show_default=True, callback=_top_k,
                            help="Passages, 1 to RAG_MAX_TOP_K (default 50).")


def with_filters(fn):
    for opt in reversed(filter_options):
        fn = opt(fn)
    return fn


@main.command()
@click.argument("query")
@top_k_option
@click.option("--json", "as_json", is_flag=True)
@with_filters
@friendly_errors
def search(query, top_k, as_json, doc, speaker, doc_type, date_from, date_to, name, model_spec) -> None:
    """Ranked passages for QUERY."""
    check_text("QUERY", query)
    filters = _filters(doc, speaker, doc_type, date_from, date_to)
    result = _pipeline(name, model_spec).search(query, top_k, filters)
    if as_json:
        return _print_json(result.to_dict())
    d = result.diagnostics
    if d.get("speaker_fallback"):
        click.echo(f"note: {', '.join(d['speaker_fallback'])} does not speak in the filtered documents; "
                   "the speaker filter inferred from the query was dropped", err=True)
    if not result.passages:
        click.echo(f"no results: {d.get('message', 'nothing matched')}", err=True)
    for p in result.passages:
        c = p.chunk
        click.echo(f"[{p.rank}] {c.symbol or c.doc_id}  {c.paragraph}  {c.speaker or '-'}  "
                   f"({p.score:.4f})\n    {' '.join(c.text.split())[:160]}")


@main.command()
@click.argument("question")
@top_k_option
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive")
@click.option("--json", "as_json", is_flag=True)
@with_filters
@friendly_errors
def ask(question, top_k, mode, as_json, doc, speaker, doc_type, date_from, date_to, name, model_spec) -> None:
    """A short answer to QUESTION, every sentence cited."""
    check_text("QUESTION", question)
    filters = _filters(doc, speaker, doc_type, date_from, date_to)
    answer = _pipeline(name, model_spec).ask(question, top_k, filters, mode)
    if as_json:
        return _print_json(answer.to_dict())
    click.echo(answer.answer)
    for i, p in enumerate(answer.citations, 1):
        c = p.chunk
        click.echo(f"[{i}] {c.symbol or p.title}, {c.speaker or '-'}, {c.paragraph} "
                   f"(chars {c.start}-{c.end})")


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 (byte {e.start}: {e.reason})") from None


EVAL_SETS = ("dev.jsonl", "extra.jsonl", "2023-dev.jsonl", "2023-b.jsonl", "2023-e.jsonl", "2023.jsonl", "2023-c.jsonl",
             "2023-f.jsonl",
             "offtopic.jsonl")


@main.command("eval")
@click.option("--qa", "qa_files", multiple=True, type=click.Path(path_type=Path),
              help="QA file(s) (default: every set in eval/: " + ", ".join(EVAL_SETS) + ").")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the full report here.")
@click.option("--no-baselines", is_flag=True, help="Only evaluate our system.")
@click.option("--no-translations", is_flag=True,
              help="Rank without the official English (the dense_en, bm25_en and bm25_en_sentence lists off).")
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@friendly_errors
def eval_cmd(qa_files, json_out, no_baselines, no_translations, name, corpus_dir) -> None:
    """Hit@1/5, MRR, speaker accuracy, grounding, abstention, refusal, latency; with the baselines."""
    from rag.evaluate import format_table, run_eval
    from rag.systems import evaluation_systems
    qa = list(qa_files) or [HOME / "eval" / f for f in EVAL_SETS]
    pipeline = _pipeline(name, None)
    if no_translations:
        pipeline.retriever.weights.update(dense_en=0.0, bm25_en=0.0, bm25_en_sentence=0.0)
    systems = evaluation_systems(pipeline, _corpus(corpus_dir), baselines=not no_baselines)
    reports = run_eval(systems, qa, _corpus(corpus_dir))
    click.echo(format_table(reports))
    if json_out:
        json_out.write_text(json.dumps({k: r.to_dict() for k, r in reports.items()},
                                       ensure_ascii=False, indent=2), "utf-8")


@main.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@corpus_option
@click.option("--id", "doc_id", help="Document id (default: the symbol, else the file name plus the date).")
@click.option("--symbol", help="The official symbol, when the document does not print it (never invent one).")
@click.option("--kind", help="Document kind (meeting_record, resolution, letter, ...; see README).")
@click.option("--organ", help="The organ, e.g. 安全理事会 or Security Council.")
@click.option("--date", help="YYYY-MM-DD.")
@click.option("--author", help="Who speaks in a letter, note verbale or working paper.")
@click.option("--title-zh", help="Chinese title.")
@click.option("--title-en", help="English title.")
@click.option("--translation", "translations", multiple=True, metavar="LANG=FILE",
              help="The official translation (.txt, .pdf or .docx), e.g. en=letter.en.pdf.")
@click.option("--layout", help="pdf_wrapped | paragraphs | segments (default: detected).")
@click.option("--dry-run", is_flag=True, help="Detect and check only; write nothing.")
@friendly_errors
def add_cmd(files, corpus_dir, doc_id, symbol, kind, organ, date, author, title_zh, title_en, translations,
            layout, dry_run) -> None:
    """Add .txt, .pdf or .docx FILES to the corpus: prints what the document states (symbol, kind,
    date, organ, title) and what is missing, then writes the text and its manifest entry."""
    from rag.add import add_files
    given = {"id": doc_id, "symbol": symbol, "kind": kind, "organ": organ, "date": date, "author": author,
             "title_zh": title_zh, "title_en": title_en, "layout": layout}
    pairs = {}
    for item in translations:
        lang, sep, path = item.partition("=")
        if not sep or not lang.strip() or not path.strip():
            raise click.BadParameter(f"{item!r} is not LANG=FILE", param_hint="--translation")
        pairs[lang.strip()] = Path(path.strip())
    result = add_files(_corpus(corpus_dir), files, {k: v for k, v in given.items() if v}, pairs, dry_run=dry_run)
    _print_json(result.to_dict())
    if result.error:
        raise result.error


@main.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the results here (default: standard output).")
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@friendly_errors
def verify_cmd(file: Path, out: Path | None, name: str, corpus_dir: Path | None) -> None:
    """Check citations. FILE (.jsonl, - for stdin) holds one item per line: {doc, quote, speaker?,
    paragraph?}, a list of them, or a whole `rag ask --json` answer. Writes one result per line:
    the verification, or {results, summary} for a list or an answer (README "For evaluation harnesses")."""
    from rag import index as index_mod
    from rag.catalog import Catalog
    from rag.verify import Verifier, read_items
    text = sys.stdin.read() if str(file) == "-" else _read_utf8(file)
    items = read_items(text, str(file))  # every line checked before anything is written
    verifier = Verifier(Catalog(index_mod.load(settings().index_path(name)), _corpus(corpus_dir)))
    lines = [json.dumps(verifier.result_of(item), ensure_ascii=False) for item in items]
    if out:
        out.write_text("".join(line + "\n" for line in lines), "utf-8")
    else:
        click.echo("\n".join(lines))


@main.command("mcp")
@click.option("--http", "http_port", type=click.IntRange(1, 65535), default=None, metavar="PORT",
              help="Serve the streamable HTTP transport at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@click.option("--model", "model_spec", default=None)
@friendly_errors
def mcp_cmd(http_port, host, name, corpus_dir, model_spec) -> None:
    """Serve the corpus to MCP clients (tools search, ask, get_document, list_speakers,
    verify_citation; one resource per document): over stdio, or streamable HTTP with --http."""
    from rag.mcp_server import build_server, run_http
    from rag.pipeline import build_and_load
    cfg, corpus = settings(), _corpus(corpus_dir)
    pipeline, _ = build_and_load(corpus, cfg.index_path(name), model_spec, progress=False, settings=cfg)
    pipeline.warm_up()
    server = build_server(pipeline, cfg, corpus)
    if http_port:
        run_http(server, host, http_port)
    else:
        server.run("stdio")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@click.option("--model", "model_spec", default=None)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the port (each loads the index; README \"Load\").")
@store_option
@friendly_errors
def serve(host, port, name, corpus_dir, model_spec, workers, store) -> None:
    """Serve the HTTP API and the page (builds the index first when missing or stale)."""
    from rag.pipeline import build_and_load
    from service.app import serve as run_server
    from service.app import serve_workers
    cfg, corpus = _with_store(store), _corpus(corpus_dir)
    if workers > 1:  # build once here; each worker process then loads the index itself
        from rag import index as index_mod
        from rag.embed import encoder_for
        if cfg.store == "milvus" and not cfg.milvus_uri:
            raise click.ClickException("milvus-lite serves one process: set RAG_MILVUS_URI to a Milvus "
                                       "server (deploy/README.md) to serve with --workers > 1")
        if store:
            import os
            os.environ["RAG_STORE"] = store  # the worker processes read their settings from RAG_*
        index_mod.build(corpus, cfg.index_path(name), encoder_for(model_spec, cfg), progress=True,
                        settings=cfg)
        return serve_workers(workers, host, port, index_name=name, corpus_dir=corpus, model=model_spec)

    def load():  # runs in the service's loading thread: no click context there
        click.echo(f"loading index {name} (building it if missing or stale)...", err=True)
        pipeline, built = build_and_load(corpus, cfg.index_path(name), model_spec, progress=True,
                                         settings=cfg)
        pipeline.warm_up()
        click.echo(f"index {name}: {len(pipeline.chunks)} chunks ({'built' if built else 'current'})",
                   err=True)
        return pipeline

    run_server(load, host=host, port=port, api_key=cfg.api_key, index_name=name, corpus_dir=corpus, settings=cfg)


if __name__ == "__main__":
    sys.exit(main())
