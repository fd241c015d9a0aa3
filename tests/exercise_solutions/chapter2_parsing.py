"""Reference solution for docs/exercises/chapter2_parsing.py."""

from arrowjit.compiler import ast
from arrowjit.grammar.parser import parse_tree


def _nodes(node: ast.Node):
    """Every node, parents before children, children left to right."""
    yield node
    for child in ast.children(node):
        yield from _nodes(child)


def _ast(text: str) -> ast.Node:
    return ast.build_ast(parse_tree(text), text)


def columns_in_order(text: str) -> list[str]:
    columns = sorted((node.span.start, node.name) for node in _nodes(_ast(text))
                     if isinstance(node, ast.Column))
    return list(dict.fromkeys(name for _, name in columns))


def comparison_texts(text: str) -> list[str]:
    spans = sorted((node.span.start, node.span.end) for node in _nodes(_ast(text))
                   if isinstance(node, ast.Comparison))
    return [text[start:end] for start, end in spans]
