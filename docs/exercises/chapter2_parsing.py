"""Chapter 2 exercises: parsing. Check: pytest docs/exercises -k chapter2

Use the parser and the AST of chapter 2:

    from arrowjit.grammar.parser import parse_tree
    from arrowjit.compiler import ast
    node = ast.build_ast(parse_tree(text), text)
    ast.children(node)      # a node's sub-expressions, in order
    node.span.start, node.span.end   # where it is in `text`

1. columns_in_order(text): the names of the columns the expression reads, each
   once, in the order they first appear in the text. A column written in
   backticks (`my col`) is named without them; a string literal 'x' is not a
   column. Walk the AST: no regular expressions.

2. comparison_texts(text): the source text of every comparison (==, <, ...) in
   the expression, in the order they appear. `1 < x < 5` holds two: '1 < x'
   and 'x < 5'. Use the spans.
"""


def columns_in_order(text: str) -> list[str]:
    raise NotImplementedError("exercise: walk the AST and collect the Column nodes")


def comparison_texts(text: str) -> list[str]:
    raise NotImplementedError("exercise: the text under each Comparison node's span")
