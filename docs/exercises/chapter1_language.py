"""Chapter 1 exercises: the language and its grammar. Check: pytest docs/exercises -k chapter1

1. Write filters. For each question below, put an expression in EXPRESSIONS
   that keeps exactly the rows asked for, on this data:

       x:    [1.0, 3.0, None, 5.0, 7.0, nan]
       i:    [1,   2,   3,    4,   5,   6]
       name: ["ant", "bee", "cat", None, "bee", "dog"]

2. Add grammar sugar. extend_grammar(grammar) receives the text of
   arrowjit/grammar/filter.lark and returns a grammar in which also
       a && b   means   a and b
       a || b   means   a or b
       !a       means   not a
       x in {1, 2}      means   x in (1, 2)     (and x not in {1, 2})
   Only the grammar changes: make the new alternatives build the tree nodes
   that already exist (`-> and_`, `-> in_`, ...), and the AST builder of
   chapter 2 handles them as it is. Tip: a quoted string in a Lark rule,
   such as "&&", is a token that does not appear in the tree.
"""

EXPRESSIONS: dict[str, str | None] = {
    # the rows whose x is between 2 and 6, limits included
    "x from 2 to 6": None,
    # the rows with no name
    "no name": None,
    # the rows whose name starts with 'b' and whose i is odd
    "b-names with odd i": None,
    # the rows where x is null or NaN
    "x missing": None,
}


def extend_grammar(grammar: str) -> str:
    raise NotImplementedError("exercise: return the grammar with &&, ||, ! and in {...} added")
