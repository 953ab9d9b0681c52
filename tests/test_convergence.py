"""Convergence: example_configs/jasper.py reaches the core issue's WER target in its budget.

Slow (about 30 minutes on 2 CPU cores): run with `make test-slow` or `make convergence`.
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(REPO, "data", "synth_speech")


@pytest.mark.slow
def test_jasper_reaches_15_percent_wer_in_30_minutes(tmp_path):
    if not os.path.exists(os.path.join(CORPUS, "metadata.json")):
        subprocess.run([sys.executable, "-m", "open_s2s.data.synth_speech", "--out", CORPUS], check=True, cwd=REPO)
    logdir = str(tmp_path / "jasper")
    subprocess.run(
        [sys.executable, "scripts/convergence.py", "--config_file=example_configs/jasper.py", f"--logdir={logdir}"],
        check=True,
        cwd=REPO,
    )
    with open(os.path.join(logdir, "convergence.json")) as f:
        record = json.load(f)
    assert record["train_eval_minutes"] <= 33, record  # 30 min budget + eval passes
    assert record["test_WER"] <= 15.0, record
