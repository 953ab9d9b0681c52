"""Runs every command of README.md as written, each in a fresh shell, and reports which work.

    make check-readme                                   # = the line below
    python3 scripts/check_readme.py --max_steps=20 --out logs/readme_check.json

What runs: every command of every fenced ``bash`` block (continuation lines joined, comments
kept: bash ignores them) and every ``python`` block (as ``python -`` fed the block), in README
order, each in a new ``bash`` with a clean environment (only HOME, LANG, TERM and a system
PATH) that first runs the README's own ``source .venv/bin/activate``: a command that works only
in a prepared shell fails here.

Where: by default in a fresh copy of the repository (its tracked and untracked, not ignored,
files, with their modification times, so ``make`` does not redo ``make setup``) in a new
temporary directory, whose ``.venv``, ``.venv-<stack>`` and ``data`` are links to the
repository's: the README's ``logs/...`` and ``exported/...`` start empty on every check and
nothing of the repository's runs is touched; corpora are built once into the repository's
``data/`` (gitignored), and the corpus builders keep an existing identical corpus (so they are
cheap when it exists).
``--in_place`` runs in the repository itself instead (a new user's view, logs included).

Shortened, when asked: with ``--max_steps=N`` every training command gets ``--max_steps=N``
appended (a ``--max_steps`` it already has is lowered to N, ``--bench_steps`` too; ``make demo``
gets ``ARGS=--max_steps=N``) so that the README runs in minutes instead of hours, and
``scripts/tune_lm.py`` gets a one-point grid (``--alphas=0.5 --betas=0``: on a model trained 20
steps its 63 beam searches of the dev set took more than 20 minutes, one took 65 s). The
figures printed are then not the README's, only that the commands work. The report says which
commands were changed and how (``run`` next to ``command``).

Skipped, and listed with the reason: commands with a ``...`` placeholder
(``--config_file=...``, ``host1:8,host2:8``: not runnable as written), the long ``make``
targets (``test``, ``test-slow``, ``convergence*``, ``bench``: the suite is run on its own and
the convergence runs are the measurements themselves; ``check-readme``: this check), and whatever ``--skip REGEX`` or
``--lines`` leaves out (e.g. ``--skip synth_tts`` on a machine that cannot spare the 20 minutes
of that corpus). Needs only the standard library, so it runs with the system ``python3``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LONG_MAKE = re.compile(r"^make (test|test-slow|convergence\S*|bench|check-readme)\b")
TRAINING = re.compile(r"--mode=(train|train_eval)\b")


def blocks(readme: str) -> list[tuple[str, str, int]]:
    """``(language, text, first line number)`` of every fenced bash/python block."""
    out, lang, lines, start = [], None, [], 0
    for number, line in enumerate(readme.splitlines(), start=1):
        if lang is None and line.startswith("```") and line[3:].strip() in ("bash", "python"):
            lang, lines, start = line[3:].strip(), [], number + 1
        elif lang is not None and line.startswith("```"):
            out.append((lang, "\n".join(lines), start))
            lang = None
        elif lang is not None:
            lines.append(line)
    return out


def commands(block: str, start: int) -> list[tuple[str, int]]:
    """The commands of a bash block (continuation lines joined), with their README line."""
    out, current, first = [], "", start
    for offset, line in enumerate(block.splitlines()):
        if not current:
            first = start + offset
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip() and not current.strip().startswith("#"):
            out.append((current.strip(), first))
        current = ""
    return out


def readme_commands(readme: str) -> list[tuple[str, str, int]]:
    """``(language, command, line)`` for every command of the README, in order."""
    out = []
    for lang, text, line in blocks(readme):
        if lang == "bash":
            out.extend(("bash", command, where) for command, where in commands(text, line))
        else:
            out.append(("python", text, line))
    return out


def _split_comment(command: str) -> tuple[str, str]:
    code, _, comment = command.partition(" #")
    return code.rstrip(), (f"  #{comment}" if comment else "")


def _cap(code: str, flag: str, limit: int) -> tuple[str, bool]:
    """Lowers every ``--flag=V`` above ``limit`` to ``limit``; says whether the flag was there."""
    pattern = re.compile(rf"--{flag}=(\d+)")
    found = bool(pattern.search(code))
    return pattern.sub(lambda m: f"--{flag}={min(int(m.group(1)), limit)}", code), found


def adapt(command: str, max_steps: int | None) -> str:
    """``command`` shortened to ``max_steps`` training steps (unchanged when None or not a training)."""
    if max_steps is None:
        return command
    code, comment = _split_comment(command)
    if re.match(r"make demo\b", code):
        return f'{code} ARGS="--max_steps={max_steps}"{comment}'
    if "scripts/tune_lm.py" in code and "--alphas" not in code and "--betas" not in code:
        return f"{code} --alphas=0.5 --betas=0{comment}"  # one grid point: see the module docstring
    training = "run.py" in code and TRAINING.search(code)
    if not (training or "scripts/convergence" in code):
        return command
    code, had_steps = _cap(code, "max_steps", max_steps)
    if "--benchmark" in code:
        code, _ = _cap(code, "bench_steps", max_steps)
    elif not had_steps:
        code += f" --max_steps={max_steps}"
    return code + comment


def skip_reason(lang: str, command: str) -> str | None:
    """Why a command cannot run as written here (None: it runs)."""
    if "..." in command:
        return "placeholder (...): not runnable as written"
    if lang == "bash" and LONG_MAKE.match(command):
        if command.startswith("make check-readme"):
            return "this check itself"
        return "long make target (the suite and the convergence measurements are run on their own)"
    return None


def parse_lines(spec: str | None) -> set[int] | None:
    """``"9,49-55"`` -> {9, 49, ..., 55}."""
    if not spec:
        return None
    chosen: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        chosen.update(range(int(low), int(high or low) + 1))
    return chosen


def prepare_workdir(workdir: str | None) -> str:
    """A fresh copy of the repository (see the module docstring); returns its path."""
    workdir = workdir or tempfile.mkdtemp(prefix="open_s2s_readme_")
    if os.path.exists(workdir) and os.listdir(workdir):
        raise SystemExit(f"--workdir {workdir} is not empty: give a new directory")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for rel in filter(None, listed.split("\0")):
        source = os.path.join(ROOT, rel)
        if not os.path.isfile(source):  # deleted in the work tree
            continue
        os.makedirs(os.path.dirname(os.path.join(workdir, rel)), exist_ok=True)
        shutil.copy2(source, os.path.join(workdir, rel))  # keeps mtimes: make sees setup as done
    os.makedirs(os.path.join(ROOT, "data"), exist_ok=True)
    # .venv is the default stack's venv (or a link to it); make targets use .venv-<stack>
    venvs = sorted(n for n in os.listdir(ROOT) if n.startswith(".venv-"))
    for name in (".venv", "data", *venvs):
        os.symlink(os.path.join(ROOT, name), os.path.join(workdir, name))
    return workdir


def run(script: str, stdin: str | None, cwd: str, timeout: float) -> tuple[int, str, float]:
    """Runs ``script`` in a fresh bash after the README's activation step."""
    env = {k: os.environ[k] for k in ("HOME", "LANG", "TERM") if k in os.environ}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    start = time.time()
    try:
        done = subprocess.run(
            ["bash", "-c", f"source .venv/bin/activate && {script}"],
            input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout,
        )  # fmt: skip
        return done.returncode, done.stdout + done.stderr, time.time() - start
    except subprocess.TimeoutExpired as e:
        return -1, f"timeout after {timeout} s: {e}", time.time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    parser.add_argument("--max_steps", type=int, default=None, help="shorten trainings to N steps (see above)")
    parser.add_argument("--lines", default=None, help="only the commands on these README lines: 9,49-55")
    parser.add_argument("--skip", action="append", default=[], help="skip commands matching this regex (repeatable)")
    parser.add_argument("--workdir", default=None, help="where the copy goes (a new directory; default: a temp dir)")
    parser.add_argument("--in_place", action="store_true", help="run in the repository itself, not in a copy")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command")
    parser.add_argument("--keep_going", action="store_true", help="run the rest after a failure (default: stop)")
    parser.add_argument("--dry_run", action="store_true", help="list the commands (shortened), run nothing")
    parser.add_argument("--out", default=None, help="JSON report")
    args = parser.parse_args(argv)
    with open(args.readme, encoding="utf-8") as f:
        found = readme_commands(f.read())
    chosen = parse_lines(args.lines)
    cwd = ROOT if args.in_place or args.dry_run else prepare_workdir(args.workdir)
    print(f"running README commands in {cwd}", flush=True)
    report, failed = [], 0
    for lang, command, where in found:
        entry = {"line": where, "language": lang, "command": command}
        reason = skip_reason(lang, command)
        if reason is None and chosen is not None and where not in chosen:
            reason = "not in --lines"
        if reason is None and any(re.search(pattern, command) for pattern in args.skip):
            reason = "--skip"
        if reason is None and failed and not args.keep_going:
            reason = "not run: an earlier command failed (--keep_going runs the rest)"
        script = adapt(command, args.max_steps) if lang == "bash" else "python -"
        if reason:
            entry.update(status="skipped", reason=reason)
        elif args.dry_run:
            entry.update(status="listed", run=script)
        else:
            code, output, seconds = run(script, command if lang == "python" else None, cwd, args.timeout)
            entry.update(status="ok" if code == 0 else "failed", exit=code, seconds=round(seconds, 1), run=script)
            entry["output_tail"] = output.strip().splitlines()[-15:]
            failed += code != 0
        report.append(entry)
        shown = entry.get("run", command) if lang == "bash" else command.splitlines()[0]
        extra = f" ({entry['seconds']} s)" if "seconds" in entry else ""
        extra += f" [{entry['reason']}]" if "reason" in entry else ""
        print(f"{entry['status']:8} README:{where:<4} {shown[:150]}{extra}", flush=True)
        if entry["status"] == "failed":
            print("    " + "\n    ".join(entry["output_tail"]), flush=True)
    counts = {s: sum(e["status"] == s for e in report) for s in ("ok", "failed", "skipped", "listed")}
    print(json.dumps(counts))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"workdir": cwd, "max_steps": args.max_steps, "counts": counts, "commands": report}, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
