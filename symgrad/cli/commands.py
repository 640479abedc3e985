"""The commands behind :mod:`symgrad.cli`, one function each: ``run(args) -> exit code``.

Every piece of user text (formulas, names, numbers, matrix declarations) goes
through :mod:`symgrad.parse`; the commands only call the public pipeline
(``grad``, ``value_and_grad``, ``check_grad``, ``verify``, ``fit``). Output
goes to stdout; errors are raised (``SymgradError``) and printed by ``main``.
"""
import copy
import os
import re
import sys

import numpy as np
import sympy as sp

from ..parse.guards import declare, short
from ..parse.text import to_text
from ..check.grad import check_grad
from ..pipeline.function import GradFunction, value_and_grad
from ..pipeline.index_function import IndexGradFunction
from ..train.data import csv_columns, load_csv, save_result_json
from ..errors import ArgumentError, ParseError
from ..files import check_target, write_atomic
from ..train.optim import make_optimizer
from ..parse.expr import parse_assignment, parse_expr, parse_matrix_decl, parse_name, parse_relation
from ..verification.claims import run as run_proofs
from ..train.fit import fit
from .steps import run_sheet

__all__ = ["run_derive", "run_check", "run_codegen", "run_fit", "run_prove"]

MAX_STEPS = 1_000_000
MAX_SEED = 2 ** 32 - 1


# --- reading the command line through the parser --------------------------------------------

def integer(text, option, low, high):
    """A whole number from ``low`` to ``high`` written as plain digits."""
    t = text.strip()
    if not (t.isascii() and t.isdigit() and len(t) <= 12 and low <= int(t) <= high):
        raise ParseError("%s: %s must be a whole number from %d to %d"
                         % (option, short(text), low, high))
    return int(t)


def number(text, option, low, high, *, low_open=True, high_open=False):
    """A finite number in the interval, read by the formula parser (``1e-3``, ``1/100``)."""
    value = parse_expr(text, what=option)
    if not value.is_number:
        raise ParseError("%s: %s is not a number" % (option, short(text)))
    v = float(value)
    if not ((v > low if low_open else v >= low) and (v < high if high_open else v <= high)):
        raise ParseError("%s: %s must be in %s%g, %g%s" % (
            option, short(text), "(" if low_open else "[", low, high, ")" if high_open else "]"))
    return v


_INDEX_CALL = re.compile(r"\b(Sum|KroneckerDelta)\s*\(")


def index_notation(*texts):
    """Whether any formula of the command line is written with indices (calls Sum or
    KroneckerDelta): then every formula beside it may read arrays as x[i] too."""
    return any(isinstance(t, str) and _INDEX_CALL.search(t) for t in texts)


class Formulas:
    """The matrices declared with --matrix, and formulas and names read against them."""

    def __init__(self, declarations, indices=None):
        shapes = {}
        for text in declarations:
            name, shape = parse_matrix_decl(text)
            if name in shapes:
                raise ParseError("--matrix: %s is declared twice; declare each matrix once" % name)
            shapes[name] = shape
        self.shapes = shapes
        self.mats, self.dims = declare(shapes, "--matrix")
        self.arrays, self.integers = {}, set()      # index notation: x[i]; sizes and indices
        self.indices = indices or None

    def expr(self, text, what):
        out = parse_expr(text, matrices=self.shapes, what=what, indices=self.indices)
        self.arrays.update({str(b): b for b in out.atoms(sp.IndexedBase)})
        self.integers.update(str(s) for s in out.atoms(sp.Symbol) if s.is_integer)
        return out

    def relation(self, text):
        return parse_relation(text, matrices=self.shapes)

    def symbol(self, text, option):
        """The Symbol or declared MatrixSymbol a command-line name stands for."""
        name = parse_name(text, option)
        if name in self.dims:
            raise ParseError("%s: %s is a matrix dimension, not a symbol; dimensions are read "
                             "from the data's shapes" % (option, name))
        if name in self.integers:
            raise ParseError("%s: %s is an index or a size (a Sum bound) in the formula, not a "
                             "symbol; sizes are read from the arrays' shapes" % (option, name))
        return self.mats.get(name) or self.arrays.get(name) or sp.Symbol(name, real=True)

    def symbols(self, texts, option):
        return [self.symbol(t, option) for t in texts]


def _problem(args):
    """(formulas, expr, wrt, data args) of derive, check and codegen."""
    formulas = Formulas(args.matrix)
    expr = formulas.expr(args.expr, "EXPR")
    wrt = formulas.symbols(args.wrt, "--wrt")
    if args.args is not None:
        data = formulas.symbols(args.args, "--args")
    else:
        known = set(wrt) | set(formulas.dims.values())
        data = sorted((s for s in _inputs(expr) if s not in known), key=str)
    return formulas, expr, wrt, data


def _inputs(expr):
    """The free symbols of ``expr`` that are inputs: in index notation the arrays (x of
    x[i]) and real scalars, not the sizes and indices."""
    arrays = expr.atoms(sp.IndexedBase)
    if not arrays:
        return expr.free_symbols
    labels = {a.label for a in arrays}
    return arrays | {s for s in expr.free_symbols if isinstance(s, sp.Symbol)
                     and not s.is_integer and s not in labels}


def _unused(expr, symbols):
    """Notes for parameters that do not occur in ``expr`` (their gradient is zero)."""
    present = expr.free_symbols | expr.atoms(sp.MatrixSymbol, sp.IndexedBase)
    return ["note: %s does not occur in EXPR; its gradient is 0" % s
            for s in symbols if s not in present]


# --- derive, check, codegen ---------------------------------------------------------------------

def _show(expr, style):
    if style == "latex":
        return sp.latex(expr)
    if style == "pretty":
        return sp.pretty(expr, use_unicode=_unicode_ok(), num_columns=100)
    return to_text(expr, fallback=True)          # the syntax symgrad reads back


def _unicode_ok():
    try:
        "\u2202\u2500\u239b".encode(getattr(sys.stdout, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _line(label, expr, style):
    if style == "latex":
        return "%s = %s" % (label, _show(expr, style))
    text = _show(expr, style)
    return "%s =%s%s" % (label, "\n" if "\n" in text else " ", text)


def run_derive(args):
    if args.steps is not None:                     # the sheet instead (cli/steps.py)
        return run_sheet(args, *_problem(args)[1:3], integer(args.seed, "--seed", 0, MAX_SEED))
    style = "latex" if args.latex else "pretty" if args.pretty else "plain"
    seed = integer(args.seed, "--seed", 0, MAX_SEED)
    _, expr, wrt, data = _problem(args)
    compiled = value_and_grad(expr, wrt, data, backend=args.backend)   # bad input fails here
    grads = compiled.symbolic_grads                # derived once; check_grad reuses them
    print(_line("f", expr, style))
    labels = [at for at, _ in compiled.grad_targets] if isinstance(compiled, IndexGradFunction) \
        else wrt                                   # index notation: d/dw[j]
    for w, g in zip(labels, grads):
        label = "\\frac{\\partial f}{\\partial %s}" % sp.latex(w) if style == "latex" \
            else "d/d%s" % w
        print(_line(label, g, style))
    for note in _unused(expr, wrt):
        print(note)
    if getattr(args, "stable", False):
        if isinstance(compiled, IndexGradFunction):
            raise ArgumentError("--stable prints the rewritten matrix graph; it is not available "
                                "for index notation (the generated code, --code, shows it)")
        loss, stable = compiled.stable_form
        print("stable form, as the generated code computes it:")
        print(_line("  f", loss, style))
        for w, g in zip(wrt, stable):
            print(_line("  d/d%s" % w, g, style))
    if args.code:
        print()
        print(compiled.source, end="")
    if args.no_check:
        return 0
    report = check_grad(expr, wrt, data, seed=seed) if isinstance(compiled, IndexGradFunction) \
        else check_grad(_numpy_out(compiled), seed=seed)
    if args.code:
        print()
    if report.ok:                                   # the verdict, kinks and notes; no table
        lines = str(report).replace(" vs generated ", " vs generated %s" % {
            "numpy": "", "jax": "JAX ", "torch": "PyTorch "}[compiled.backend], 1).splitlines()
        print("\n".join(lines[:1] + [line for line in lines
                                       if line.startswith(("not differentiable:", "note:"))]))
        return 0
    print(report)
    return 1


class _NumpyOut(GradFunction):
    """A JAX or torch GradFunction whose calls return NumPy values, for check_grad."""

    def __call__(self, *values):
        value, grads = GradFunction.__call__(self, *values)
        return np.asarray(value), tuple(np.asarray(g) for g in grads)


def _numpy_out(f):
    if f.backend == "numpy":
        return f
    out = copy.copy(f)
    out.__class__ = _NumpyOut
    return out


def run_check(args):
    seed = integer(args.seed, "--seed", 0, MAX_SEED)
    points = integer(args.points, "--points", 1, 100)
    formulas, expr, wrt, data = _problem(args)
    values = {}
    for text in args.values:
        name, value = parse_assignment(text)
        symbol = formulas.symbol(name, "--values")
        if isinstance(symbol, (sp.MatrixSymbol, sp.IndexedBase)):
            kind = ("a matrix", "matrices") if isinstance(symbol, sp.MatrixSymbol) else \
                ("an array", "arrays")
            raise ParseError("--values: %s is %s; --values fixes scalar symbols only (%s are "
                             "drawn at random)" % (name, kind[0], kind[1]))
        if symbol in values:
            raise ParseError("--values: %s is given twice" % name)
        values[symbol] = float(value)
    report = check_grad(expr, wrt, data, values=values, seed=seed, points=points)
    for note in _unused(expr, wrt):
        print(note)
    print(report)
    return 0 if report.ok else 1


def run_codegen(args):
    if args.output is not None:
        check_target(args.output, force=args.force)
    _, expr, wrt, data = _problem(args)
    f = value_and_grad(expr, wrt, data, backend=args.backend)
    if args.output is None:
        print(f.source, end="")
        return 0
    write_atomic(args.output, f.source, force=args.force)
    print("wrote %s: value(%s) and value_and_grad(%s)" % (
        args.output, ", ".join(map(str, f.inputs)), ", ".join(map(str, f.inputs))))
    return 0


# --- fit and prove: thin calls into symgrad.train, symgrad.data and symgrad.prove -------------


def _optimizer(args):
    kwargs = {}
    searching = args.optimizer in ("newton", "lbfgs")
    for option, value, owner in (("--lr", args.lr, not searching),
                                 ("--damping", args.damping, args.optimizer == "newton"),
                                 ("--memory", args.memory, args.optimizer == "lbfgs")):
        if value is not None and not owner:
            raise ArgumentError("%s does not apply to --optimizer %s%s" % (
                option, args.optimizer, ": it picks its steps by a line search" if option == "--lr"
                else ""))
    if args.lr is not None:
        kwargs["lr"] = number(args.lr, "--lr", 0, 1e6)
    if args.damping is not None:
        kwargs["damping"] = number(args.damping, "--damping", 0, 1e6, low_open=False)
    if args.memory is not None:
        kwargs["memory"] = integer(args.memory, "--memory", 1, 1000)
    if args.batch_size is not None:
        if args.optimizer in ("gd", "newton", "lbfgs"):
            raise ArgumentError("--batch-size: %s is full-batch; use --optimizer sgd (or "
                                "momentum, nesterov, adam) for mini-batches" % args.optimizer)
        kwargs["batch_size"] = integer(args.batch_size, "--batch-size", 1, 10 ** 9)
    return make_optimizer(args.optimizer, **kwargs)


def _format(v):
    if np.ndim(v) == 0:
        return "%.10g" % float(v)
    return np.array2string(np.asarray(v), precision=10, separator=", ")


def run_fit(args):
    steps = integer(args.steps, "--steps", 1, MAX_STEPS)
    seed = integer(args.seed, "--seed", 0, MAX_SEED)
    validation = None if args.validation is None else \
        number(args.validation, "--validation", 0, 1, high_open=True)
    patience = None if args.early_stopping is None else \
        integer(args.early_stopping, "--early-stopping", 1, MAX_STEPS)
    if args.out is not None:
        check_target(args.out, force=args.force)        # before training, not after
    loss = parse_expr(args.expr, what="EXPR")
    arrays = _csv_arrays(loss)                  # index notation: x[i] is a CSV column
    params = {}
    for text in args.params:
        name, value = parse_assignment(text)
        if name in arrays:
            raise ArgumentError("--params: %s is an array (read as %s[...]); the command line "
                                "fits scalar parameters (use symgrad.fit for array ones)"
                                % (name, name))
        symbol = sp.Symbol(name, real=True)
        if symbol in params:
            raise ParseError("--params: %s is given twice" % name)
        params[symbol] = float(value)
    optimizer = _optimizer(args)
    names = sorted(str(s) for s in _inputs(loss) if s not in params)
    if names and args.data is None:
        raise ArgumentError("the loss has data symbols (%s); give --data FILE.csv with a column "
                            "for each" % ", ".join(names))
    columns = load_csv(args.data, names) if names else {}
    clash = [str(s) for s in params if args.data and str(s) in csv_columns(args.data)]
    if clash:
        raise ArgumentError("%s is both a parameter (--params) and a column of %s; rename the "
                            "parameter or the column" % (clash[0], args.data))
    data = {arrays.get(n) or sp.Symbol(n, real=True): columns[n] for n in names}
    res = fit(loss, params, data, optimizer, steps, validation=validation,
                    early_stopping=patience, seed=seed, backend=args.backend)
    for symbol, value in res.params.items():
        print("%s = %s" % (symbol, _format(value)))
    line = "final loss = %.10g after %d steps" % (res.final_loss, len(res.history))
    if res.final_val_loss is not None:
        line += " (validation loss %.10g)" % res.final_val_loss
    if res.stopped_early:
        line += "; stopped early, best after %d steps" % res.best_step
    if res.converged:
        line += "; converged (no step lowers the loss further)"
    print(line)
    if args.out is not None:
        save_result_json(args.out, res, force=args.force)
        print("wrote %s" % args.out)
    return 0


def _csv_arrays(loss):
    """{name: IndexedBase} of a loss in index notation; each must be read with one index
    (a column of the CSV file, its rows the index's range)."""
    arrays = {}
    for a in loss.atoms(sp.Indexed):
        if len(a.indices) != 1:
            raise ArgumentError("%s is read with %d indices; symgrad fit reads each array as one "
                                "CSV column (x[i]); use symgrad.fit for arrays of higher rank"
                                % (a.base, len(a.indices)))
        arrays[str(a.base)] = a.base
    return arrays


def run_prove(args):
    paths = list(args.paths) if args.paths else shipped_proofs()
    limit = {} if args.timeout is None else {"timeout": number(args.timeout, "--timeout", 0, 1e5)}
    return run_proofs(paths=paths, report=args.report, force=args.force, **limit)


def shipped_proofs() -> list:
    """The default proof directory: ./proofs in a checkout (the source of truth), else the copy
    an installed package ships as ``symgrad/proofs`` (mapped from proofs/ by setup.py)."""
    if os.path.isdir("proofs"):
        return ["proofs"]
    shipped = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "proofs")
    return [shipped] if os.path.isdir(shipped) else ["proofs"]     # claims.py explains the miss
