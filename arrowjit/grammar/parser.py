"""Stage 1: text -> Lark parse tree.

The grammar lives in ``filter.lark`` beside this file. Lark's LALR parser
keeps the positions of every node (``propagate_positions``) so that the AST,
and every later error, can point at the source. Lark's own exceptions never
leave this module: they become :class:`arrowjit.ParseError` with a caret.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..compiler import diskcache
from ..errors import ParseError, Span

GRAMMAR_PATH = Path(__file__).with_name("filter.lark")

# How Lark names terminals, and how an error message should name them.
_TERMINAL_WORDS = {
    "OR": "'or'", "AND": "'and'", "NOT": "'not'", "IS": "'is'", "IN": "'in'",
    "BETWEEN": "'between'", "LIKE": "'like'", "ILIKE": "'ilike'", "NULL": "'null'", "TRUE": "'true'",
    "FALSE": "'false'",
    "INF": "'inf'", "NAN": "'nan'", "CAST": "'cast'", "AS": "'as'", "CASE": "'case'", "WHEN": "'when'",
    "THEN": "'then'", "ELSE": "'else'", "END": "'end'", "PIPE": "'|'", "AMP": "'&'", "TILDE": "'~'",
    "COMP_OP": "a comparison", "NAME": "a name", "PARAMETER": "a :parameter",
    "QUOTED_NAME": "a `quoted name`", "STRING": "a 'string'",
    "INT": "a number", "HEX_INT": "a number", "FLOAT": "a number",
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "PERCENT": "'%'", "__ANON_0": "'//'", "__ANON_1": "'**'",
    "$END": "the end of the expression",
}

MAX_LENGTH = 1_000_000
MAX_NESTING = 256


# The basic lexer tokenizes without looking at the parser state, so a
# keyword is a keyword everywhere (`x > or` is an error, not a column `or`).
_OPTIONS = dict(parser="lalr", lexer="basic", propagate_positions=True, maybe_placeholders=True)

# Building the LALR tables takes 40-150 ms, most of a first compile. They are
# shipped beside the grammar (`make grammar` writes them; a test checks they
# are current) and loaded in about 2 ms. The first line of the file is the
# fingerprint of what they were built from; any other grammar, option or Lark
# version builds the tables afresh.
TABLES_PATH = GRAMMAR_PATH.with_name("filter.lark.tables")


def tables_fingerprint(grammar: str) -> str:
    """What the parse tables depend on: the grammar, the options and the Lark version."""
    text = "\n".join([grammar, repr(sorted(_OPTIONS.items())), lark.__version__])
    return hashlib.sha256(text.encode()).hexdigest()


def write_tables(path: Path = TABLES_PATH) -> Path:
    """Build the parse tables and write them, fingerprint first, to ``path``."""
    grammar = GRAMMAR_PATH.read_text()
    parser = lark.Lark(grammar, **_OPTIONS)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as f:
        f.write(tables_fingerprint(grammar).encode() + b"\n")
        parser.save(f)
    temporary.replace(path)
    return path


def _load_tables(grammar: str) -> lark.Lark | None:
    try:
        with open(TABLES_PATH, "rb") as f:
            if f.readline().strip().decode() != tables_fingerprint(grammar):
                return None
            return lark.Lark.load(f)
    except Exception:  # missing or unreadable: build them
        return None


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = GRAMMAR_PATH.read_text()
    shipped = _load_tables(grammar)
    if shipped is not None:
        return shipped
    # Lark can keep the tables it builds in a file of its own (it checks the grammar's hash).
    if diskcache.enabled():
        path = diskcache.directory() / f"grammar-lark-{lark.__version__}.cache"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return lark.Lark(grammar, cache=str(path), **_OPTIONS)
        except Exception:  # an unreadable or unwritable cache: build the tables afresh
            pass
    return lark.Lark(grammar, **_OPTIONS)


def _describe(expected: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(name, name.lower()) for name in expected})
    if len(words) > 6:
        return "an operand or operator"
    return ", ".join(words)


def _check_nesting(text: str) -> None:
    """Reject absurdly deep nesting before the (recursive) tree transforms see it."""
    depth = 0
    quoted = False
    for offset, char in enumerate(text):
        if char == "`":
            quoted = not quoted  # a doubled backtick toggles twice: still inside
        elif quoted:
            continue
        elif char == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise ParseError(
                    f"the expression nests parentheses more than {MAX_NESTING} levels deep",
                    text, Span(offset, offset + 1))
        elif char == ")":
            depth -= 1


# Far more tokens than the compiler takes nodes (arrowjit.compiler.ast.MAX_NODES,
# 2,048): counting them is linear, where building the tree of a huge chain is not.
# (Deeply nested expressions, up to 256 levels, stay well under it.)
MAX_TOKENS = 65_536


def _check_size(text: str) -> None:
    if len(text) <= MAX_TOKENS:  # a token is at least one character: nothing to count
        return
    for count, token in enumerate(_parser().lex(text), start=1):
        if count > MAX_TOKENS:
            span = Span(token.start_pos, token.start_pos + len(token.value))
            raise ParseError(f"the expression is too big to compile: more than {MAX_TOKENS:,} tokens "
                             "(compile time grows faster than the expression); this is where the "
                             "limit is passed", text, span)


def parse_tree(text: str) -> lark.Tree:
    """Parse an expression into a Lark tree (rules named by the grammar's aliases)."""
    if not isinstance(text, str):
        raise ParseError(f"the expression must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ParseError("the expression is empty", text, Span(0, max(1, len(text))))
    _check_nesting(text)
    try:
        _check_size(text)
        return _parser().parse(text)
    except UnexpectedCharacters as e:
        raise ParseError(f"unexpected character {text[e.pos_in_stream]!r}", text,
                         Span(e.pos_in_stream, e.pos_in_stream + 1)) from None
    except UnexpectedEOF as e:
        end = len(text.rstrip())
        raise ParseError(f"the expression ends too early; expected {_describe(set(e.expected))}",
                         text, Span(end, end + 1)) from None
    except UnexpectedToken as e:
        token = e.token
        if token.type == "$END":
            end = len(text.rstrip())
            raise ParseError(f"the expression ends too early; expected {_describe(e.expected)}",
                             text, Span(end, end + 1)) from None
        start = token.start_pos
        raise ParseError(f"unexpected {token.value!r}; expected {_describe(e.expected)}", text,
                         Span(start, start + max(1, len(token.value)))) from None
    except UnexpectedInput as e:  # pragma: no cover - Lark's other input errors
        raise ParseError(f"cannot parse the expression: {e}", text, Span(0, len(text))) from None

