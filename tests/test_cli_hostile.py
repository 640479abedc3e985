"""The ``symgrad`` command line refuses hostile and malformed input: one line on stderr, a
non-zero exit, no traceback, nothing executed or written; checked in-process and in real
``python -m symgrad`` processes."""
import pytest

from cli_helpers import one_error_line, run, run_process

LOSS = "(w*x + b - y)**2"


# --- hostile and malformed command lines ---------------------------------------------------

HOSTILE = [
    (["derive", "__import__('os').system('touch PWNED')", "--wrt", "x"], "calling an attribute"),
    (["derive", "open('PWNED', 'w')", "--wrt", "x"], "unknown function"),
    (["derive", "().__class__.__bases__[0].__subclasses__()", "--wrt", "x"], "not allowed"),
    (["derive", "lambda: 1", "--wrt", "x"], "lambda"),
    (["derive", "[x for x in y]", "--wrt", "x"], "comprehension"),
    (["derive", 'f"{x}"', "--wrt", "x"], "f-string"),
    (["derive", "x.real", "--wrt", "x"], "attribute .real"),
    (["derive", "x[0]", "--wrt", "x"], "subscript"),
    (["derive", "9**9**9**9", "--wrt", "x"], "exponent above"),
    (["derive", "(" * 10_000 + "x" + ")" * 10_000, "--wrt", "x"], "too deeply nested"),
    (["derive", "+".join(["x"] * 50_000), "--wrt", "x"], "too long"),
    (["derive", "", "--wrt", "x"], "empty"),
    (["derive", "x\x00", "--wrt", "x"], "not allowed"),
    (["derive", "x; import os", "--wrt", "x"], "not a valid expression"),
    (["derive", "x**2", "--wrt", "w-1"], "not a valid name"),
    (["derive", "x**2", "--wrt", "1x"], "not a valid name"),
    (["derive", "x**2", "--wrt", "__class__"], "may not start with _"),
    (["derive", "x**2", "--wrt", "exp"], "function name"),
    (["derive", "x**2", "--wrt", "x", "x"], "more than once"),
    (["frobnicate", "x"], "invalid choice"),
    (["derive", "--wrt", "x"], "required: EXPR"),
    (["derive", "-x", "--wrt", "x"], "goes after --"),
    (["--bogus"], "required: COMMAND"),       # bare `symgrad` prints the help (test_display.py)
    (["derive", "x", "--wrt", "x", "--bogus"], "unrecognized arguments: --bogus"),
    (["derive", "X @ X", "--wrt", "X", "--matrix", "X:n,d"], "inner dimensions differ"),
    (["derive", "sum(X)", "--wrt", "X", "--matrix", "X:n"], "2 dimensions"),
    (["derive", "sum(X)", "--wrt", "X", "--matrix", "X:n,d", "X:n,d"], "declared twice"),
    (["derive", "sum(X)", "--wrt", "n", "--matrix", "X:n,d"], "dimension, not a symbol"),
    (["derive", "x", "--wrt", "x", "--latex", "--pretty"], "not allowed with"),
    (["check", "w*x", "--wrt", "w", "--values", "w=abc"], "not a number"),
    (["check", "w*x", "--wrt", "w", "--values", "w=__import__('os')"], "not a number"),
    (["check", "w*x", "--wrt", "w", "--values", "z=1"], "neither wrt nor args"),
    (["check", "w*x", "--wrt", "w", "--points", "0"], "from 1 to 100"),
    (["check", "w*x", "--wrt", "w", "--seed", "-1"], "whole number"),
    (["codegen", "w*x", "--wrt", "w", "-o", "/nonexistent-dir/m.py"], "does not exist"),
    (["codegen", "X @ W", "--wrt", "W", "--matrix", "X:n,d", "W:d,k"], "scalar-valued"),
    (["verify", "x", "x", "--grad-of", "x**2", "--wrt", "x"], "not both"),
    (["verify", "x", "--grad-of", "x*y", "--wrt", "x", "y"], "exactly one"),
    (["verify", "x"], "give REFERENCE"),
    (["verify", "x", "x", "--relation", "=>"], "invalid choice"),
    (["verify", "x", "x", "--assume", "x"], "not a comparison"),
    (["verify", "x", "x", "--assume", "x > 0 or __import__('os')"], "not a comparison"),
    (["verify", "x", "x", "--budget", "1e9"], "--budget"),
    (["verify", "x", "x", "--budget", "nan"], "--budget"),
    (["fit", "(w*x - y)**2", "--params", "w=0", "--data", "no-such-file.csv"], "cannot read"),
    (["fit", "(w*x - y)**2", "--params", "w=0"], "give --data"),
    (["fit", "(w*x - y)**2", "--params", "w=0", "--steps", "10000000000"], "--steps"),
    (["fit", "(w*x - y)**2", "--params", "w=0", "--lr", "-1"], "--lr"),
    (["fit", "(w*x - y)**2", "--params", "w"], "NAME=NUMBER"),
    (["prove", "--report"], "expected one argument"),
    (["derive", "log(x, 0)", "--wrt", "x"], "base must be positive and not 1"),
    (["derive", "log(x, -2)", "--wrt", "x"], "base must be positive and not 1"),
]


@pytest.mark.parametrize("argv, words", HOSTILE, ids=[repr(" ".join(a))[:50] for a, _ in HOSTILE])
def test_hostile_command_lines_are_refused_with_one_line(capsys, monkeypatch, tmp_path, argv,
                                                         words):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert words in one_error_line(err)
    assert list(tmp_path.iterdir()) == []               # nothing ran, nothing was written


# --- real processes: exit codes, and never a traceback ---------------------------------------

@pytest.mark.parametrize("argv, code, stream", [
    (["derive", LOSS, "--wrt", "w", "b"], 0, "d/dw = 2*x*(b + w*x - y)"),
    (["verify", "sqrt(x**2)", "x"], 1, "verdict: refuted"),
    (["derive", "__import__('os').system('touch PWNED')", "--wrt", "x"], 2, None),
    (["derive", "(" * 10_000 + "x" + ")" * 10_000, "--wrt", "x"], 2, None),
    (["derive", "x" + "+x" * 50_000, "--wrt", "x"], 2, None),
    (["nope"], 2, None),
    (["check", "w*x", "--wrt", "w", "--values", "w=abc"], 2, None),
])
def test_processes_exit_with_the_right_code_and_no_traceback(tmp_path, argv, code, stream):
    returncode, out, err = run_process(*argv, cwd=tmp_path)
    assert returncode == code, err
    if stream is None:
        one_error_line(err)
        assert out == ""
    else:
        assert err == "" and stream in out
    assert list(tmp_path.iterdir()) == []


def test_process_help_and_in_process_output_agree(capsys, tmp_path):
    returncode, out, err = run_process("--help", cwd=tmp_path)
    assert returncode == 0 and err == ""
    assert out == run(capsys, "--help")[1]


# --- values too large to evaluate or to hold ------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["verify", "exp(exp(exp(x)))", "exp(exp(exp(x)))"],
    ["derive", "exp(exp(exp(exp(exp(x)))))", "--wrt", "x"],
    ["derive", "x**x**x**x**x**x**x", "--wrt", "x"],
])
def test_astronomically_large_values_do_not_hang(capsys, argv):
    # Exact evaluation of exp(exp(exp(17))) never finishes; such points are skipped.
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "proven" in out or "check_grad: OK" in out


@pytest.mark.parametrize("text", ["1e200*1e200*x", "10**400*x"])
def test_constants_beyond_float_range_are_bad_input(capsys, text):
    code, out, err = run(capsys, "derive", text, "--wrt", "x")
    assert code == 2 and out == ""                 # refused before anything is printed
    assert one_error_line(err) and "beyond float64's range" in err


# --- bad targets are refused before any work ----------------------------------------------------

def test_prove_refuses_what_is_not_a_proof_file(capsys, tmp_path):
    (tmp_path / "data.csv").write_text("x,y\n1,2\n")
    (tmp_path / "broken.py").write_text("x = (\n")
    (tmp_path / "empty.py").write_text("A = 1\n")
    code, out, err = run(capsys, "prove", str(tmp_path / "data.csv"))
    assert code == 2 and out == "" and "not a Python file" in one_error_line(err)
    # a Python file that does not load is a failed row (the other files still run: test_prove_isolation)
    for name, words in (("broken.py", "SyntaxError"), ("empty.py", "no CLAIMS")):
        code, out, err = run(capsys, "prove", str(tmp_path / name))
        assert code == 1 and err == "" and "could not be loaded" in out and words in out


def test_outputs_are_checked_before_the_work(capsys, tmp_path):
    existing = tmp_path / "report.md"
    existing.write_text("keep me")
    code, out, err = run(capsys, "prove", "proofs/backprop.py", "--report", str(existing))
    assert code == 2 and out == "" and "already exists" in one_error_line(err)   # no claim ran
    assert existing.read_text() == "keep me"
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4\n")
    code, out, err = run(capsys, "fit", "(w*x - y)**2", "--params", "w=0", "--data", str(data),
                         "--out", str(tmp_path / "missing" / "out.json"))
    assert code == 2 and out == "" and "does not exist" in one_error_line(err)    # no training
    code, out, err = run(capsys, "codegen", "x**2", "--wrt", "x", "-o", "")
    assert code == 2 and "empty" in one_error_line(err)
