"""Tests for symgrad.parse.expr: the whitelist parser of command-line text."""
import ast
import builtins
import importlib
import pathlib
import re

import pytest
import sympy as sp
import sympy.parsing.sympy_parser
from sympy.codegen.cfunctions import expm1, log1p

from parse_helpers import (MATS, A, B, R, S, W, X, Y, b, canon, d, n, no_hang, relu_of, v, w,
                           x, y, z)
from symgrad.parse import tables as _parse_tables
from symgrad.ops import nodes
from symgrad.errors import ArgumentError, ParseError
from symgrad.parse.expr import (FUNCTIONS, MATRIX_FUNCTIONS, dimension, parse_assignment, parse_expr,
                           parse_matrix_decl, parse_name, parse_relation)

# --- accepted text and the exact SymPy object it must give ---------------------------------

SCALAR_CASES = [
    ("x + 1", x + 1),
    ("0.1*x", R(1, 10) * x),
    ("2.5 - 1e-3*w", R(5, 2) - w / 1000),
    ("x/y/z", x / y / z),
    ("2*(x + y)*3", 2 * (x + y) * 3),
    ("-x + +y - -z", -x + y + z),
    ("x**2 - 3*x*y", x**2 - 3 * x * y),
    ("x**-1 + x**0.5", 1 / x + sp.sqrt(x)),
    ("2**10", sp.Integer(1024)),
    ("pi*E", sp.pi * sp.E),
    ("exp(x) + log(y)", sp.exp(x) + sp.log(y)),
    ("log(x, 2)", sp.log(x, 2)),
    ("sqrt(x**2 + 1)", sp.sqrt(x**2 + 1)),
    ("sigmoid(w*x + b)", nodes.Sigmoid(w * x + b)),
    ("softplus(-z) + logsumexp(x, y, z)", nodes.Softplus(-z) + nodes.LogSumExp(x, y, z)),
    ("relu(x)", sp.Max(0, x)),
    ("max(x, y, 0) + Min(x, y)", sp.Max(x, y, 0) + sp.Min(x, y)),
    ("abs(x) + Abs(y)", sp.Abs(x) + sp.Abs(y)),
    ("sign(x)*heaviside(y)*Heaviside(z)", sp.sign(x) * sp.Heaviside(y) * sp.Heaviside(z)),
    ("atan2(y, x)", sp.atan2(y, x)),
    ("sin(x)*cos(y)/tan(z) + cot(x) + sec(y) + csc(z)",
     sp.sin(x) * sp.cos(y) / sp.tan(z) + sp.cot(x) + sp.sec(y) + sp.csc(z)),
    ("asin(x) + acos(x) + atan(x) + acot(x) + asec(y) + acsc(y)",
     sp.asin(x) + sp.acos(x) + sp.atan(x) + sp.acot(x) + sp.asec(y) + sp.acsc(y)),
    ("sinh(x) + cosh(x) + tanh(x) + coth(y) + sech(y) + csch(y)",
     sp.sinh(x) + sp.cosh(x) + sp.tanh(x) + sp.coth(y) + sp.sech(y) + sp.csch(y)),
    ("asinh(x) + acosh(y) + atanh(z) + acoth(x) + asech(y) + acsch(z)",
     sp.asinh(x) + sp.acosh(y) + sp.atanh(z) + sp.acoth(x) + sp.asech(y) + sp.acsch(z)),
    ("sinc(x) + erf(x) + erfc(y)", sp.sinc(x) + sp.erf(x) + sp.erfc(y)),
    ("gamma(x) + lgamma(y) + loggamma(z) + digamma(x)",
     sp.gamma(x) + sp.loggamma(y) + sp.loggamma(z) + sp.digamma(x)),
    ("polygamma(2, x)", sp.polygamma(2, x)),
    ("log1p(x) + expm1(y)", log1p(x) + expm1(y)),
    ("where(x > 0, x, 0)", sp.Piecewise((x, x > 0), (0, True))),
    ("where((x > 0) & ~(y == 1), x, y)", sp.Piecewise((x, (x > 0) & ~sp.Eq(y, 1)), (y, True))),
    ("where(x >= 1 or y != 2, 1, 0)", sp.Piecewise((1, (x >= 1) | sp.Ne(y, 2)), (0, True))),
    ("where(0 < x < 1, x, 0)", sp.Piecewise((x, (0 < x) & (x < 1)), (0, True))),
    ("gamma1*x + T", sp.Symbol("gamma1", real=True) * x + sp.Symbol("T", real=True)),
    ("  (x\n + y)  ", x + y),
    ("µ + ﬁ", sp.Symbol("μ", real=True) + sp.Symbol("fi", real=True)),   # NFKC, like Python
]

MATRIX_CASES = [
    ("X @ W + Y", X @ W + Y),
    ("(X @ W).T", (X @ W).T),
    ("2*X - X/2", 2 * X - X / 2),
    ("X * X", sp.hadamard_product(X, X)),
    ("X / X", sp.hadamard_product(X, sp.HadamardPower(X, -1))),
    ("X ** 2", sp.HadamardPower(X, 2)),
    ("exp(X)", X.applyfunc(sp.exp)),
    ("sigmoid(X @ W)", nodes.sigmoid(X @ W)),
    ("relu(X @ W)", relu_of(X @ W)),
    ("max(X, 0)", relu_of(X)),
    ("log(v.T @ v)", sp.log(v.T @ v)),
    ("tr(S) + det(S) + logdet(S)", sp.Trace(S) + sp.Determinant(S) + sp.log(sp.Determinant(S))),
    ("inv(S) @ X", sp.Inverse(S) @ X),
    ("sum(X) + tr(sum(X, 0) @ ones(d, 1))",
     nodes.msum(X) + sp.Trace(nodes.msum(X, 0) @ sp.OneMatrix(d, 1))),
    ("sum(X, 1)", nodes.msum(X, 1)),
    ("mean(X**2)/n", nodes.mean(sp.HadamardPower(X, 2)) / n),
    ("softmax(X @ W)", nodes.softmax(X @ W)),
    ("logsumexp(X)", nodes.logsumexp(X, axis=1)),
    ("X @ W + ones(n, 1) @ B", X @ W + sp.OneMatrix(n, 1) @ B),
    ("eye(n) + S", sp.Identity(n) + S),
    ("zeros(2, 3) + A", sp.ZeroMatrix(2, 3) + A),
    ("-sum(Y * log(softmax(X @ W)))", -nodes.msum(sp.hadamard_product(
        Y, nodes.softmax(X @ W).applyfunc(sp.log)))),
]


@pytest.mark.parametrize("text, expected", SCALAR_CASES, ids=[c[0] for c in SCALAR_CASES])
def test_accepted_scalar_text_gives_the_exact_sympy_expression(text, expected):
    assert parse_expr(text) == expected


@pytest.mark.parametrize("text, expected", MATRIX_CASES, ids=[c[0] for c in MATRIX_CASES])
def test_accepted_matrix_text_gives_the_exact_sympy_expression(text, expected):
    got = parse_expr(text, matrices=MATS)
    assert canon(got) == canon(expected)
    assert getattr(got, "shape", None) == getattr(expected, "shape", None)


def test_dimensions_are_one_positive_integer_symbol_everywhere():
    got = parse_expr("sum(X)/n + tr(S)", matrices=MATS)
    # == (not `is`): SymPy's cache may be evicted between calls, so identity is not promised
    assert {s.name: s for s in got.free_symbols}.get("n") == dimension("n")
    assert parse_expr("X", matrices=MATS).shape[0] == dimension("n")
    assert dimension("n") != sp.Symbol("n") and dimension("n") != sp.Symbol("n", real=True)
    assert dimension("n").is_integer and dimension("n").is_positive


def test_float_literals_are_exact_rationals_of_their_shortest_repr():
    assert parse_expr("0.1") == R(1, 10)
    assert parse_expr("0.1000000000000000055511151231257827") == R(1, 10)
    assert parse_expr("1e-300") == R(1, 10**300)


# --- refused text: one line, naming the problem --------------------------------------------

HOSTILE = [
    ("__import__('os').system('echo hi')", "calling an attribute"),
    ("__import__('os')", "may not start with _"),
    ("().__class__.__bases__[0].__subclasses__()", "not allowed"),
    ("x.__class__", "attribute .__class__"),
    ("exp.__globals__", "attribute .__globals__"),
    ("X.shape", "attribute .shape"),
    ("x[0]", "subscript"),
    ("lambda: 1", "lambda"),
    ("[t for t in x]", "comprehension"),
    ("sum(t for t in x)", "generator"),
    ("f'{x}'", "f-string"),
    ("'x'", "string"),
    ("b'x'", "string"),
    ("max(*x)", "*args"),
    ("max(**x)", "**kwargs"),
    ("log(x, base=2)", "keyword argument"),
    ("(y := 2)", ":="),
    ("x if y else z", "where(c, a, b)"),
    ("[x, y]", "list"), ("(x, y)", "tuple"), ("{x: y}", "dict"), ("{x}", "set"),
    ("None", "None"), ("True", "True"), ("...", "Ellipsis"),
    ("1j", "complex"), ("1e999", "too large"), ("1e-999", "underflows"),
    ("foo(x)", "unknown function"), ("eval('1')", "unknown function"),
    ("sigmod(x)", "did you mean sigmoid"),
    ("exp(x)(y)", "calling the result"),
    ("gamma*x", "gamma is a function"),
    ("_x + 1", "may not start with _"),
    ("x % 2", "operator %"), ("x ^ 2", "use ** for powers"), ("x // 2", "operator //"),
    ("x > 0", "where(condition"), ("x and y", "where(condition"),
    ("~x", "only allowed on comparisons"),
    ("x is y", "where(condition"),
    ("(" * 10000 + "x" + ")" * 10000, "too deeply nested"),
    ("-" * 9999 + "x", "too deeply nested"),
    ("not " * 2000 + "x", "too deeply nested"),
    ("lambda: " * 1000 + "x", "too deeply nested"),
    ("x" + ".T" * 3000, "too deeply nested"),
    ("+".join(["x"] * 100_000), "too long"),
    ("+".join(["x"] * 600), "more than 500 terms"),
    ("9" * 101, "more than 100 digits"),
    ("9**9**9**9", "exponent above"), ("10**10**10", "exponent above"),
    ("2**(10**100)", "exponent above"), ("x**(10**20)", "exponent above"),
    ("(2*x)**(10**4)", "too large"), ("sqrt(2)**9999", "too large"),
    ("exp(10**5*log(3))", "too large"), ("E**(10**4*log(7))", "too large"),
    ("exp(exp(exp(exp(exp(10)))))", "too large"), ("sqrt(2 - exp(exp(exp(10))))", "too large"),
    ("gamma(10**6)", "too large"), ("polygamma(3, 10**9)", "too large"),
    ("gamma(1000)", "too large"),
    ("max(" + ",".join("x%d" % i for i in range(17)) + ")", "takes 2 to 16 arguments"),
    ("max(max(%s), max(%s))" % (",".join("a%d" % i for i in range(9)),
                                ",".join("c%d" % i for i in range(9))), "more than 16"),
    ("log(x, 2, 3)", "takes 1 or 2 arguments"),
    ("polygamma(x, 1)", "order"),
    ("x\x00", "not allowed"), ("x + \ud800", "not allowed"), ("", "empty"), (" \n\t", "empty"),
    ("x +", "not a valid expression"), ("x $ y", "not a valid expression"),
    ("1/0", "division by zero"), ("x/(y - y)", "division by zero"), ("log(0)", "not finite"),
    ("sqrt(-1)", "not real"), ("(-8)**(1/3)", "not real"), ("acosh(0)", "not real"),
    ("sqrt(2 - E**2)", "not real"),
    # --- matrices ---
    ("X @ X", "n x d"), ("X * W", "multiply elementwise"), ("X + W", "no broadcasting"),
    ("x + X", "ones(n, d)"), ("v.T @ v + 1", "tr(...)"), ("2 / X", "cannot divide"),
    ("2 ** X", "exponent"), ("x @ y", "two matrices"), ("tr(X)", "square"),
    ("inv(x)", "needs a matrix"),
    ("x.T", "scalar"), ("ones(m, 1)", "dimension"), ("sum(X, 2)", "axis"),
    ("where(X > 0, 1, 0)", "comparisons need scalars"), ("max(X, W)", "one matrix"),
    ("abs(v.T @ v)", "1 x 1"), ("where(x > 0, X, 0)", "works on scalars"),
    ("X(x)", "not a function"),
]


@pytest.mark.parametrize("text, words", HOSTILE, ids=[repr(c[0][:30]) for c in HOSTILE])
def test_hostile_or_malformed_text_is_refused_with_one_clear_line(text, words):
    with no_hang(), pytest.raises(ParseError) as caught:
        parse_expr(text, matrices=MATS)
    message = str(caught.value)
    assert message.startswith("expression: ")
    assert "\n" not in message and message.isprintable()
    assert words in message


@pytest.mark.parametrize("text, column", [("x + foo(y)", 5), ("  x + y[0]", 7),
                                          ("é + x.__class__", 5), ("exp(x) + sin(y, z)", 10)])
def test_messages_give_the_column_in_characters(text, column):
    with pytest.raises(ParseError, match="at column %d;" % column):
        parse_expr(text)


def test_the_caller_names_the_text_in_messages():
    with pytest.raises(ParseError, match="^HAND: not a valid expression"):
        parse_expr("x $", what="HAND")


def test_a_hostile_call_leaves_no_trace(tmp_path):
    canary = tmp_path / "canary"
    for text in ["__import__('pathlib').Path(%r).touch()" % str(canary),
                 "open(%r, 'w')" % str(canary)]:
        with pytest.raises(ParseError):
            parse_expr(text)
    assert not canary.exists()


# --- nothing is ever evaluated --------------------------------------------------------------

def test_no_text_reaches_eval_exec_or_sympify(monkeypatch):
    def refuse(name):
        def guard(*args, **kwargs):
            raise AssertionError("%s called during parsing" % name)
        return guard
    sympify_module = importlib.import_module("sympy.core.sympify")
    real_compile, real_sympify = builtins.compile, sympify_module.sympify

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("compile() without PyCF_ONLY_AST during parsing")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def no_string_sympify(a, *args, **kwargs):
        if isinstance(a, str):
            raise AssertionError("sympify(%r) during parsing" % a)
        return real_sympify(a, *args, **kwargs)
    monkeypatch.setattr(builtins, "eval", refuse("eval"))
    monkeypatch.setattr(builtins, "exec", refuse("exec"))
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", refuse("sympy parse_expr"))
    monkeypatch.setattr(sympify_module, "sympify", no_string_sympify)
    monkeypatch.setattr(sympy, "sympify", no_string_sympify)
    for text, _ in SCALAR_CASES + MATRIX_CASES:
        parse_expr(text, matrices=MATS)
    for text, _ in HOSTILE:
        with no_hang(), pytest.raises(ParseError):
            parse_expr(text, matrices=MATS)
    parse_relation("x + y == 1")
    parse_assignment("w=-1.5")


def test_the_parser_source_calls_no_evaluator():
    evaluators = {"eval", "exec", "__import__", "sympify", "S", "parse_expr", "lambdify"}
    package = pathlib.Path(_parse_tables.__file__).parent
    paths = sorted(p.name for p in package.glob("*.py"))
    assert paths == ["__init__.py", "expr.py", "guards.py", "index.py", "reader.py", "steps.py",
                     "tables.py", "text.py"]
    for path in paths:
        tree = ast.parse((package / path).read_text())
        own = {a.asname or a.name for node in ast.walk(tree)          # this package's own
               if isinstance(node, ast.ImportFrom) and node.level == 1  # parse_expr (steps.py)
               and node.module == "expr" for a in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in (evaluators | {"compile"}) - own, ast.unparse(node)
                if node.func.id == "getattr":          # only constant attribute names
                    assert isinstance(node.args[1], ast.Constant), ast.unparse(node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in evaluators, ast.unparse(node)
            if isinstance(node, ast.ImportFrom):
                assert "parsing" not in (node.module or ""), path


# --- relations, assignments, declarations, names ---------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("x > 0", sp.Gt(x, 0)), ("y1 + y2 + y3 == 1", sp.Eq(sum(sp.symbols("y1:4", real=True)), 1)),
    ("x != 0", sp.Ne(x, 0)), ("x <= 1", sp.Le(x, 1)), ("x >= -1", sp.Ge(x, -1)),
    ("0 < x", sp.Lt(0, x)), ("x**2 >= 0", sp.Ge(x**2, 0, evaluate=False)),
])
def test_parse_relation_gives_one_unevaluated_relational(text, expected):
    got = parse_relation(text, matrices=MATS)
    assert got == expected and isinstance(got, sp.core.relational.Relational)


@pytest.mark.parametrize("text, words", [
    ("a < b < c", "chained"), ("x + 1", "not a comparison"), ("x > x", "never true"),
    ("(x > 0) & (y > 0)", "not a comparison"), ("X > 0", "need scalars"), ("x is y", "'is'"),
    ("x > ", "not a valid expression"), ("x > __import__('os')", "may not start with _"),
])
def test_parse_relation_refuses(text, words):
    with pytest.raises(ParseError, match="^assumption: .*" + re.escape(words)):
        parse_relation(text, matrices=MATS)


@pytest.mark.parametrize("text, expected", [
    ("w=0", ("w", 0)), ("b=-1.5", ("b", R(-3, 2))), ("lr=1e-3", ("lr", R(1, 1000))),
    (" w = 2 ", ("w", 2)), ("x=+0.25", ("x", R(1, 4))), ("w=0.1", ("w", R(1, 10))),
])
def test_parse_assignment_gives_an_exact_rational(text, expected):
    name, value = parse_assignment(text)
    assert (name, value) == expected and isinstance(value, sp.Rational)


@pytest.mark.parametrize("text", ["w", "w=", "w=x", "w=1/2", "w=--1", "=1", "1w=2", "exp=1",
                                  "w=1e999", "w=True", "w=1j", "w==1", "w=__import__('os')",
                                  "w=" + "9" * 200])
def test_parse_assignment_refuses(text):
    with pytest.raises(ParseError):
        parse_assignment(text)


@pytest.mark.parametrize("call", [lambda: parse_assignment(3), lambda: parse_expr(b"w"),
                                  lambda: parse_expr("X", matrices=["X"]),
                                  lambda: parse_expr("X", matrices={"X": "n"}),
                                  lambda: parse_expr("X", matrices={"X": ("n",)})])
def test_a_python_caller_passing_the_wrong_kind_gets_argument_error(call):
    with pytest.raises(ArgumentError, match="expected text|must map|needs a shape"):
        call()


@pytest.mark.parametrize("text, expected", [
    ("X:n,d", ("X", ("n", "d"))), ("b:1,k", ("b", (1, "k"))), ("W:784,128", ("W", (784, 128))),
    (" X : n , d ", ("X", ("n", "d"))),
])
def test_parse_matrix_decl(text, expected):
    assert parse_matrix_decl(text) == expected


@pytest.mark.parametrize("text", ["X", "X:n", "X:n,d,k", "X:0,d", "X:n,-1", "X:X,d", "1X:n,d",
                                  "X:n,exp", "X:99999999999,1", "X:n,", ":n,d", "X:٣,d"])
def test_parse_matrix_decl_refuses(text):
    with pytest.raises(ParseError, match="^(matrix declaration|matrix name|dimension name): "):
        parse_matrix_decl(text)


def test_parse_name():
    assert parse_name(" w1 ") == "w1" and parse_name("ﬁ") == "fi" and parse_name("α") == "α"
    for bad in ["1w", "w-1", "", "lambda", "_w", "__import__", "exp", "pi", "x y", "sum"]:
        with pytest.raises(ParseError, match="^symbol: "):
            parse_name(bad)
    with pytest.raises(ArgumentError, match="^symbol: expected a name"):
        parse_name(5)


@pytest.mark.parametrize("matrices", [{"exp": (1, 2)}, {"n": ("n", 1)},
                                      {"X": (0, 1)}, {"X": (True, 1)}, {"X": (1.5, 1)}])
def test_bad_matrix_declarations_are_parse_errors(matrices):
    with pytest.raises(ParseError):
        parse_expr("x", matrices=matrices)


# --- the function tables ---------------------------------------------------------------------

def test_the_function_table_covers_the_documented_names_and_parses_each_entry():
    documented = ("exp log sqrt sin cos tan cot sec csc sinh cosh tanh coth sech csch asin acos "
                  "atan acot asec acsc asinh acosh atanh acoth asech acsch atan2 abs Abs sign max "
                  "min Max Min heaviside Heaviside sinc erf erfc gamma loggamma lgamma digamma "
                  "polygamma log1p expm1 sigmoid softplus logsumexp relu where").split()
    assert set(documented) <= set(FUNCTIONS)
    assert set("tr det logdet inv sum mean softmax logsumexp ones eye zeros".split()) \
        <= set(MATRIX_FUNCTIONS)
    for name, (fn, (low, high)) in FUNCTIONS.items():
        assert 1 <= low and (high is None or low <= high), name
        if name in ("where", "polygamma"):
            continue
        args = [x, y, z][:low]
        assert parse_expr("%s(%s)" % (name, ", ".join(map(str, args)))) == fn(*args), name
