"""Random text for symgrad.parse.expr: nothing but ParseError escapes, and random formulas
round-trip (text -> SymPy, and SymPy -> to_text -> SymPy)."""
import contextlib
import operator

import pytest
import sympy as sp
from hypothesis import given, strategies as st
from sympy.codegen.cfunctions import log1p

from parse_helpers import MATS, R, no_hang, x, y, z
from symgrad.parse import tables as _parse_tables
from symgrad.ops import nodes
from symgrad.errors import ParseError
from symgrad.parse.expr import (parse_assignment, parse_expr, parse_matrix_decl, parse_name,
                           parse_relation, to_text)


# --- random text ---------------------------------------------------------------------------

TOKENS = ["x", "y", "X", "W", "v", "n", "2", "9", "0", "0.5", "1e308", "(", ")", "+", "-", "*",
          "/", "**", "@", ".T", ",", "exp(", "log(", "max(", "sum(", "ones(", "where(", "tr(",
          "gamma(", "sigmoid(", ">", "==", "&", "~", "[", "]", "lambda", ":", "'", "_", ".",
          "__class__", "if", "else", " ", "=", "j", "e", "pi", "E", "999"]
PARSERS = [lambda t: parse_expr(t, matrices=MATS), lambda t: parse_relation(t, matrices=MATS),
           parse_assignment, parse_matrix_decl, parse_name]


@given(st.text(max_size=80))
def test_random_text_raises_nothing_but_parse_error(text):
    for parse in PARSERS:
        with no_hang(), contextlib.suppress(ParseError):
            parse(text)


@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_random_token_soup_raises_nothing_but_parse_error(text):
    for parse in PARSERS:
        with no_hang(), contextlib.suppress(ParseError):
            parse(text)


LEAVES = st.sampled_from([("x", x), ("y", y), ("z", z), ("2", sp.Integer(2)),
                          ("3", sp.Integer(3)), ("0.5", R(1, 2)), ("0.1", R(1, 10)),
                          ("pi", sp.pi), ("E", sp.E)])
UNARY = [("exp", sp.exp), ("log", sp.log), ("sin", sp.sin), ("tanh", sp.tanh),
         ("sqrt", sp.sqrt), ("sigmoid", nodes.Sigmoid), ("softplus", nodes.Softplus),
         ("abs", sp.Abs), ("relu", lambda t: sp.Max(0, t)), ("erf", sp.erf), ("log1p", log1p)]
BINARY = [("+", operator.add), ("-", operator.sub), ("*", operator.mul), ("/", operator.truediv)]
EXPONENTS = [("2", 2), ("3", 3), ("-1", -1), ("0.5", R(1, 2))]


def _beyond_limits(f, args, e):
    """The documented size limits: exp of a constant above MAX_GROWTH_ARG, numbers of more
    than MAX_RESULT_DIGITS digits."""
    L = _parse_tables
    if f is sp.exp and args[0].is_number and abs(complex(args[0].evalf(15))) > L.MAX_GROWTH_ARG:
        return True
    return any(max(abs(r.p), r.q).bit_length() * 0.30103 > L.MAX_RESULT_DIGITS
               for r in e.atoms(sp.Rational))


def _build(f, *args):
    """f(*args), or None if the parser must refuse it: SymPy refuses (Max of a complex
    number), a step is not finite or not real (even if a later step hides it), or a
    step passes a size limit."""
    if any(a is None for a in args):
        return None
    try:
        e = f(*args)
    except (TypeError, ValueError):
        return None
    not_real = e.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I) or any(
        p.base.is_number and p.base.is_negative and not p.exp.is_integer for p in e.atoms(sp.Pow))
    return None if not_real or _beyond_limits(f, args, e) else e


def _grow(children):
    return st.one_of(
        st.tuples(st.sampled_from(BINARY), children, children).map(lambda t: (
            "(%s)%s(%s)" % (t[1][0], t[0][0], t[2][0]), _build(t[0][1], t[1][1], t[2][1]))),
        st.tuples(st.sampled_from(UNARY), children).map(
            lambda t: ("%s(%s)" % (t[0][0], t[1][0]), _build(t[0][1], t[1][1]))),
        st.tuples(children, st.sampled_from(EXPONENTS)).map(lambda t: (
            "(%s)**(%s)" % (t[0][0], t[1][0]), _build(operator.pow, t[0][1], t[1][1]))),
        st.tuples(children, children).map(
            lambda t: ("max(%s, %s)" % (t[0][0], t[1][0]), _build(sp.Max, t[0][1], t[1][1]))),
        children.map(lambda c: ("-(%s)" % c[0], _build(operator.neg, c[1]))))


@given(st.recursive(LEAVES, _grow, max_leaves=8))
def test_random_expressions_round_trip_through_text(pair):
    text, expected = pair
    with no_hang():
        if expected is None:
            with pytest.raises(ParseError):
                parse_expr(text)
        else:
            assert parse_expr(text) == expected


@given(st.recursive(LEAVES, _grow, max_leaves=8))
def test_random_formulas_print_with_to_text_and_parse_back(pair):
    _, expected = pair
    if expected is not None:
        with no_hang():
            assert parse_expr(to_text(expected)) == expected
