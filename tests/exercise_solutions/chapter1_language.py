"""Reference solution for docs/exercises/chapter1_language.py."""

EXPRESSIONS = {
    "x from 2 to 6": "x between 2 and 6",
    "no name": "name is null",
    "b-names with odd i": "starts_with(name, 'b') and i % 2 == 1",
    "x missing": "x is null or isnan(x)",
}


def extend_grammar(grammar: str) -> str:
    replacements = [
        ("or_expr (OR | PIPE) and_expr", 'or_expr (OR | PIPE | "||") and_expr'),
        ("and_expr (AND | AMP) not_expr", 'and_expr (AND | AMP | "&&") not_expr'),
        ("(NOT | TILDE) not_expr", '(NOT | TILDE | "!") not_expr'),
        ("?predicate: sum\n", '?predicate: sum\n'
                               '          | sum IN "{" expr_list "}" -> in_\n'
                               '          | sum NOT IN "{" expr_list "}" -> not_in\n'),
    ]
    for old, new in replacements:
        if old not in grammar:
            raise ValueError(f"the grammar has changed: {old!r} is not in it")
        grammar = grammar.replace(old, new)
    return grammar
