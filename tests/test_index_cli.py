"""Index notation on the command line: ``symgrad derive "Sum(...)"`` read by the whitelist
parser (symgrad/parse/index.py), never evaluated; hostile index text is one error line."""
import pytest
import sympy as sp

from cli_helpers import one_error_line, run, run_process
from symgrad.parse import parse_expr, to_text

MSE = "Sum((Sum(w[j]*x[i, j], (j, 0, d - 1)) + b - y[i])**2, (i, 0, n - 1))/n"


def test_derive_prints_an_index_gradient_and_checks_it(capsys):
    code, out, err = run(capsys, "derive", MSE, "--wrt", "w", "b")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1].startswith("d/dw[j] = Sum(") and "x[i, j]" in lines[1]
    assert lines[2].startswith("d/db = Sum(")
    assert lines[3].startswith("check_grad: OK")
    g = parse_expr(lines[1].split(" = ", 1)[1], indices=True)   # the printed gradient reads back
    assert g.atoms(sp.Indexed) and not g.has(sp.KroneckerDelta)


def test_check_codegen_and_fit_take_index_notation(capsys, tmp_path):
    code, out, _ = run(capsys, "check", "Sum(softplus(w*x[i] + b) - y[i]*(w*x[i] + b), (i, 0, n - 1))",
                       "--wrt", "w", "b")
    assert code == 0 and out.startswith("check_grad: OK")
    code, out, _ = run(capsys, "codegen", MSE, "--wrt", "w", "b")
    assert code == 0 and "def value_and_grad(w, b, x, y):" in out and "for " not in out.split('"""')[-1]
    data = tmp_path / "line.csv"
    data.write_text("x,y\n0,1\n1,3\n2,5\n3,7\n")
    code, out, _ = run(capsys, "fit", "Sum((w*x[i] + b - y[i])**2, (i, 0, n - 1))/n",
                       "--params", "w=0", "b=0", "--data", str(data), "--optimizer", "lbfgs",
                       "--steps", "50")
    assert code == 0
    values = dict(line.split(" = ") for line in out.splitlines()[:2])
    assert abs(float(values["w"]) - 2) < 1e-6 and abs(float(values["b"]) - 1) < 1e-6


def test_verify_compares_a_hand_gradient_in_index_notation(capsys):
    code, out, _ = run(capsys, "verify", "2*w[j]*x[j]", "--grad-of", "Sum(w[j]**2*x[j], (j, 0, d - 1))",
                       "--wrt", "w")
    assert code == 0 and "proven" in out
    code, out, _ = run(capsys, "verify", "w[j]*x[j]", "--grad-of", "Sum(w[j]**2*x[j], (j, 0, d - 1))",
                       "--wrt", "w")
    assert code == 1 and "refuted" in out


@pytest.mark.parametrize("free, summed", [("j", "k"), ("k", "j")])
def test_verify_grad_of_reads_the_gradient_at_the_hands_free_index(capsys, free, summed):
    # found by a probe: the gradient chose its own free index, so a right hand written in
    # another letter was refuted (the two sides spoke of different entries)
    hand = "Sum(2*(Sum(w[%s]*x[i, %s], (%s, 0, d - 1)) - y[i])*x[i, %s], (i, 0, n - 1))" % (
        summed, summed, summed, free)
    loss = "Sum((Sum(w[%s]*x[i, %s], (%s, 0, d - 1)) - y[i])**2, (i, 0, n - 1))" % ((summed,) * 3)
    code, out, _ = run(capsys, "verify", hand, "--grad-of", loss, "--wrt", "w")
    assert code == 0 and "proven" in out, out
    code, out, _ = run(capsys, "verify", hand.replace("*x[i, %s], (i" % free, "*x[i, %s]*3, (i" % free),
                       "--grad-of", loss, "--wrt", "w")
    assert code == 1 and "refuted" in out, out


def test_index_text_round_trips_through_to_text():
    e = parse_expr("Sum(KroneckerDelta(i, k)*W[i, k] + x[i + 1], (i, 0, n - 2), (k, 0, d - 1)) + b")
    assert parse_expr(to_text(e)) == e
    i, k = sp.symbols("i k", integer=True)
    assert e.has(sp.KroneckerDelta(i, k)) and all(s.is_integer for s in (i, k))


HOSTILE = [
    ("Sum(x[__import__('os')], (i, 0, n - 1))", "may not start with _"),
    ("Sum(x[i].real, (i, 0, n - 1))", "attribute"),
    ("Sum(x[i][i], (i, 0, n - 1))", "only a name can be read with a subscript"),
    ("Sum(x[1:3], (i, 0, n - 1))", "not an index position"),
    ("Sum(x[i*i], (i, 0, n - 1))", "not an index position"),
    ("Sum(x[0.5 + i], (i, 0, n - 1))", "not an index position"),
    ("Sum(x[i], i)", "not a Sum limit"),
    ("Sum(x[i], (i, 0))", "not a Sum limit"),
    ("Sum(x[i], (i, 0, exp(n)))", "not a Sum bound"),
    ("Sum(x[i], (i, 0, 10**100))", "not a Sum bound"),
    ("Sum(x[i], (i, 0, n - 1), (i, 0, n - 1))", "binds an index twice"),
    ("Sum(x[i], (i, 0, n - 1), key=1)", "keyword"),
    ("Sum(x[i])", "1 to 8 limits"),
    ("Sum(x[i] + x, (i, 0, n - 1))", "without a subscript"),
    ("Sum(x[i] + x[i, i], (i, 0, n - 1))", "with 2 indices here and 1 elsewhere"),
    ("Sum(exp[i], (i, 0, n - 1))", "function or constant"),
    ("Sum(x[n], (n, 0, n - 1))", "both an index and a size"),
    ("Sum(x[i], (x, 0, n - 1))", "both an array"),
    ("Sum(x[_i], (_i, 0, n - 1))", "may not start with _"),
    ("KroneckerDelta(i)", "takes 2 arguments"),
    ("Sum(x[i, i, i, i, i, i, i, i, i], (i, 0, n - 1))", "1 to 8 indices"),
]


@pytest.mark.parametrize("text, message", HOSTILE)
def test_hostile_index_text_is_one_error_line(capsys, text, message):
    code, out, err = run(capsys, "derive", text, "--wrt", "b")
    assert code == 2 and out == ""
    assert message in one_error_line(err)


def test_a_size_or_an_index_named_as_an_argument_is_refused(capsys):
    for option in ("--wrt", "--args"):
        argv = ["derive", MSE, "--wrt", "w", "b"] + (["--args", "n", "x", "y"] if option == "--args" else [])
        if option == "--wrt":
            argv = ["derive", MSE, "--wrt", "n"]
        code, _, err = run(capsys, *argv)
        assert code == 2 and "n is an index or a size" in one_error_line(err)
    code, _, err = run(capsys, "fit", "Sum((W[i, i] - y[i])**2, (i, 0, n - 1))", "--params", "b=0",
                       "--data", "none.csv")
    assert code == 2 and "one CSV column" in one_error_line(err)


def test_nothing_is_executed_in_a_real_process(tmp_path):
    code, out, err = run_process("derive", "Sum(x[__import__('os').system('touch PWNED')], "
                                 "(i, 0, n - 1))", "--wrt", "b", cwd=tmp_path)
    assert code == 2 and not (tmp_path / "PWNED").exists()
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_values_fixes_scalars_not_arrays(capsys):
    code, _, err = run(capsys, "check", "Sum((w*x[i] + b - y[i])**2, (i, 0, n - 1))", "--wrt", "w",
                       "--values", "x=0.5")
    assert code == 2 and "x is an array" in one_error_line(err)
    code, out, _ = run(capsys, "check", "Sum((w*x[i] + b - y[i])**2, (i, 0, n - 1))", "--wrt", "w",
                       "--values", "b=0.5")
    assert code == 0 and out.startswith("check_grad: OK")
