"""`symgrad prove` runs each claim isolated, with a hard time limit.

A claim that raises, calls sys.exit (with 0 too), ends its process or loops
forever, and a proof file that does not load (syntax error, sys.exit while
loading), is a failed row with its message; every other claim and file still
runs and the exit code is 1. The limit holds: a claim that loops forever under
a 1 s timeout is stopped within 2 s, and so are the processes it started.
"""

import os
import re
import time

import pytest
import sympy as sp

import symgrad as sg
from cli_helpers import run
from symgrad.verification.claims import run as run_proofs

HEADER = '"""%s."""\nimport os\nimport sys\nimport time\nimport sympy as sp\nimport symgrad as sg\n' \
         'x = sp.Symbol("x")\nGOOD = sg.Claim("square of a sum", (x + 1)**2, x**2 + 2*x + 1)\n'

# the misbehaving claims: a Claim whose check does something other than decide
BAD_CLAIMS = '''
class Raises(sg.Claim):
    def check(self):
        raise RuntimeError("boom in the claim")

class Exits(sg.Claim):
    def check(self):
        sys.exit(0)

class Dies(sg.Claim):
    def check(self):
        os._exit(7)

class Loops(sg.Claim):
    def check(self):
        if os.fork() == 0:           # a process the claim started: stopped with it
            open(os.environ["SYMGRAD_TEST_PIDFILE"], "w").write(str(os.getpid()))
            while True:
                time.sleep(0.01)
        while True:
            pass

CLAIMS = [GOOD, Raises("raises", x, x), GOOD, Exits("exits", x, x), Dies("dies", x, x),
          Loops("loops", x, x), GOOD]
'''


def _write(tmp_path, name, body, title="Claims"):
    path = tmp_path / name
    path.write_text(HEADER % title + body)
    return str(path)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"       # a zombie is dead
    except OSError:
        return True


def test_each_failure_is_a_row_and_the_rest_still_run(capsys, tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("SYMGRAD_TEST_PIDFILE", str(pidfile))
    bad = _write(tmp_path, "a_bad.py", BAD_CLAIMS, "Misbehaving claims")
    syntax = _write(tmp_path, "b_syntax.py", "CLAIMS = [GOOD\n")
    exits = _write(tmp_path, "c_exits.py", "sys.exit(0)\nCLAIMS = [GOOD]\n")
    good = _write(tmp_path, "d_good.py", "CLAIMS = [GOOD, GOOD]\n", "Good claims")
    start = time.perf_counter()
    code, out, err = run(capsys, "prove", bad, syntax, exits, good, "--timeout", "1")
    elapsed = time.perf_counter() - start
    assert code == 1 and err == "", (out, err)
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(
        ("raises", "exits", "dies", "loops", "square", "(the file"))}
    assert "RuntimeError: boom in the claim" in rows["raises"]
    assert "the claim called sys.exit(0)" in rows["exits"]
    assert "ended its process (exit code 7)" in rows["dies"]
    assert "timed out: no verdict after 1 s" in rows["loops"]
    for name in ("raises", "exits", "dies", "loops"):
        assert re.search(r"\berror\b.*<-- expected proven$", rows[name]), rows[name]
    assert out.count("square of a sum") == 3 + 2 and out.count("<-- expected") == 4 + 2
    assert "b_syntax.py could not be loaded" in out and "SyntaxError" in out
    assert "c_exits.py could not be loaded" in out and "the file called sys.exit(0)" in out
    assert "== Good claims" in out
    assert "11 claims, 5 as expected, 6 not" in out       # 7 + 1 + 1 + 2 rows, 5 good ones
    assert elapsed < 30, elapsed
    pid = int(pidfile.read_text())
    deadline = time.time() + 5
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the looping claim's child process %d survived" % pid


@pytest.mark.parametrize("seconds", [0.5, 1.5])
def test_the_limit_holds_within_2x(tmp_path, seconds, capsys):
    path = _write(tmp_path, "loop.py", "class Loops(sg.Claim):\n    def check(self):\n"
                  "        while True:\n            sum(range(1000))\n"
                  "CLAIMS = [Loops('loops', x, x)]\n")
    start = time.perf_counter()
    assert run_proofs([path], timeout=seconds) == 1
    took = time.perf_counter() - start
    assert seconds <= took < 2 * seconds + 0.5, took      # + the fork and the file's import
    assert "timed out" in capsys.readouterr().out


def test_report_lists_failed_rows(tmp_path, capsys):
    path = _write(tmp_path, "bad.py", "class Raises(sg.Claim):\n    def check(self):\n"
                  "        raise ValueError('no')\nCLAIMS = [GOOD, Raises('raises', x, x)]\n")
    report = tmp_path / "r.md"
    assert run_proofs([path], report=str(report)) == 1
    text = report.read_text()
    assert "| raises | $x = x$ | proven | error **(expected proven)** | ValueError: no |" in text
    assert text.rstrip().endswith("Totals: 1 proven, 0 probable, 0 refuted, 1 error.")


def test_run_claims_isolates_in_memory_claims(capsys):
    x = sp.Symbol("x")

    class Exits(sg.Claim):
        def check(self):
            raise SystemExit(3)

    claims = [sg.Claim("square", (x + 1)**2, x**2 + 2*x + 1), Exits("exits", x, x)]
    assert sg.run_claims(claims, "in memory") == 1
    assert claims[0].verdict.status == "proven" and claims[1].verdict.status == "error"
    assert "sys.exit(3)" in claims[1].verdict.method
    assert sg.run_claims(claims[:1]) == 0


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e9"])
def test_timeout_option_is_checked(capsys, value):
    code, out, err = run(capsys, "prove", "proofs/backprop.py", "--timeout", value)
    assert code == 2 and out == "" and "--timeout" in err
