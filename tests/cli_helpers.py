"""Running the command line in tests: in-process through main(argv), or as a real process."""
import os
import pathlib
import subprocess
import sys

import symgrad as sg
from parse_helpers import no_hang
from symgrad.cli.main import main

ROOT = pathlib.Path(sg.__file__).resolve().parent.parent


def run(capsys, *argv):
    """(exit code, stdout, stderr) of main(argv), with a hang guard."""
    with no_hang(20):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "symgrad", *argv], capture_output=True,
                          text=True, timeout=20, cwd=cwd, env=env)
    return done.returncode, done.stdout, done.stderr


def one_error_line(err, kind="error"):
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("symgrad: %s: " % kind), err
    return lines[0]
