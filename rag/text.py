"""Small text helpers shared by the pipeline: Unicode normalisation and document symbols.

- `nfkc(text)`: NFKC, so full-width letters, digits and brackets become ASCII (Ｓ／ＲＥＳ （２０２０） ->
  S/RES (2020)).
- `squash(text)`: NFKC with every whitespace character removed: the form in which a quote, a
  speaker name or a symbol is looked up in a passage regardless of line wrapping and spacing.
- `SYMBOL_RE`: a full UN document symbol (S/PV.8838, S/RES/2518 (2020), S/PRST/2021/11,
  S/2021/681, A/65/698), optional year in brackets included; `SYMBOL_TOKEN_RE` also takes a bare
  resolution number with its year (2518 (2020)). Both apply to NFKC text.
- Two normal forms of a symbol, for two uses: `symbol_key` (lowercase, no spaces:
  's/res/2518(2020)') is the BM25 token stored in an index, so it must never change;
  `canonical_symbol` (uppercase, a space before the year: 'S/RES/2518 (2020)') is the form the
  documents write and the one shown to users.
"""

from __future__ import annotations

import re
import unicodedata

from rag.errors import InputError

# Not preceded by a letter, digit or slash: the symbol starts a token (no match inside "AS/1").
_TOKEN_START = r"(?<![A-Za-z0-9/])"
_YEAR = r"\s*\(\s*(?:19|20)\d\d\s*\)"
SYMBOL = r"[SAE]\s*/\s*(?:[A-Za-z]+\s*[./]\s*)*\d+(?:\s*/\s*\d+)*(?:" + _YEAR + ")?"
SYMBOL_RE = re.compile(_TOKEN_START + SYMBOL)
SYMBOL_TOKEN_RE = re.compile(_TOKEN_START + r"(?:" + SYMBOL + r"|\d{3,4}" + _YEAR + ")")


def invalid_text(value: str) -> str | None:
    """Why a string cannot be stored or searched (a NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return f"is not valid Unicode text: a NUL character at position {value.index(chr(0))}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        return (f"is not valid Unicode text: an invalid character U+{ord(value[e.start]):04X} "
                f"(a lone surrogate) at position {e.start}")
    return None


def check_text(name: str, value: str) -> str:
    """`value`, or an InputError naming `name` when it holds a NUL or a lone surrogate."""
    why = invalid_text(value)
    if why:
        raise InputError(f"{name} {why}")
    return value


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def squash(text: str) -> str:
    """NFKC, then every whitespace character removed."""
    return "".join(nfkc(text).split())


def symbol_key(symbol: str) -> str:
    """The index form of a symbol: 'S/RES/2518 （2020）' -> 's/res/2518(2020)'."""
    return squash(symbol).lower()


def canonical_symbol(symbol: str) -> str:
    """The written form of a symbol: 's/res/2518（2020）' -> 'S/RES/2518 (2020)'."""
    return re.sub(r"\((\d{4})\)$", r" (\1)", squash(symbol).upper())
