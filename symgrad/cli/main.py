"""The ``symgrad`` command line: derive, check, codegen, verify, fit and prove.

``main(argv)`` parses the arguments, runs one command from
:mod:`symgrad.cli.commands` and returns the exit code; it never raises and
never prints a traceback. Every formula, name, number and matrix declaration on
the command line is read by :mod:`symgrad.parse`, so nothing the user types is
executed. Symbols are real; free symbols not named in ``--wrt`` are data.

Exit codes: 0 done (and verified), 1 a check, verification, proof or training
run failed, 2 bad input (one line on stderr says what), 3 an internal error.

>>> main(["derive", "(w*x - y)**2", "--wrt", "w", "--no-check"])
f = (w*x - y)**2
d/dw = 2*x*(w*x - y)
0
"""
import argparse
import re
import sys
import textwrap
import warnings

from .. import __version__
from .commands import run_check, run_codegen, run_derive, run_fit, run_prove
from .verifying import run_verify
from .steps import add_derive_options, add_verify_options
from ..parse.tables import CONSTANTS, FUNCTIONS, MATRIX_FUNCTIONS, MAX_ARGS, arity_text
from ..errors import ParseError, ProofFailure, SymgradError, TrainingDiverged

COMMANDS = {"derive": run_derive, "check": run_check, "codegen": run_codegen,
            "verify": run_verify, "fit": run_fit, "prove": run_prove}

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_BAD_INPUT", "EXIT_INTERNAL"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
MAX_MESSAGE = 1000           # characters of one error line

# An argument that starts with "-" but cannot be an option name ("-x**2", "-(a + b)", "-2*w")
# is a formula, not an unknown option.
_OPTION_LIKE = re.compile(r"--?[A-Za-z][\w-]*(=.*)?\Z", re.DOTALL)


class _Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line raises ParseError (one line) instead of printing
    usage and exiting."""

    seen = ()
    commands = None                  # the top-level parser: {name: subparser}

    def parse_known_args(self, args=None, namespace=None):
        self.seen = list(args or ())
        return super().parse_known_args(args, namespace)

    def error(self, message):
        hint = "see `%s --help`" % self.prog
        unknown = [a for a in self.seen if _OPTION_LIKE.match(a) and not a.startswith("--")
                   and a not in self._option_string_actions]
        if unknown and self.commands is None:
            hint = "%s is not an option of `%s`; a formula that starts with - goes after --, " \
                   "e.g. `%s --wrt x -- -x`" % (unknown[0][:40], self.prog, self.prog)
        raise ParseError("%s; %s" % (message, hint))

    def _parse_optional(self, arg_string):
        if arg_string.startswith("-") and arg_string != "--" and len(arg_string) > 1 \
                and not _OPTION_LIKE.match(arg_string):
            return None
        return super()._parse_optional(arg_string)


# --- help text ------------------------------------------------------------------------------

def _grouped(table):
    """'1 argument: exp, log1p, ...' lines: the names of a function table grouped by arity."""
    groups = {}
    for name, (_, (low, high)) in table.items():
        groups.setdefault(arity_text((low, high or MAX_ARGS)), []).append(name)
    return ["%s: %s" % (arity, ", ".join(names)) for arity, names in groups.items()]


def _wrap(lines, indent="  "):
    return "\n".join(textwrap.fill(line, 88, initial_indent=indent,
                                   subsequent_indent=indent + "    ") for line in lines)


def _formula_help():
    return "\n".join([
        "formulas (EXPR, HAND, REFERENCE, --assume):",
        "  numbers (0.1 is exactly 1/10), names (real symbols), + - * / **, and where(c, a, b)",
        "  with comparisons < <= > >= == != joined by & | ~. Constants: %s." % ", ".join(CONSTANTS),
        "",
        "functions (applied elementwise to one matrix argument):",
        _wrap(_grouped(FUNCTIONS)),
        "",
        "index notation (a formula that calls Sum or KroneckerDelta): Sum(body, (i, 0, n - 1)),",
        "  x[i, j], x[i + k, c], KroneckerDelta(i, j); names in Sum bounds are sizes, read from",
        "  the data's shapes; a name read as x[...] is an array (a CSV column for fit).",
        "",
        "matrix functions (declare matrices with --matrix X:n,d W:d,k; @ is the matrix",
        "product, * / ** are elementwise, M.T transposes):",
        _wrap(_grouped(MATRIX_FUNCTIONS)),
        "",
        "exit codes: 0 done (and verified), 1 a check, verification, proof or training run",
        "failed, 2 bad input, 3 internal error. Errors are one line on stderr.",
    ])


_EXAMPLES = {
    "derive": ["symgrad derive '(w*x + b - y)**2' --wrt w b",
               "symgrad derive 'sum((X @ W - Y)**2)/n' --wrt W --matrix X:n,d W:d,k Y:n,k --latex",
               "symgrad derive 'sum((X @ W - Y)**2)/n' --wrt W --matrix X:n,d W:d,k Y:n,k --steps",
               "symgrad derive 'Sum((Sum(w[j]*x[i, j], (j, 0, d - 1)) - y[i])**2, (i, 0, n - 1))' "
               "--wrt w"],
    "check": ["symgrad check 'log(1 + exp(w*x))' --wrt w --values w=0.5 x=2"],
    "codegen": ["symgrad codegen '(w*x + b - y)**2' --wrt w b -o model_grad.py"],
    "verify": ["symgrad verify 'sqrt(x**2)' 'x' --assume 'x > 0'",
               "symgrad verify '2*x*(w*x - y)' --grad-of '(w*x - y)**2' --wrt w",
               "symgrad verify --steps derivation.txt   (one formula per line: see --steps)"],
    "fit": ["symgrad fit '(w*x + b - y)**2' --params w=0 b=0 --data line.csv --lr 0.01 "
            "--steps 1000",
            "symgrad fit '(w*x + b - y)**2' --params w=0 b=0 --data line.csv --optimizer newton "
            "--steps 1"],
    "prove": ["symgrad prove proofs/ --report proofs.txt"],
}


def _epilog(command):
    return "example%s:\n%s" % ("s" if len(_EXAMPLES[command]) > 1 else "",
                               "\n".join("  " + e for e in _EXAMPLES[command]))


# --- the parser -------------------------------------------------------------------------------

def _formula_options(p, wrt=True, args=True, matrix=True):
    if wrt:
        p.add_argument("--wrt", nargs="+", required=True, metavar="NAME",
                       help="the parameters to differentiate with respect to")
    if args:
        p.add_argument("--args", nargs="+", metavar="NAME",
                       help="the data arguments, in order (default: the other free symbols, "
                            "sorted by name)")
    if matrix:
        p.add_argument("--matrix", nargs="+", action="extend", default=[], metavar="NAME:ROWS,COLS",
                       help="declare matrices, e.g. X:n,d W:d,k (dimensions: names or numbers)")


def _backend_option(p, what):
    p.add_argument("--backend", default="numpy", choices=["numpy", "jax", "torch"],
                   help=what + " (default numpy; jax and torch need pip install symgrad[jax|torch])")


def build_parser():
    """The argparse parser of the ``symgrad`` command (errors raise ParseError)."""
    parser = _Parser(prog="symgrad", allow_abbrev=False,
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Symbolic gradients for machine learning: derive, check, "
                                 "generate NumPy code, verify hand-derived math.",
                     epilog=_formula_help())
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.commands = {}

    def command(name, summary):
        p = sub.add_parser(name, help=summary, description=summary, allow_abbrev=False,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog=_epilog(name))
        p.set_defaults(run=COMMANDS[name])
        parser.commands[name] = p
        return p

    for name, summary, arguments in (
        ("derive", "print the gradient of EXPR, then check it three ways", _derive_arguments),
        ("check", "compare symbolic, finite-difference and generated gradients of EXPR",
         _check_arguments),
        ("codegen", "write the standalone NumPy (or JAX, torch) module of EXPR and its gradients",
         _codegen_arguments),
        ("verify", "decide whether HAND equals (or bounds) REFERENCE: proven, probable or refuted",
         _verify_arguments),
        ("fit", "train the parameters of a loss on a CSV file (gradient descent, Newton, "
                "L-BFGS, ...)", _fit_arguments),
        ("prove", "run the machine-checked derivations in proofs/", _prove_arguments),
    ):
        arguments(command(name, summary))
    return parser


def _derive_arguments(p):
    """The arguments of ``symgrad derive``."""
    p.add_argument("expr", metavar="EXPR", help="the loss, e.g. '(w*x + b - y)**2'")
    _formula_options(p)
    style = p.add_mutually_exclusive_group()
    style.add_argument("--latex", action="store_true", help="print LaTeX")
    style.add_argument("--pretty", action="store_true", help="print 2-D text")
    p.add_argument("--code", action="store_true", help="also print the generated module")
    _backend_option(p, "the array library of the generated code, checked three ways")
    p.add_argument("--stable", action="store_true",
                   help="also print the numerically stable form the generated code computes")
    p.add_argument("--no-check", action="store_true", help="skip the three-way check")
    p.add_argument("--seed", default="0", metavar="N", help="seed of the check's random points")
    add_derive_options(p)


def _check_arguments(p):
    """The arguments of ``symgrad check``."""
    p.add_argument("expr", metavar="EXPR", help="the loss")
    _formula_options(p)
    p.add_argument("--values", nargs="+", action="extend", default=[], metavar="NAME=NUMBER",
                   help="fix scalar symbols (the others are drawn at random), e.g. w=0.5 x=2")
    p.add_argument("--seed", default="0", metavar="N", help="seed of the random points")
    p.add_argument("--points", default="3", metavar="N", help="random points (1 to 100)")


def _codegen_arguments(p):
    """The arguments of ``symgrad codegen``."""
    p.add_argument("expr", metavar="EXPR", help="the loss")
    _formula_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: print)")
    p.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    _backend_option(p, "the array library the module uses")


def _verify_arguments(p):
    """The arguments of ``symgrad verify``."""
    p.add_argument("hand", metavar="HAND", nargs="?", help="the hand-derived expression")
    p.add_argument("reference", metavar="REFERENCE", nargs="?",
                   help="what it should equal (or give --grad-of)")
    p.add_argument("--grad-of", metavar="EXPR", help="compare HAND with the gradient of EXPR")
    p.add_argument("--wrt", nargs="+", metavar="NAME", help="with --grad-of: the one parameter")
    p.add_argument("--relation", default="==", choices=["==", "<=", "<", ">=", ">"],
                   help="HAND <relation> REFERENCE (default ==)")
    p.add_argument("--assume", nargs="+", action="extend", default=[], metavar="RELATION",
                   help="what the symbols satisfy, e.g. 'x > 0' 'y1 + y2 == 1'")
    _formula_options(p, wrt=False, args=False)
    p.add_argument("--seed", default="0", metavar="N", help="seed of the random points")
    p.add_argument("--points", metavar="N", help="random points (1 to 1000; default 20 for ==, "
                                                 "60 for inequalities)")
    p.add_argument("--budget", default="5", metavar="SECONDS",
                   help="time for the symbolic proof routes (default 5, at most 600; "
                        "0: random points only)")
    add_verify_options(p)


def _fit_arguments(p):
    """The arguments of ``symgrad fit``."""
    p.add_argument("expr", metavar="EXPR", help="the per-sample loss, e.g. '(w*x + b - y)**2'")
    p.add_argument("--params", nargs="+", action="extend", required=True, metavar="NAME=NUMBER",
                   help="the parameters and their starting values, e.g. w=0 b=0")
    p.add_argument("--data", metavar="FILE.csv",
                   help="a CSV file with a header row; one column per data symbol")
    p.add_argument("--optimizer", default="gd", choices=["gd", "sgd", "momentum", "nesterov",
                                                          "adam", "newton", "lbfgs"],
                   help="default gd; newton and lbfgs pick their steps by a line search that "
                        "never raises the loss (no --lr)")
    p.add_argument("--lr", metavar="RATE", help="learning rate (default: the optimizer's, "
                                                "0.01; adam 0.001)")
    p.add_argument("--damping", metavar="MU", help="newton: the shift tried first when the "
                                                   "Hessian is not positive definite (default 1e-6)")
    p.add_argument("--memory", metavar="N", help="lbfgs: curvature pairs kept (default 10)")
    p.add_argument("--steps", default="1000", metavar="N", help="updates (1 to 1000000)")
    p.add_argument("--batch-size", metavar="N", help="mini-batch size (sgd: default 32)")
    p.add_argument("--validation", metavar="FRACTION", help="hold out this fraction of the rows")
    p.add_argument("--early-stopping", metavar="PATIENCE",
                   help="stop after this many steps without a new best loss")
    p.add_argument("--seed", default="0", metavar="N", help="seed of the split and the batches")
    p.add_argument("--out", metavar="FILE.json", help="write the parameters and loss history")
    _backend_option(p, "run the steps on it (jax: jitted lax.scan over the steps)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")


def _prove_arguments(p):
    """The arguments of ``symgrad prove``."""
    p.add_argument("paths", metavar="PATH", nargs="*", help="proof files or folders "
                                                           "(default: proofs/)")
    p.add_argument("--report", metavar="FILE", help="also write the report here")
    p.add_argument("--force", action="store_true", help="overwrite an existing report")
    p.add_argument("--timeout", metavar="SECONDS", help="stop a claim after this long (default: "
                                                        "4 times its budget + 30 s)")


def _version():
    import numpy
    import sympy
    return "symgrad %s (sympy %s, numpy %s)" % (__version__, sympy.__version__, numpy.__version__)


# --- main -------------------------------------------------------------------------------------

def _one_line(message):
    text = " ".join(str(message).split()) or "(no message)"
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _fail(kind, message, code):
    print("symgrad: %s: %s" % (kind, _one_line(message)), file=sys.stderr)
    return code


def main(argv=None):
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Nothing is raised: errors are one line on stderr and a non-zero code. With no
    arguments the full help goes to stderr and the code is 2, as for any missing
    argument.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # stderr carries errors only
            parser = build_parser()
            if not argv:                             # bare `symgrad`: the full help, exit 2
                parser.print_help(sys.stderr)        # (a missing COMMAND, as argparse would)
                return EXIT_BAD_INPUT
            args, extra = parser.parse_known_args(argv)
            if extra:                                # judged by the command's own options
                parser.commands[args.command].error("unrecognized arguments: %s"
                                                    % " ".join(a[:40] for a in extra[:3]))
            return args.run(args)
    except SystemExit as e:                          # --help and --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    except (TrainingDiverged, ProofFailure) as e:
        return _fail("failed", e, EXIT_FAILED)
    except SymgradError as e:
        return _fail("error", e, EXIT_BAD_INPUT)
    except BrokenPipeError:                          # e.g. `symgrad codegen ... | head`
        return EXIT_OK
    except OSError as e:                             # files: missing, unreadable, unwritable
        where = " %s" % e.filename if getattr(e, "filename", None) else ""
        return _fail("error", "%s%s" % (e.strerror or type(e).__name__, where), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        return _fail("error", "interrupted", 130)
    except Exception as e:                           # a symgrad bug: still one line
        return _fail("internal error", "%s: %s (please report it with the command line)"
                     % (type(e).__name__, e), EXIT_INTERNAL)
