"""`rag`: a thin click face over the library. Library errors become CLI errors in one place."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from rag.config import HOME, Settings
from rag.errors import RagError


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
    """Rebuild the bundled multilingual-e5-small into a sentence-transformers folder."""
    from rag.embed import prepare_model
    click.echo(str(prepare_model(force=force)))


@main.command("index")
@corpus_option
@click.option("--name", default="default", show_default=True)
@click.option("--model", "model_spec", default=None, help="Model path or name (default: RAG_MODEL or the bundled one).")
@click.option("--factory", default=None,
              help="FAISS index factory string, e.g. HNSW32 (default: the existing index's, else Flat).")
@click.option("--force", is_flag=True, help="Rebuild even if nothing changed.")
@friendly_errors
def index_cmd(corpus_dir: Path, name: str, model_spec: str | None, factory: str | None, force: bool) -> None:
    """Build index/<name> from the corpus (skipped when nothing changed)."""
    from rag import index as index_mod
    from rag.embed import Embedder, resolve_model
    encoder = Embedder(resolve_model(model_spec, settings()))
    path, built = index_mod.build(_corpus(corpus_dir), settings().index_path(name), encoder, progress=True, force=force,
                                  factory=factory)
    config = index_mod.read_config(path)
    click.echo(json.dumps({"index": str(path), "built": built, "chunks": config["n_chunks"],
                           "model": config["model_id"]}, ensure_ascii=False))


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
                 type=click.Choice(["meeting_record", "resolution", "presidential_statement", "letter"]),
                 help="Restrict to a document type (repeatable)."),
    click.option("--date-from", default=None, help="Documents dated on or after YYYY-MM-DD."),
    click.option("--date-to", default=None, help="Documents dated on or before YYYY-MM-DD."),
    click.option("--index", "name", default="default", show_default=True),
    click.option("--model", "model_spec", default=None),
]
top_k_option = click.option("-k", "top_k", type=click.IntRange(1, 50), default=5, show_default=True)


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
    filters = _filters(doc, speaker, doc_type, date_from, date_to)
    result = _pipeline(name, model_spec).search(query, top_k, filters)
    if as_json:
        return _print_json(result.to_dict())
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
    filters = _filters(doc, speaker, doc_type, date_from, date_to)
    answer = _pipeline(name, model_spec).ask(question, top_k, filters, mode)
    if as_json:
        return _print_json(answer.to_dict())
    click.echo(answer.answer)
    for i, p in enumerate(answer.citations, 1):
        c = p.chunk
        click.echo(f"[{i}] {c.symbol or p.title}, {c.speaker or '-'}, {c.paragraph} "
                   f"(chars {c.start}-{c.end})")


@main.command("eval")
@click.option("--qa", "qa_files", multiple=True, type=click.Path(path_type=Path),
              help="QA file(s) (default: eval/dev.jsonl and eval/extra.jsonl).")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the full report here.")
@click.option("--no-baselines", is_flag=True, help="Only evaluate our system.")
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@friendly_errors
def eval_cmd(qa_files, json_out, no_baselines, name, corpus_dir) -> None:
    """Hit@1/5, MRR, speaker accuracy, grounding, abstention, latency; with the baselines."""
    from rag.evaluate import format_table, run_eval
    from rag.systems import evaluation_systems
    qa = list(qa_files) or [HOME / "eval" / "dev.jsonl", HOME / "eval" / "extra.jsonl"]
    systems = evaluation_systems(_pipeline(name, None), _corpus(corpus_dir), baselines=not no_baselines)
    reports = run_eval(systems, qa, _corpus(corpus_dir))
    click.echo(format_table(reports))
    if json_out:
        json_out.write_text(json.dumps({k: r.to_dict() for k, r in reports.items()},
                                       ensure_ascii=False, indent=2), "utf-8")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--index", "name", default="default", show_default=True)
@corpus_option
@click.option("--model", "model_spec", default=None)
@friendly_errors
def serve(host, port, name, corpus_dir, model_spec) -> None:
    """Serve the HTTP API and the page (builds the index first when missing or stale)."""
    from rag.pipeline import build_and_load
    from service.app import serve as run_server
    cfg, corpus = settings(), _corpus(corpus_dir)

    def load():  # runs in the service's loading thread: no click context there
        click.echo(f"loading index {name} (building it if missing or stale)...", err=True)
        pipeline, built = build_and_load(corpus, cfg.index_path(name), model_spec, progress=True,
                                         settings=cfg)
        pipeline.warm_up()
        click.echo(f"index {name}: {len(pipeline.chunks)} chunks ({'built' if built else 'current'})",
                   err=True)
        return pipeline

    run_server(load, host=host, port=port, api_key=cfg.api_key, index_name=name)


if __name__ == "__main__":
    sys.exit(main())
