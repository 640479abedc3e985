"""What people see: bare `symgrad`, notebook displays, shipped proofs, package metadata."""

import os

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
import symgrad.cli.commands as commands
from cli_helpers import ROOT, run, run_process
from symgrad import FitResult, GD, fit

w, b, x, y = sp.symbols("w b x y")
LINE = (w * x + b - y) ** 2


def test_bare_symgrad_prints_the_full_help_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: symgrad") and "derive" in err and "prove" in err
    code, out, err = run_process()
    assert code == 2 and "Traceback" not in err and "positional arguments" in err


def test_prove_defaults_to_the_checkout_then_to_the_shipped_proofs(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert commands.shipped_proofs() == ["proofs"]
    package = tmp_path / "site" / "symgrad"
    (package / "cli").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(commands, "__file__", str(package / "cli" / "commands.py"))
    assert commands.shipped_proofs() == ["proofs"]          # no copy: claims.py explains
    (package / "proofs").mkdir()
    assert commands.shipped_proofs() == [str(package / "proofs")]


def test_pyproject_uses_an_spdx_license_and_maps_the_proofs_into_the_package():
    tomllib = pytest.importorskip("tomllib")            # Python 3.11+
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "BSD-3-Clause"
    assert "setuptools>=77" in meta["build-system"]["requires"][0]
    assert any(c.startswith("Programming Language :: Python :: 3") for c in meta["project"]["classifiers"])
    setup = (ROOT / "setup.py").read_text()
    assert '"symgrad.proofs": "proofs"' in setup and not (ROOT / "symgrad" / "proofs").exists()


def test_grad_functions_show_their_source_as_markdown():
    f = sg.value_and_grad(LINE, wrt=[w, b], args=[x, y])
    md = f._repr_markdown_()
    assert md.startswith("**value_and_grad** of `%s`" % sp.sstr(LINE))
    assert "with respect to `w`, `b`" in md and "```python\n" + f.source.rstrip("\n") + "\n```" in md
    f2 = sg.value_grad_hessian(LINE, wrt=[w, b], args=[x, y])
    assert f2._repr_markdown_().startswith("**value_grad_hessian**")
    v, i = sp.IndexedBase("v"), sp.Symbol("i", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    fi = sg.value_and_grad(sp.Sum(v[i] ** 2, (i, 0, n - 1)), wrt=[v])
    assert fi.source.rstrip("\n") in fi._repr_markdown_() and "index notation" in fi._repr_markdown_()


def test_fit_result_html_lists_losses_and_parameters_escaped():
    W = sp.MatrixSymbol("W", 2, 1)
    res = FitResult(params={sp.Symbol("a<b"): 1.5, W: np.array([[1.0], [2.0]])},
                    history=[4.0, 2.0], final_loss=0.25, stopped_early=True, best_step=1)
    page = res._repr_html_()
    assert "a&lt;b" in page and "a<b" not in page
    assert "<td>2 (stopped early)</td>" in page and "<td>0.25</td>" in page and "<td>4</td>" in page
    assert "<pre>[[1.]\n [2.]]</pre>" in page and "<th>best step</th><td>1</td>" in page


def test_plot_without_a_path_returns_a_figure_of_the_curves(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    res = fit(LINE, {w: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]}, GD(lr=0.01), steps=50,
              validation={x: [5.0], y: [10.0]})
    fig = res.plot()
    assert isinstance(fig, Figure)
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), res.history)
    np.testing.assert_array_equal(lines[1].get_ydata(), res.val_history)
    assert fig._repr_png_().startswith(b"\x89PNG")
    assert res.plot(tmp_path / "loss.svg") is None and os.path.getsize(tmp_path / "loss.svg") > 0


# --- verdicts and derivations in a notebook ------------------------------------------------

def test_verdict_html_and_markdown_show_the_status_and_the_counterexample():
    z = sp.Symbol("z")
    s = 1 / (1 + sp.exp(-z))
    wrong = sg.verify(sp.diff(s, z), s * (1 + s), budget=10)
    page = wrong._repr_html_()
    assert '<b style="color:#cf222e">refuted</b>' in page
    assert "<tr><th>counterexample</th><td>z = -17</td></tr>" in page
    assert "<th>certified</th><td>lhs - rhs in [" in page
    md = wrong._repr_markdown_()
    assert md.startswith("**refuted**: `exp(-z)/(1 + exp(-z))**2 == ") and "- counterexample: z = -17" in md
    right = sg.verify(sp.diff(s, z), s * (1 - s), budget=10)
    assert '<b style="color:#1a7f37">proven</b>' in right._repr_html_()
    assert "counterexample" not in right._repr_html_() and "- method: " in right._repr_markdown_()


def test_verdict_html_escapes_and_prints_textbook_matrices():
    a = sp.Symbol("a<b>")
    page = sg.verify(a, a + 1, budget=0)._repr_html_()
    assert "a&lt;b&gt;" in page and "<b>" not in page.replace('<b style', '')
    n = sp.Symbol("n", integer=True, positive=True)
    X, W = sp.MatrixSymbol("X", n, 2), sp.MatrixSymbol("W", 2, 1)
    v = sg.verify(sg.grad(sg.msum(sp.HadamardPower(X * W, 2)), W), 2 * X.T * X * W, budget=1)
    assert "Xᵀ" in v._repr_html_() and "HadamardPower" not in v._repr_markdown_()


def test_steps_verdict_marks_the_first_wrong_step():
    z = sp.Symbol("z")
    r = sg.verify_steps([(z + 1) ** 2, z ** 2 + 2 * z + 1, z ** 2 + 1, z ** 2 + 1], budget=10)
    page = r._repr_html_()
    assert page.count("<tr") == 4 and page.count('style="background:#ffebe9"') == 1
    assert '<tr style="background:#ffebe9"><td>1 → 2</td>' in page
    assert "<p>first wrong step: 1 → 2, counterexample z = " in page
    md = r._repr_markdown_().splitlines()
    assert md[:2] == ["| step | claim | verdict | method |", "|---|---|---|---|"]
    assert md[2] == "| 0 → 1 | `(z + 1)**2 == z**2 + 2*z + 1` | proven | expand |"
    assert md[3].startswith("| 1 → 2 | `z**2 + 2*z + 1 == z**2 + 1` | **refuted** |")
    ok = sg.verify_steps([sp.Abs(z) ** 2, z ** 2], budget=10)
    assert "every step holds" in ok._repr_html_() and "`|z|**2 == z**2`" not in ok._repr_markdown_()
    assert "\\|z\\|**2 == z**2" in ok._repr_markdown_()


def test_the_derivation_markdown_says_how_its_steps_were_checked():
    d = sg.derivation(LINE, [w, b])
    md = d._repr_markdown_()
    assert md.startswith("**Forward**\n\n- $z = b + w x - y$")
    assert md.endswith("*each step checked against grad: 5 the same expression*\n")
    assert d._repr_latex_().startswith("$$\\begin{aligned}")
