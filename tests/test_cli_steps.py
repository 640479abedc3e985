"""``symgrad derive --steps`` (the backpropagation sheet) and ``symgrad verify --steps FILE`` (a
hand derivation checked line by line), including hostile steps files: one line on stderr, exit
2, no traceback, nothing executed."""
import os

import pytest

from cli_helpers import one_error_line, run, run_process
from symgrad.errors import ParseError
from symgrad.parse.steps import MAX_BYTES, MAX_STEPS, parse_steps

LINE = "(w*x + b - y)**2"
MLP = ("sum(logsumexp(tanh(X @ W1 + ones(n, 1) @ b1) @ W2 + ones(n, 1) @ b2))/n"
       " - tr(Y.T @ (tanh(X @ W1 + ones(n, 1) @ b1) @ W2 + ones(n, 1) @ b2))/n")
MLP_ARGS = ["--wrt", "W1", "b1", "W2", "b2", "--matrix", "X:n,d", "W1:d,h", "b1:1,h",
            "W2:h,k", "b2:1,k", "Y:n,k"]


# --- derive --steps -----------------------------------------------------------------------

def test_derive_steps_prints_the_checked_sheet(capsys):
    code, out, err = run(capsys, "derive", MLP, *MLP_ARGS, "--steps")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "forward:", "  Z1 = X*W1 + 𝟏*b1", "  H = tanh(Z1)", "  Z2 = H*W2 + 𝟏*b2",
        "  L = sum(logsumexp(Z2))/n - tr(Yᵀ*Z2)/n",
        "backward:", "  ∂L/∂Z2 = (softmax(Z2) - Y)/n", "  ∂L/∂W2 = Hᵀ*∂L/∂Z2",
        "  ∂L/∂b2 = 𝟏ᵀ*∂L/∂Z2", "  ∂L/∂H = ∂L/∂Z2*W2ᵀ", "  ∂L/∂Z1 = (1 - H**2) ⊙ ∂L/∂H",
        "  ∂L/∂W1 = Xᵀ*∂L/∂Z1", "  ∂L/∂b1 = 𝟏ᵀ*∂L/∂Z1",
        "each step checked against grad: 11 the same expression"]


def test_derive_steps_as_markdown_and_latex(capsys):
    code, out, _ = run(capsys, "derive", LINE, "--wrt", "w", "b", "--steps", "markdown")
    assert code == 0 and out.startswith("**Forward**\n\n- $z = b + w x - y$\n")
    assert r"- $\frac{\partial L}{\partial w} = 2 x z$" in out
    assert out.endswith("\n\n*each step checked against grad: 5 the same expression*\n")
    code, out, _ = run(capsys, "derive", LINE, "--wrt", "w", "b", "--steps", "latex")
    assert code == 0 and out.startswith("\\begin{aligned}\nz &= b + w x - y \\\\\n")
    assert "\\end{aligned}\n% each step checked" in out


@pytest.mark.parametrize("argv, message", [
    (["derive", LINE, "--wrt", "w", "--steps", "--latex"], "drop --latex"),
    (["derive", LINE, "--wrt", "w", "--steps", "--code"], "drop --code"),
    (["derive", LINE, "--wrt", "w", "--steps", "html"], "invalid choice: 'html'"),
    (["derive", "--steps", LINE, "--wrt", "w"], "invalid choice"),
    (["derive", LINE, "--wrt", "w", "w", "--steps"], "more than once"),
    (["derive", "Sum((w[j]*x[i, j] - y[i])**2, (i, 0, n-1), (j, 0, d-1))", "--wrt", "w",
      "--steps"], "index notation"),
    (["derive", LINE, "--wrt", "w", "--steps", "--backend", "jax"], "drop --backend"),
    (["derive", "__import__('os').system('touch PWNED')", "--wrt", "w", "--steps"], "attribute"),
])
def test_derive_steps_refusals(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and message in one_error_line(err)
    assert not os.path.exists("PWNED")


# --- verify --steps FILE --------------------------------------------------------------------

SIGMOID = """# the derivative of the sigmoid, by hand
exp(-z)/(1 + exp(-z))**2
== sigmoid(z)*exp(-z)/(1 + exp(-z))

= sigmoid(z)*(1 - sigmoid(z))          # = is read as ==
sigmoid(z) - sigmoid(z)**2
<= 1/4
"""

LEAST_SQUARES = """matrix X:n,d w:d,1
matrix y:n,1
sum((X @ w - y)**2)
sum((X @ w)**2) - 2*sum(y*(X @ w)) + sum(y**2)
sum((X @ w)**2) - sum(y*(X @ w)) + sum(y**2)
"""


def _file(tmp_path, text, name="steps.txt"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def test_verify_steps_file_passes_a_right_derivation(capsys, tmp_path):
    code, out, err = run(capsys, "verify", "--steps", _file(tmp_path, SIGMOID), "--budget", "3")
    lines = out.splitlines()
    assert code == 0 and err == "" and len(lines) == 5
    assert lines[0] == ("line 2 -> 3: exp(-z)/(1 + exp(-z))**2 == exp(-z)*sigmoid(z)/(1 + exp(-z))"
                        ": proven (structural)")
    assert lines[1].startswith("line 3 -> 5: ") and lines[2].startswith("line 5 -> 6: ")
    assert lines[3].startswith("line 6 -> 7: ") and " <= 1/4: proven" in lines[3]
    assert lines[4] == "every step holds (4 steps)"


def test_verify_steps_file_names_the_first_wrong_line(capsys, tmp_path):
    code, out, err = run(capsys, "verify", "--steps", _file(tmp_path, LEAST_SQUARES),
                         "--budget", "4")
    lines = out.splitlines()
    assert code == 1 and err == ""
    assert lines[0].startswith("line 3 -> 4: ") and ": refuted" not in lines[0]
    assert lines[1].startswith("line 4 -> 5: ") and ": refuted (" in lines[1]
    assert lines[2] == "first wrong step: line 4 -> line 5"
    assert lines[3].startswith("  counterexample: ") and "X = [[" in lines[3]
    assert lines[-1].startswith("  certified: lhs - rhs = ")


def test_verify_steps_file_with_assumptions_and_default_relation(capsys, tmp_path):
    text = "assume x > 0\nsqrt(x**2)\nx\n"
    code, out, _ = run(capsys, "verify", "--steps", _file(tmp_path, text), "--budget", "4")
    assert code == 0 and "every step holds (1 step)" in out
    text = "x**2 + 1\n2*x\n"                       # x**2 + 1 >= 2*x, given as the default
    code, out, _ = run(capsys, "verify", "--steps", _file(tmp_path, text), "--relation", ">=",
                       "--budget", "4")
    assert code == 0 and "x**2 + 1 >= 2*x: proven" in out
    code, out, _ = run(capsys, "verify", "--steps", _file(tmp_path, text), "--budget", "4")
    assert code == 1 and "first wrong step: line 1 -> line 2" in out


HOSTILE_FILES = [
    ("x\n__import__('os').system('touch PWNED')\n", "steps.txt line 2: "),
    ("x\nopen('PWNED', 'w')\n", "unknown function"),
    ("x\n== lambda: 1\n", "steps.txt line 2: "),
    ("x\n().__class__.__bases__[0].__subclasses__()\n", "steps.txt line 2: "),
    ("x\n9**9**9**9\n", "exponent above"),
    ("x\n" + "(" * 10_000 + "x" + ")" * 10_000 + "\n", "too deeply nested"),
    ("x\nx\x00\n", "not allowed"),
    (b"x\n\xff\xfe\n", "not UTF-8"),
    ("x\n" * (MAX_BYTES // 2 + 1), "larger than"),
    ("x\n" * (MAX_STEPS + 1), "more than %d steps" % MAX_STEPS),
    ("", "0 steps found"),
    ("# only a comment\n\n", "0 steps found"),
    ("x**2\n", "1 step found"),
    ("== x\nx\n", "nothing before it"),
    ("matrix X:n\nsum(X)\nsum(X)\n", "2 dimensions"),
    ("matrix X:n,d X:n,d\nsum(X)\nsum(X)\n", "declared twice"),
    ("matrix\nx\nx\n", "declares nothing"),
    ("assume x\nx\nx\n", "not a comparison"),
    ("assume x > 0 or __import__('os')\nx\nx\n", "not a comparison"),
    ("x\n=> x\n", "not a valid expression"),
    ("x\nx == y\n", "steps.txt line 2: "),
    ("matrix X:n,d\nsum(X)\nX\n", None),          # a matrix against a scalar: verify refuses
]


@pytest.mark.parametrize("text, message", HOSTILE_FILES,
                         ids=["hostile-%d" % i for i in range(len(HOSTILE_FILES))])
def test_hostile_steps_files_are_refused_in_one_line(capsys, tmp_path, monkeypatch, text,
                                                     message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "verify", "--steps", _file(tmp_path, text), "--budget", "0")
    line = one_error_line(err)
    assert code == 2 and out == ""
    assert message is None or message in line, line
    assert not os.path.exists("PWNED")


def test_steps_files_that_are_not_files_or_come_with_other_claims(capsys, tmp_path):
    for path, message in [(str(tmp_path), "not a regular file"), ("/dev/zero", "not a regular"),
                          (str(tmp_path / "missing.txt"), "No such file")]:
        code, out, err = run(capsys, "verify", "--steps", path)
        assert code == 2 and out == "" and message in one_error_line(err)
    good = _file(tmp_path, "x\nx\n")
    for extra, message in [(["x"], "give no HAND"), (["--grad-of", "x**2", "--wrt", "x"],
                                                      "give no HAND")]:
        code, _, err = run(capsys, "verify", *extra, "--steps", good)
        assert code == 2 and message in one_error_line(err)
    code, _, err = run(capsys, "verify")
    assert code == 2 and "--steps FILE" in one_error_line(err)


def test_a_real_process_refuses_a_hostile_file(tmp_path):
    path = _file(tmp_path, "x\n__import__('os').system('touch PWNED')\n")
    code, out, err = run_process("verify", "--steps", path, cwd=str(tmp_path))
    assert code == 2 and out == "" and "steps.txt line 2" in one_error_line(err)
    assert not (tmp_path / "PWNED").exists()


def test_parse_steps_keeps_columns_and_line_numbers():
    s = parse_steps("\n# c\nx + 1   # one\r\n>= x\r\n", "f")
    assert [str(e) for e in s.steps] == ["x + 1", "x"] and s.relations == [">="]
    assert s.lines == [3, 4]
    with pytest.raises(ParseError, match=r"^f line 2: not a valid expression: .* column 6;"):
        parse_steps("x\n== x $ 1\n", "f")
    with pytest.raises(ParseError, match=r"^f line 3: attribute .bar .* column 6;"):
        parse_steps("x\n\n==   foo.bar\n", "f")
