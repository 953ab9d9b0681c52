"""Convergence: both tiny keyword-spotting configs reach 95% test accuracy on held-out voices
within 20 minutes of training (issue 6).

Slow (about 16 minutes for both on an idle 2-core CPU): run with `make test-slow` or
`make convergence-commands`.
"""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "data", "synth_commands")


@pytest.mark.slow
@pytest.mark.parametrize("config", ["resnet_v1_12_tiny", "jasper_v1_12_tiny"])
def test_tiny_keyword_spotter_reaches_95_percent(config, tmp_path):
    if not os.path.exists(os.path.join(DATA, "metadata.json")):
        subprocess.run([sys.executable, "-m", "open_s2s.data.synth_commands", "--out", DATA], check=True, cwd=REPO)
    logdir = str(tmp_path / config)
    script = [sys.executable, "scripts/convergence_commands.py", f"--logdir={logdir}"]
    subprocess.run(script + [f"--config_file=example_configs/speech_commands/{config}.py"], check=True, cwd=REPO)
    with open(os.path.join(logdir, "convergence.json")) as f:
        record = json.load(f)
    assert record["train_eval_minutes"] <= 21, record  # 20 min budget + the last eval pass
    assert record["test_accuracy"] >= 95.0, {k: v for k, v in record.items() if k != "confusion"}
