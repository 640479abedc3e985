"""Every command-line example in the README prints what the README shows.

A console block is a fenced block whose lines start with ``$ ``: ``$ cat FILE`` writes the lines
shown under it to FILE (in a fresh directory), ``$ symgrad ...`` runs the command line in
process and its stdout must equal the lines under it, up to the next ``$`` (blank lines at the
end of an example are not output). To refresh an example, run the command and paste its output.
"""
import re
import shlex
from pathlib import Path

import pytest

from cli_helpers import run

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _examples():
    """[(command, shown output, files written before it)] for every `$ symgrad` line."""
    out = []
    for block in re.findall(r"```[a-z]*\n(\$ .*?)```", README, flags=re.S):
        files = {}
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, shown = part.partition("\n")
            shown = shown.rstrip("\n")
            if command.startswith("cat "):
                files[command[4:].strip()] = shown + "\n"
            else:
                out.append((command, shown, dict(files)))
    return out


EXAMPLES = _examples()


def test_the_readme_has_its_examples():
    commands = [c for c, _, _ in EXAMPLES]
    assert len(commands) >= 5 and all(c.startswith("symgrad ") for c in commands), commands
    assert any("--steps" in c for c in commands) and any(c.startswith("symgrad fit") for c in commands)


@pytest.mark.parametrize("command, shown, files", EXAMPLES, ids=[e[0][:60] for e in EXAMPLES])
def test_a_readme_example_prints_what_it_shows(capsys, tmp_path, monkeypatch, command, shown, files):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    code, out, err = run(capsys, *shlex.split(command)[1:])
    assert err == "" and code in (0, 1), err
    assert out.rstrip("\n") == shown, "README example `%s` now prints:\n%s" % (command, out)
