"""The README's command-line examples print what the README says they print."""
import pathlib
import re
import shlex

import pytest

from matcalc.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The last digits of a floating-point result vary with the CPU and BLAS: no example may print them.
FLOAT_DIGITS = re.compile(r"\d\.\d+e[-+]?\d+|\d\.\d{4,}")
# A ```sh block holding one matcalc command, followed directly by a ``` block with its output.
EXAMPLES = re.findall(r"```sh\n(?:pip install [^\n]*&& )?(matcalc derive [^\n]+)\n```\n\n```\n(.*?)```",
                      README, flags=re.S)


def test_readme_has_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_output_is_current(command, expected, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert not FLOAT_DIGITS.search(expected)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out == expected


def test_readme_python_example_prints_what_its_comments_say(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    block = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    expected, lines = [], block.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("print("):
            for comment in lines[i + 1:]:
                if not comment.startswith("# "):
                    break
                expected.append(comment[2:])
    assert expected and not FLOAT_DIGITS.search("\n".join(expected))
    exec(compile(block, "README.md", "exec"), {})
    assert " ".join(capsys.readouterr().out.split()) == " ".join(" ".join(expected).split())
