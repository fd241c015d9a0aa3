"""Stage 3 on its own: AST + column types -> typed IR, compared as typed-IR dumps.

The schema is a plain mapping of column names to DTypes (or to the Arrow type
name of a column kernels cannot read); no Arrow data, LLVM or cache is used.
Each case states the expected typed IR or error beside the input.
"""

from __future__ import annotations

import pytest

from arrowjit import ArrowJitError, ExpressionTypeError, UnknownColumnError
from arrowjit.compiler import ast
from arrowjit.compiler import typed_ir as tir
from arrowjit.compiler import types as T
from arrowjit.compiler.typecheck import Context, check_predicate
from arrowjit.errors import ExpressionError
from arrowjit.grammar.parser import parse_tree

COLUMNS = {
    "i8": T.INT8, "i16": T.INT16, "i32": T.INT32, "i64": T.INT64,
    "u8": T.UINT8, "u16": T.UINT16, "u32": T.UINT32, "u64": T.UINT64,
    "f32": T.FLOAT32, "f64": T.FLOAT64, "x": T.FLOAT64,
    "flag": T.BOOL, "b": T.BOOL,
    "price": T.FLOAT64, "quantity": T.INT32,
    "s": T.UTF8, "ts": "timestamp[ms]",
}


def check(text, columns=COLUMNS):
    return check_predicate(ast.build_ast(parse_tree(text), text), Context(text, columns))


def typed(text, columns=COLUMNS):
    """The typed IR dump with its line breaks and indentation folded into single spaces.

    ``dump`` breaks long forms over several lines; folded, every form reads
    like its one-line form, so the tables below stay one line per case.
    """
    return " ".join(tir.dump(check(text, columns)).split())



def case(text, expected, *, id=None, marks=()):
    return pytest.param(text, expected, id=id or text, marks=marks)


# ---------------------------------------------------------------------------
# Promotion: operands meet at a common type, shown as explicit cast_ nodes
# ---------------------------------------------------------------------------

PROMOTIONS = [
    # integer column vs integer literal: the literal is int64, so the column is widened
    case("i8 > 1", "(greater_than_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool"),
    case("i8 > 1000", "(greater_than_int64_int64 (cast_int64_int8 i8:int8):int64 1000:int64):bool"),
    case("i16 < -40000", "(less_than_int64_int64 (cast_int64_int16 i16:int16):int64 -40000:int64):bool"),
    case("u8 > 300", "(greater_than_int64_int64 (cast_int64_uint8 u8:uint8):int64 300:int64):bool"),
    case("i64 == 5", "(equal_int64_int64 i64:int64 5:int64):bool"),
    # integer with float gives float64; float32 with float32 stays float32
    case("i32 > f32", "(greater_than_float64_float64 (cast_float64_int32 i32:int32):float64 "
                      "(cast_float64_float32 f32:float32):float64):bool"),
    case("f32 > f32", "(greater_than_float32_float32 f32:float32 f32:float32):bool"),
    case("f32 * f32 > f32", "(greater_than_float32_float32 "
                            "(multiply_float32_float32 f32:float32 f32:float32):float32 f32:float32):bool"),
    case("f32 > f64", "(greater_than_float64_float64 (cast_float64_float32 f32:float32):float64 "
                      "f64:float64):bool"),
    case("f32 > 3.0", "(greater_than_float64_float64 (cast_float64_float32 f32:float32):float64 "
                      "3.0:float64):bool"),
    case("i32 > 2.5", "(greater_than_float64_float64 (cast_float64_int32 i32:int32):float64 "
                      "2.5:float64):bool"),
    case("quantity * price > 100.0", "(greater_than_float64_float64 (multiply_float64_float64 "
                                     "(cast_float64_int32 quantity:int32):float64 price:float64):float64 "
                                     "100.0:float64):bool"),
    # integers of one signedness give the wider
    case("i8 + i16 > 1", "(greater_than_int64_int64 (cast_int64_int16 (add_int16_int16 "
                         "(cast_int16_int8 i8:int8):int16 i16:int16):int16):int64 1:int64):bool"),
    case("u8 + u16 > 1", "(greater_than_int64_int64 (cast_int64_uint16 (add_uint16_uint16 "
                         "(cast_uint16_uint8 u8:uint8):uint16 u16:uint16):uint16):int64 1:int64):bool"),
    # signed with unsigned: the narrowest signed type that holds both
    case("i8 > u8", "(greater_than_int16_int16 (cast_int16_int8 i8:int8):int16 "
                    "(cast_int16_uint8 u8:uint8):int16):bool"),
    case("u32 > i32", "(greater_than_int64_int64 (cast_int64_uint32 u32:uint32):int64 "
                      "(cast_int64_int32 i32:int32):int64):bool"),
    case("i8 + u16 > 1", "(greater_than_int64_int64 (cast_int64_int32 (add_int32_int32 "
                         "(cast_int32_int8 i8:int8):int32 (cast_int32_uint16 u16:uint16):int32):int32):int64 "
                         "1:int64):bool"),
    # int64 with uint64 in arithmetic: int64, wrapping
    case("i64 + u64 > 1", "(greater_than_int64_int64 (add_int64_int64 i64:int64 "
                          "(cast_int64_uint64 u64:uint64):int64):int64 1:int64):bool"),
    # a signed integer compared with a uint64 uses the exact mixed rows
    case("u64 > -1", "(greater_than_uint64_int64 u64:uint64 -1:int64):bool"),
    case("-1 < u64", "(less_than_int64_uint64 -1:int64 u64:uint64):bool"),
    case("u64 >= 0", "(greater_than_or_equal_to_uint64_int64 u64:uint64 0:int64):bool"),
    case("i32 > u64", "(greater_than_int64_uint64 (cast_int64_int32 i32:int32):int64 u64:uint64):bool"),
    case("i64 > u64", "(greater_than_int64_uint64 i64:int64 u64:uint64):bool"),
    case("u64 > i64", "(greater_than_uint64_int64 u64:uint64 i64:int64):bool"),
    case("u8 > i64", "(greater_than_int64_int64 (cast_int64_uint8 u8:uint8):int64 i64:int64):bool"),
    # literals beyond int64 are uint64
    case("u64 > 18446744073709551615", "(greater_than_uint64_uint64 u64:uint64 "
                                       "18446744073709551615:uint64):bool"),
    case("u64 < 9223372036854775808", "(less_than_uint64_uint64 u64:uint64 9223372036854775808:uint64):bool"),
    case("i64 == 18446744073709551615", "(equal_int64_uint64 i64:int64 18446744073709551615:uint64):bool"),
    case("-9223372036854775808 < i64", "(less_than_int64_int64 -9223372036854775808:int64 i64:int64):bool"),
    # `/` is true division: integers are divided as float64; float32 / float32 stays float32
    case("i32 / i32 > 1", "(greater_than_float64_float64 (divide_float64_float64 "
                          "(cast_float64_int32 i32:int32):float64 "
                          "(cast_float64_int32 i32:int32):float64):float64 1.0:float64):bool"),
    case("i64 / 2 > 1", "(greater_than_float64_float64 (divide_float64_float64 "
                        "(cast_float64_int64 i64:int64):float64 2.0:float64):float64 1.0:float64):bool"),
    case("f32 / f32 > 1", "(greater_than_float64_float64 (cast_float64_float32 "
                          "(divide_float32_float32 f32:float32 f32:float32):float32):float64 "
                          "1.0:float64):bool"),
    # `//`, `%` and `**` keep integers integral
    case("i32 // i32 > 1", "(greater_than_int64_int64 (cast_int64_int32 "
                           "(floor_divide_int32_int32 i32:int32 i32:int32):int32):int64 1:int64):bool"),
    case("i32 % 2 == 0", "(equal_int64_int64 (modulo_int64_int64 (cast_int64_int32 i32:int32):int64 "
                         "2:int64):int64 0:int64):bool"),
    case("i8 ** 2 > 0", "(greater_than_int64_int64 (power_int64_int64 (cast_int64_int8 i8:int8):int64 "
                        "2:int64):int64 0:int64):bool"),
    case("x ** 2 > 1", "(greater_than_float64_float64 (power_float64_float64 x:float64 2.0:float64):float64 "
                       "1.0:float64):bool"),
    case("f32 // 2 > 0", "(greater_than_float64_float64 (floor_divide_float64_float64 "
                         "(cast_float64_float32 f32:float32):float64 2.0:float64):float64 0.0:float64):bool"),
    # unary minus keeps the type
    case("-x > 1", "(greater_than_float64_float64 (negate_float64 x:float64):float64 1.0:float64):bool"),
    case("-i8 > 1", "(greater_than_int64_int64 (cast_int64_int8 (negate_int8 i8:int8):int8):int64 "
                    "1:int64):bool"),
    # functions: the narrowest row the arguments fit; integers go to float64 for sqrt
    case("abs(i8) > 1", "(greater_than_int64_int64 (cast_int64_int8 (abs_int8 i8:int8):int8):int64 "
                        "1:int64):bool"),
    case("sqrt(i32) > 1", "(greater_than_float64_float64 "
                          "(sqrt_float64 (cast_float64_int32 i32:int32):float64):float64 1.0:float64):bool"),
    case("sqrt(f32) > sqrt(x)", "(greater_than_float64_float64 (cast_float64_float32 "
                                "(sqrt_float32 f32:float32):float32):float64 "
                                "(sqrt_float64 x:float64):float64):bool"),
    case("floor(i32) > 1", "(greater_than_int64_int64 (cast_int64_int32 (floor_int32 i32:int32):int32):int64 "
                           "1:int64):bool"),
    case("isnan(x)", "(isnan_float64 x:float64):bool"),
    case("isnan(i32)", "(isnan_int32 i32:int32):bool"),
    case("isfinite(f32)", "(isfinite_float32 f32:float32):bool"),
    case("isnull(x)", "(isnull_float64 x:float64):bool"),
    case("isnull(i8) or isnull(flag)", "(or (isnull_int8 i8:int8):bool (isnull_bool flag:bool):bool):bool"),
    # booleans
    case("flag", "flag:bool"),
    case("not flag", "(not flag:bool):bool"),
    case("flag == true", "(equal_bool_bool flag:bool true:bool):bool"),
    case("flag == b", "(equal_bool_bool flag:bool b:bool):bool"),
    case("flag == (x > 1)", "(equal_bool_bool flag:bool (greater_than_float64_float64 x:float64 "
                            "1.0:float64):bool):bool"),
    case("true", "true:bool"),
    case("false", "false:bool"),
    case("x > nan", "(greater_than_float64_float64 x:float64 nan:float64):bool"),
    case("x < inf", "(less_than_float64_float64 x:float64 inf:float64):bool"),
    case("x > -inf", "(greater_than_float64_float64 x:float64 -inf:float64):bool"),
]


@pytest.mark.parametrize("text, expected", PROMOTIONS)
def test_promotions(text, expected):
    assert typed(text) == expected


LITERAL_FOLDING = [
    # A literal is converted when the IR is built: no cast_ node around a constant.
    case("f32 > 3", "(greater_than_float64_float64 (cast_float64_float32 f32:float32):float64 "
                    "3.0:float64):bool"),
    case("x > 1", "(greater_than_float64_float64 x:float64 1.0:float64):bool"),
    case("x > -1", "(greater_than_float64_float64 x:float64 -1.0:float64):bool"),
    case("x == 0x10", "(equal_float64_float64 x:float64 16.0:float64):bool"),
    case("x + 1 > 0", "(greater_than_float64_float64 (add_float64_float64 x:float64 1.0:float64):float64 "
                      "0.0:float64):bool"),
    case("f32 + 1 > 0", "(greater_than_float64_float64 (add_float64_float64 "
                        "(cast_float64_float32 f32:float32):float64 1.0:float64):float64 0.0:float64):bool"),
    # A negated literal is one constant, not a negate call.
    case("-(1) < i64", "(less_than_int64_int64 -1:int64 i64:int64):bool"),
    case("- 2.5 < x", "(less_than_float64_float64 -2.5:float64 x:float64):bool"),
    case("x > --3", "(greater_than_float64_float64 x:float64 3.0:float64):bool"),
]


def _walk(node):
    yield node
    for child in tir.children(node):
        yield from _walk(child)


@pytest.mark.parametrize("text, expected", LITERAL_FOLDING)
def test_literal_folding(text, expected):
    assert typed(text) == expected
    nodes = list(_walk(check(text)))
    assert not [n for n in nodes if isinstance(n, tir.Cast) and isinstance(n.operand, tir.Const)]
    assert not [n for n in nodes if isinstance(n, tir.Call) and n.function.name == "negate"]


# ---------------------------------------------------------------------------
# Sugar is lowered: between, in, not in, is null, comparison chains
# ---------------------------------------------------------------------------

SUGAR = [
    case("i8 between 1 and 10",
         "(and (greater_than_or_equal_to_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool "
         "(less_than_or_equal_to_int64_int64 (cast_int64_int8 i8:int8):int64 10:int64):bool):bool"),
    case("x not between 1 and 2",
         "(not (and (greater_than_or_equal_to_float64_float64 x:float64 1.0:float64):bool "
         "(less_than_or_equal_to_float64_float64 x:float64 2.0:float64):bool):bool):bool"),
    case("x between 1 and 2 and flag",
         "(and (greater_than_or_equal_to_float64_float64 x:float64 1.0:float64):bool "
         "(less_than_or_equal_to_float64_float64 x:float64 2.0:float64):bool flag:bool):bool"),
    case("i8 in (1, 2, 3)",
         "(or (equal_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool "
         "(equal_int64_int64 (cast_int64_int8 i8:int8):int64 2:int64):bool "
         "(equal_int64_int64 (cast_int64_int8 i8:int8):int64 3:int64):bool):bool"),
    case("i8 in (1,)", "(equal_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool"),
    case("i8 not in (1, 2)",
         "(not (or (equal_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool "
         "(equal_int64_int64 (cast_int64_int8 i8:int8):int64 2:int64):bool):bool):bool"),
    case("x not in (1.5,)", "(not (equal_float64_float64 x:float64 1.5:float64):bool):bool"),
    case("i8 in (1.5, 2)",
         "(or (equal_float64_float64 (cast_float64_int8 i8:int8):float64 1.5:float64):bool "
         "(equal_int64_int64 (cast_int64_int8 i8:int8):int64 2:int64):bool):bool"),
    case("i8 is null", "(isnull_int8 i8:int8):bool"),
    case("i8 is not null", "(isnotnull_int8 i8:int8):bool"),
    case("x + 1 is null", "(isnull_float64 (add_float64_float64 x:float64 1.0:float64):float64):bool"),
    case("flag is not null", "(isnotnull_bool flag:bool):bool"),
    case("x is null and flag", "(and (isnull_float64 x:float64):bool flag:bool):bool"),
    case("1 < i32 < 10",
         "(and (less_than_int64_int64 1:int64 (cast_int64_int32 i32:int32):int64):bool "
         "(less_than_int64_int64 (cast_int64_int32 i32:int32):int64 10:int64):bool):bool"),
    case("1 < i32 <= i64 < 10",
         "(and (less_than_int64_int64 1:int64 (cast_int64_int32 i32:int32):int64):bool "
         "(less_than_or_equal_to_int64_int64 (cast_int64_int32 i32:int32):int64 i64:int64):bool "
         "(less_than_int64_int64 i64:int64 10:int64):bool):bool"),
    case("2 < x <= 6 and flag",
         "(and (less_than_float64_float64 2.0:float64 x:float64):bool "
         "(less_than_or_equal_to_float64_float64 x:float64 6.0:float64):bool flag:bool):bool"),
    case("x = 1", "(equal_float64_float64 x:float64 1.0:float64):bool"),
    case("x <> 1", "(not_equal_float64_float64 x:float64 1.0:float64):bool"),
    # runs of one connective are flat; mixed ones nest
    case("flag and b and flag", "(and flag:bool b:bool flag:bool):bool"),
    case("(flag and b) and flag", "(and flag:bool b:bool flag:bool):bool"),
    case("flag or b or flag", "(or flag:bool b:bool flag:bool):bool"),
    case("flag and b or flag", "(or (and flag:bool b:bool):bool flag:bool):bool"),
    case("not x > 1 or flag", "(or (not (greater_than_float64_float64 x:float64 1.0:float64):bool):bool "
                              "flag:bool):bool"),
]


@pytest.mark.parametrize("text, expected", SUGAR)
def test_sugar_lowering(text, expected):
    assert typed(text) == expected


# ---------------------------------------------------------------------------
# The null literal
# ---------------------------------------------------------------------------

NULLS = [
    # null takes the other operand's type
    case("x > null", "(greater_than_float64_float64 x:float64 null:float64):bool"),
    case("flag == null", "(equal_bool_bool flag:bool null:bool):bool"),
    case("null > 1", "(greater_than_int64_int64 null:int64 1:int64):bool"),
    case("i8 in (1, null)", "(or (equal_int64_int64 (cast_int64_int8 i8:int8):int64 1:int64):bool "
                            "(equal_int8_int8 i8:int8 null:int8):bool):bool"),
    case("x between null and 1", "(and "
                                 "(greater_than_or_equal_to_float64_float64 x:float64 null:float64):bool "
                                 "(less_than_or_equal_to_float64_float64 x:float64 1.0:float64):bool):bool"),
    # as a predicate, null is a boolean null
    case("null", "null:bool"),
    case("NULL", "null:bool"),
    case("null and flag", "(and null:bool flag:bool):bool"),
    case("flag or null", "(or flag:bool null:bool):bool"),
    case("not null", "(not null:bool):bool"),
    case("null == null", "(equal_bool_bool null:bool null:bool):bool"),
    # null in arithmetic is an int64 null
    case("null + 1 > 1", "(greater_than_int64_int64 (add_int64_int64 null:int64 1:int64):int64 "
                         "1:int64):bool"),
    case("-null > 1", "(greater_than_int64_int64 (negate_int64 null:int64):int64 1:int64):bool"),
    # is null of the literal itself
    case("null is null", "(isnull_null null:null):bool"),
    case("null is not null", "(isnotnull_null null:null):bool"),
    case("isnull(null)", "(isnull_null null:null):bool"),
]


@pytest.mark.parametrize("text, expected", NULLS)
def test_null_literal(text, expected):
    assert typed(text) == expected


# ---------------------------------------------------------------------------
# Run-time parameters take the type of what they meet first
# ---------------------------------------------------------------------------

PARAMETERS = [
    case("x > :lo", "(greater_than_float64_float64 x:float64 :lo:float64):bool"),
    case("i8 > @lo", "(greater_than_int8_int8 i8:int8 :lo:int8):bool"),
    case(":lo < u64", "(less_than_uint64_uint64 :lo:uint64 u64:uint64):bool"),
    case("x between :lo and :hi", "(and "
                                  "(greater_than_or_equal_to_float64_float64 x:float64 :lo:float64):bool "
                                  "(less_than_or_equal_to_float64_float64 x:float64 :hi:float64):bool):bool"),
    case("x > :lo and i8 < :lo", "(and (greater_than_float64_float64 x:float64 :lo:float64):bool "
                                 "(less_than_float64_float64 (cast_float64_int8 i8:int8):float64 "
                                 ":lo:float64):bool):bool"),
    case(":flag", ":flag:bool"),
    case(":flag and flag", "(and :flag:bool flag:bool):bool"),
    case("x + :d > 1", "(greater_than_float64_float64 (add_float64_float64 x:float64 :d:float64):float64 "
                       "1.0:float64):bool"),
]


@pytest.mark.parametrize("text, expected", PARAMETERS)
def test_parameters(text, expected):
    assert typed(text) == expected


def test_given_parameter_types_win():
    text = "x > :lo"
    node = check_predicate(ast.build_ast(parse_tree(text), text),
                           Context(text, COLUMNS, parameters={"lo": T.INT32}))
    assert " ".join(tir.dump(node).split()) == (
        "(greater_than_float64_float64 x:float64 (cast_float64_int32 :lo:int32):float64):bool")


# ---------------------------------------------------------------------------
# The dump itself, and what the typed IR keeps from the source
# ---------------------------------------------------------------------------

def test_dump_breaks_long_forms_over_indented_lines():
    assert tir.dump(check("i8 between 1 and 10")) == (
        "(and\n"
        "  (greater_than_or_equal_to_int64_int64\n"
        "    (cast_int64_int8 i8:int8):int64\n"
        "    1:int64):bool\n"
        "  (less_than_or_equal_to_int64_int64\n"
        "    (cast_int64_int8 i8:int8):int64\n"
        "    10:int64):bool):bool"
    )


def test_dump_keeps_short_forms_on_one_line():
    assert tir.dump(check("f32 > f32")) == "(greater_than_float32_float32 f32:float32 f32:float32):bool"


def test_dump_quotes_names_that_need_backticks():
    columns = {"my col": T.INT64}
    assert typed("`my col` > 1", columns) == "(greater_than_int64_int64 `my col`:int64 1:int64):bool"


def test_typed_nodes_keep_their_source_spans():
    text = "x > 1 and i8 > 2"
    node = check(text)
    assert isinstance(node, tir.And)
    comparison = node.args[1]
    cast, literal = comparison.args
    assert text[comparison.span.start:comparison.span.end] == "i8 > 2"
    assert isinstance(cast, tir.Cast)
    assert text[cast.span.start:cast.span.end] == "i8"
    assert text[literal.span.start:literal.span.end] == "2"


def test_columns_in_order_of_first_use():
    node = check("f32 > 1 and x < 2 and f32 < 3 and flag")
    assert tir.columns(node) == {"f32": T.FLOAT32, "x": T.FLOAT64, "flag": T.BOOL}


def test_null_predicate_is_a_bool_constant():
    node = check("null")
    assert isinstance(node, tir.Const)
    assert node.dtype == T.BOOL and node.value is None


# ---------------------------------------------------------------------------
# Errors: the message, and the caret under the sub-expression that is wrong
# ---------------------------------------------------------------------------



def error(text, kind, first_line, caret_line, *, id=None, marks=()):
    return pytest.param(text, kind, first_line, caret_line, id=id or text, marks=marks)


TYPE_ERRORS = [
    # (expression, error class, first line of str(error), the caret line)
    # the predicate must be boolean
    error("x + 1", ExpressionTypeError, "1:1: a filter needs a boolean predicate, but this is float64",
          "^^^^^"),
    error("x", ExpressionTypeError, "1:1: a filter needs a boolean predicate, but this is float64", "^"),
    error("1", ExpressionTypeError, "1:1: a filter needs a boolean predicate, but this is int64", "^"),
    error("i8 * 2", ExpressionTypeError, "1:1: a filter needs a boolean predicate, but this is int64",
          "^^^^^^"),
    error("  abs(f32) ", ExpressionTypeError, "1:3: a filter needs a boolean predicate, but this is float32",
          "  ^^^^^^^^"),
    # bool does not compare with a number
    error("flag > 1", ExpressionTypeError, "1:1: cannot compare flag (bool) with 1 (int64)", "^^^^^^^^"),
    error("flag == 1", ExpressionTypeError, "1:1: cannot compare flag (bool) with 1 (int64)", "^^^^^^^^^"),
    error("x > 2.0 and flag > 1", ExpressionTypeError, "1:13: cannot compare flag (bool) with 1 (int64)",
          "            ^^^^^^^^"),
    error("x == (x > 1)", ExpressionTypeError, "1:1: cannot compare x (float64) with x > 1 (bool)",
          "^^^^^^^^^^^^"),
    error("(flag) > 1", ExpressionTypeError, "1:1: cannot compare flag (bool) with 1 (int64)",
          "^^^^^^^^^^"),
    error("i8 in (flag, 1)", ExpressionTypeError, "1:8: cannot compare i8 (int8) with flag (bool)",
          "       ^^^^"),
    error("flag in (1, 2)", ExpressionTypeError, "1:10: cannot compare flag (bool) with 1 (int64)",
          "         ^"),
    error("x between flag and 1", ExpressionTypeError, "1:1: cannot compare x (float64) with flag (bool)",
          "^" * 20),
    # a column of a type kernels cannot read
    error("s > 1", ExpressionTypeError, "1:1: cannot compare s (utf8) with 1 (int64)", "^^^^^"),
    error("x > 1 and ts < 5", ExpressionTypeError,
          "1:11: column 'ts' has type timestamp[ms], which arrowjit cannot evaluate yet "
          "(supported: bool, integers, floats, strings, dates, times, timestamps, durations, "
          "decimal128)", "          ^^"),
    # unknown columns, with a suggestion when one is close
    error("prce > 1", UnknownColumnError, "1:1: unknown column 'prce'; did you mean 'price'?", "^^^^"),
    error("x > 1 or quantty < 2", UnknownColumnError,
          "1:10: unknown column 'quantty'; did you mean 'quantity'?", "         ^^^^^^^"),
    error("FLAG", UnknownColumnError, "1:1: unknown column 'FLAG'; did you mean 'flag'?", "^^^^"),
    error("PRICE > 1", UnknownColumnError, "1:1: unknown column 'PRICE'; did you mean 'price'?", "^^^^^"),
    error("zzz > 1", UnknownColumnError, "1:1: unknown column 'zzz'", "^^^"),
    error("isnull(zzz)", UnknownColumnError, "1:8: unknown column 'zzz'", "       ^^^"),
    # unknown functions, with a suggestion when one is close; the caret is under the name
    error("sqr(x) > 1", ExpressionTypeError, "1:1: unknown function sqr(); did you mean sqrt()?", "^^^"),
    error("abss(x) > 1", ExpressionTypeError, "1:1: unknown function abss(); did you mean abs()?", "^^^^"),
    error("x > 1 and isnul(x)", ExpressionTypeError,
          "1:11: unknown function isnul(); did you mean isnull()?", "          ^^^^^"),
    error("qqqq(x)", ExpressionTypeError, "1:1: unknown function qqqq()", "^^^^"),
    # wrong number of arguments
    error("abs(x, x) > 1", ExpressionTypeError, "1:1: abs() takes 1 argument, not 2", "^^^^^^^^^"),
    error("sqrt() > 1", ExpressionTypeError, "1:1: sqrt() takes 1 argument, not 0", "^^^^^^"),
    error("isnull(x, x)", ExpressionTypeError, "1:1: isnull() takes 1 argument, not 2", "^^^^^^^^^^^^"),
    # a function on a type it is not defined for
    error("abs(flag)", ExpressionTypeError, "1:1: abs() is not defined for (bool)", "^^^^^^^^^"),
    error("sqrt(flag) > 1", ExpressionTypeError, "1:1: sqrt() is not defined for (bool)", "^^^^^^^^^^"),
    # arithmetic on bool; the caret is under the bool operand
    error("flag + 1 > 2", ExpressionTypeError, "1:1: + needs numbers, but flag is bool", "^^^^"),
    error("1 + flag > 2", ExpressionTypeError, "1:5: + needs numbers, but flag is bool", "    ^^^^"),
    error("flag * 2 > 1", ExpressionTypeError, "1:1: * needs numbers, but flag is bool", "^^^^"),
    error("x // flag > 1", ExpressionTypeError, "1:6: // needs numbers, but flag is bool", "     ^^^^"),
    error("(x > 1) ** 2 > 0", ExpressionTypeError, "1:2: ** needs numbers, but x > 1 is bool", " ^^^^^"),
    # unary minus on bool
    error("-flag", ExpressionTypeError,
          "1:1: unary minus needs a number, but flag is bool; use 'not' to negate a condition", "^^^^^"),
    error("-(x > 1)", ExpressionTypeError,
          "1:1: unary minus needs a number, but x > 1 is bool; use 'not' to negate a condition", "^^^^^^^^"),
    # and / or / not on a number
    error("flag and 1", ExpressionTypeError, "1:10: 'and' needs boolean operands, but 1 is int64",
          "         ^"),
    error("1 and flag", ExpressionTypeError, "1:1: 'and' needs boolean operands, but 1 is int64", "^"),
    error("x & flag", ExpressionTypeError, "1:1: 'and' needs boolean operands, but x is float64", "^"),
    error("abs(x) and flag", ExpressionTypeError,
          "1:1: 'and' needs boolean operands, but abs(x) is float64", "^^^^^^"),
    error("x > 1 or 2", ExpressionTypeError, "1:10: 'or' needs boolean operands, but 2 is int64",
          "         ^"),
    error("x or flag", ExpressionTypeError, "1:1: 'or' needs boolean operands, but x is float64", "^"),
    error("not x", ExpressionTypeError, "1:5: 'not' needs boolean operands, but x is float64", "    ^"),
    error("~i8", ExpressionTypeError, "1:2: 'not' needs boolean operands, but i8 is int8", " ^^"),
    # integer literals outside int64 and uint64
    error("i64 > -18446744073709551615", ExpressionError,
          "1:7: integer literal does not fit in int64 or uint64", "      " + "^" * 21),
    # a parameter whose type nothing decides
    error(":a + :b > 1", ExpressionTypeError,
          "1:1: cannot infer the type of :a and :b here; "
          "give it with params={'a': 'float64', 'b': 'float64'}",
          "^^^^^^^"),
    error("x > 1 or :a == :b", ExpressionTypeError,
          "1:10: cannot infer the type of :a and :b here; "
          "give it with params={'a': 'float64', 'b': 'float64'}",
          "         ^^^^^^^^"),
    # errors on a later line
    error("x > 1 and\n  flag > 1", ExpressionTypeError, "2:3: cannot compare flag (bool) with 1 (int64)",
          "  ^^^^^^^^"),
]


@pytest.mark.parametrize("text, kind, first_line, caret_line", TYPE_ERRORS)
def test_type_errors(text, kind, first_line, caret_line):
    with pytest.raises(kind) as info:
        check(text)
    err = info.value
    lines = str(err).split("\n")
    line_number = int(first_line.split(":")[0])
    assert lines[0] == first_line
    assert lines[1] == "  " + text.split("\n")[line_number - 1]
    assert lines[2] == "  " + caret_line
    assert len(lines) == 3
    assert isinstance(err, ArrowJitError)


def test_error_classes():
    assert issubclass(ExpressionTypeError, ArrowJitError)
    assert issubclass(UnknownColumnError, ArrowJitError)
    assert not issubclass(UnknownColumnError, ExpressionTypeError)


def test_unknown_column_with_no_columns_at_all():
    with pytest.raises(UnknownColumnError) as info:
        check("x > 1", {})
    assert str(info.value).split("\n")[0] == "1:1: unknown column 'x'"


def test_column_types_come_only_from_the_context():
    """The same text types differently under different schemas."""
    assert typed("v > 1", {"v": T.INT8}) == (
        "(greater_than_int64_int64 (cast_int64_int8 v:int8):int64 1:int64):bool")
    assert typed("v > 1", {"v": T.FLOAT32}) == (
        "(greater_than_float64_float64 (cast_float64_float32 v:float32):float64 1.0:float64):bool")
    assert typed("v", {"v": T.BOOL}) == "v:bool"
