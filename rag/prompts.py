"""Prompt templates kept as files in `rag/data/prompts/` (package data), checked when they are loaded.

Templates use Python format syntax (LangChain's default "f-string" format): `{name}` is a
variable, `{{` and `}}` are literal braces. A template whose variables differ from the expected
set (missing or extra), or that uses positional (`{}`), attribute (`{a.b}`) or index (`{a[0]}`)
fields, fails at load with an error naming the file.
"""

from __future__ import annotations

import string
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from rag.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent / "data" / "prompts"
# file name -> the variables its template must use, exactly
ANSWER_TEMPLATES = {
    "answer_system.txt": frozenset(),
    "answer_user.txt": frozenset({"question", "passages", "language_instruction"}),
}


class PromptError(ConfigError):
    """A prompt template file is missing or does not use exactly the expected variables."""


def template_variables(text: str, source: str = "<template>") -> set[str]:
    """The variable names of a format-syntax template."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as e:  # a single { or } without its pair
        raise PromptError(f"{source}: malformed template ({e}); write literal braces as {{{{ and }}}}") from e
    for name in fields:
        if not name.isidentifier():
            raise PromptError(f"{source}: field {{{name}}} is not a plain variable name")
    return set(fields)


def load_template(path: Path, expected: frozenset[str] | set[str]) -> str:
    """The template text of `path`, after checking that its variables are exactly `expected`."""
    path = Path(path)
    if not path.is_file():
        raise PromptError(f"{path}: prompt template not found")
    text = path.read_text(encoding="utf-8")
    found = template_variables(text, str(path))
    missing, extra = set(expected) - found, found - set(expected)
    if missing or extra:
        raise PromptError(f"{path}: template variables differ from the expected {sorted(expected)}: "
                          f"missing {sorted(missing)}, unexpected {sorted(extra)}")
    return text


def load_answer_prompt(prompts_dir: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """System + user messages for LLM answers; variables: question, passages, language_instruction."""
    system, user = (load_template(Path(prompts_dir) / name, expected)
                    for name, expected in ANSWER_TEMPLATES.items())
    return ChatPromptTemplate.from_messages([("system", system), ("human", user)])
