"""scripts/check_readme.py (issue 16): what it extracts from the README, how it shortens trainings,
that it runs commands in a clean shell, and that every README command names things that exist."""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import check_readme  # noqa: E402

SAMPLE = """# title

```bash
make demo    # a comment
python run.py --config_file=a.py --mode=train_eval \\
    --logdir=logs/x   # trains
# a comment line
```

Text with `python not_a_command.py`.

```python
import os
print(os.getcwd())
```

```
plain fence: not a command
```
"""


def test_extracts_bash_commands_joined_and_python_blocks_with_their_lines():
    assert check_readme.readme_commands(SAMPLE) == [
        ("bash", "make demo    # a comment", 4),
        ("bash", "python run.py --config_file=a.py --mode=train_eval      --logdir=logs/x   # trains", 5),
        ("python", "import os\nprint(os.getcwd())", 13),
    ]


RUN = "python run.py --config_file=a.py"


@pytest.mark.parametrize(
    "command, expected",
    [
        ("make demo    # install", 'make demo ARGS="--max_steps=20"  # install'),
        (f"{RUN} --mode=train_eval", f"{RUN} --mode=train_eval --max_steps=20"),
        (f"{RUN} --mode=train --max_steps=100 --x=1", f"{RUN} --mode=train --max_steps=20 --x=1"),
        (f"{RUN} --mode=train --max_steps=5", f"{RUN} --mode=train --max_steps=5"),
        (f"{RUN} --mode=train --benchmark --bench_steps=50", f"{RUN} --mode=train --benchmark --bench_steps=20"),
        (f"{RUN} --mode=infer --logdir=l   # keep", f"{RUN} --mode=infer --logdir=l   # keep"),
        (f"{RUN} --mode=train_evaluation", f"{RUN} --mode=train_evaluation"),
        (
            "python scripts/tune_lm.py d.npz --lm a.arpa",
            "python scripts/tune_lm.py d.npz --lm a.arpa --alphas=0.5 --betas=0",
        ),
        ("python scripts/tune_lm.py d.npz --alphas=0,1", "python scripts/tune_lm.py d.npz --alphas=0,1"),
        (
            "python scripts/convergence_x.py --logdir=l  # acc",
            "python scripts/convergence_x.py --logdir=l --max_steps=20  # acc",
        ),
    ],
)
def test_trainings_are_shortened_and_nothing_else(command, expected):
    assert check_readme.adapt(command, 20) == expected
    assert check_readme.adapt(command, None) == command


def test_placeholders_and_long_targets_are_skipped_with_a_reason():
    assert "placeholder" in check_readme.skip_reason("bash", "horovodrun -H host1:8 python run.py --config_file=...")
    assert "long make target" in check_readme.skip_reason("bash", "make convergence-nmt   # BLEU")
    assert check_readme.skip_reason("bash", "make check-readme # this") == "this check itself"
    assert check_readme.skip_reason("bash", "make demo") is None
    assert check_readme.skip_reason("bash", "make lint") is None
    assert check_readme.parse_lines("9,49-51") == {9, 49, 50, 51}


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "activate").exists(), reason="needs make setup's .venv")
def test_commands_run_in_a_clean_shell_with_the_venv_activated(monkeypatch):
    monkeypatch.setenv("OPEN_S2S_LEAK", "1")
    code, output, _ = check_readme.run(
        'test -z "$OPEN_S2S_LEAK" && test -z "$PYTHONPATH" && python -c "import sys; print(sys.prefix)"',
        None, str(ROOT), timeout=60,
    )  # fmt: skip
    assert code == 0, output
    assert os.path.realpath(output.strip()) == os.path.realpath(ROOT / ".venv")  # .venv may link to .venv-<stack>
    code, output, _ = check_readme.run("python -", "import sys; sys.exit(3)", str(ROOT), timeout=60)
    assert code == 3


def _names_exist(command: str) -> list[str]:
    """What ``command`` names that is missing from the repository (files, modules, make targets)."""
    missing = []
    words = shlex.split(command, comments=True)
    makefile = (ROOT / "Makefile").read_text()
    if words[:1] == ["make"]:
        for target in words[1:]:
            if "=" not in target and not re.search(rf"^{re.escape(target)}:", makefile, re.M):
                missing.append(f"make target {target}")
    for i, word in enumerate(words):
        if word == "-m" and i + 1 < len(words) and importlib.util.find_spec(words[i + 1]) is None:
            missing.append(f"module {words[i + 1]}")
        if word.startswith("--config_file=") and not (ROOT / word.split("=", 1)[1]).is_file():
            missing.append(word)
        if word.endswith(".py") and not word.startswith("-") and (word.startswith("scripts/") or word == "run.py"):
            if not (ROOT / word).is_file():
                missing.append(word)
    return missing


def test_every_readme_command_names_files_modules_and_targets_that_exist():
    """A renamed config, script, module or make target breaks the README: caught without running it."""
    commands = check_readme.readme_commands((ROOT / "README.md").read_text())
    assert len(commands) > 30
    missing = {
        line: _names_exist(command)
        for lang, command, line in commands
        if lang == "bash" and "..." not in command and not command.startswith("source ")
    }
    assert {line: names for line, names in missing.items() if names} == {}


def test_dry_run_lists_every_command(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_readme.py"), "--dry_run", "--max_steps=20", f"--out={out}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import json

    report = json.loads(out.read_text())
    assert report["counts"]["failed"] == report["counts"]["ok"] == 0
    assert len(report["commands"]) == len(check_readme.readme_commands((ROOT / "README.md").read_text()))
    assert all(e["status"] == "listed" or e["reason"] for e in report["commands"])
    demo = [e for e in report["commands"] if e["command"].startswith("make demo")]
    assert demo and demo[0]["run"].startswith('make demo ARGS="--max_steps=20"')
    assert os.path.basename(report["workdir"]) == ROOT.name  # a dry run copies nothing
