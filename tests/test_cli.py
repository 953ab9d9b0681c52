"""Tests of the command line (open_s2s.runner.main / run.py): exit codes and error messages.

Most cases call ``runner.main`` in-process; two run ``run.py`` in a subprocess to check
the real process exit code.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from open_s2s import runner

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad

base_model = Speech2Text
base_params = {{
    "batch_size_per_gpu": 2,
    "max_steps": 5,
    "optimizer": NovoGrad,
    "optimizer_params": {{"learning_rate": 0.01}},
    "encoder": TDNNEncoder,
    "encoder_params": {{"convnet_layers": [{{"kernel_size": [3], "num_channels": 8}}], "dropout_keep_prob": 0.9}},
    "decoder": FullyConnectedCTCDecoder,
    "loss": CTCLoss,
    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {{
        "num_audio_features": 16,
        "vocab_file": "{data}/vocab.txt",
        "dataset_files": ["{data}/train.csv"],
    }},
}}
eval_params = {{"data_layer_params": {{"dataset_files": ["{data}/dev.csv"]}}}}
infer_params = {{"data_layer_params": {{"dataset_files": ["{data}/test.csv"]}}}}
"""


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch):
    """runner.main points the root logger at the (captured) stderr and sets an environment
    variable; undo both after each test."""
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def corpus(tiny_corpus):
    """The session's tiny corpus (tests/conftest.py)."""
    return tiny_corpus


def write_config(directory: Path, data: str = "no_such_data", extra: str = "") -> str:
    path = directory / "cli_cfg.py"
    path.write_text(CONFIG.format(data=data) + "\n" + extra)
    return str(path)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("config error:")]


# ----------------------------------------------------------------------------- config errors


def test_config_error_in_file_exits_2_with_one_line(tmp_path, capsys):
    cfg = write_config(tmp_path, extra='base_params["encoder_params"]["dropout_keep_pro"] = 0.5\n')
    assert runner.main([f"--config_file={cfg}", "--mode=train", f"--logdir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("config error: TDNNEncoder (encoder_params): unknown key 'dropout_keep_pro'")
    assert 'did you mean "dropout_keep_prob"' in err
    assert not (tmp_path / "run").exists()


def test_config_error_from_override_exits_2(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert runner.main([f"--config_file={cfg}", "--max_step=3"]) == 2
    err = capsys.readouterr().err
    assert err == "config error: --max_step: unknown key 'max_step' (did you mean \"max_steps\"?)\n"


def test_train_eval_checks_the_eval_section_too(tmp_path, capsys):
    cfg = write_config(tmp_path, extra='eval_params["data_layer_params"]["input_type"] = "wav"\n')
    assert runner.main([f"--config_file={cfg}", "--mode=train_eval"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("config error: Speech2TextDataLayer (data_layer_params).input_type: 'wav' is not one of")


def test_missing_config_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.py"
    assert runner.main([f"--config_file={missing}", "--mode=eval"]) == 2
    assert capsys.readouterr().err == f"config error: config file not found: {missing}\n"


# ----------------------------------------------------------------------------- argparse errors


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--config_file=x.py", "--mode=bogus"],
            "argument --mode: invalid choice: 'bogus'",
        ),
        (
            ["--config_file=x.py", "foo"],
            "unrecognized arguments: foo (overrides look like --key=value)",
        ),
        (["--config_file=x.py", "--max_steps"], "unrecognized arguments: --max_steps"),
        (["--mode=eval"], "the following arguments are required: --config_file"),
        (
            ["--config_file=x.py", "--bench_steps=many"],
            "argument --bench_steps: invalid int value: 'many'",
        ),
    ],
)
def test_bad_arguments_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        runner.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: run.py")
    assert message in err


# ----------------------------------------------------------------------------- run-time checks


@pytest.mark.parametrize("mode", ["train", "train_eval"])
def test_training_into_non_empty_logdir_needs_continue_learning(tmp_path, capsys, mode):
    logdir = tmp_path / "run"
    logdir.mkdir()
    (logdir / "ckpt-1.index").write_text("")
    cfg = write_config(tmp_path)
    assert runner.main([f"--config_file={cfg}", f"--mode={mode}", f"--logdir={logdir}"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert str(logdir) in lines[0] and "not empty" in lines[0] and "--continue_learning" in lines[0]
    assert sorted(os.listdir(logdir)) == ["ckpt-1.index"]  # nothing written


@pytest.mark.parametrize("mode", ["eval", "infer", "export"])
def test_no_checkpoint_exits_2(tmp_path, capsys, corpus, mode):
    cfg = write_config(tmp_path, data=str(corpus))
    logdir = tmp_path / "untrained"
    logdir.mkdir()
    assert runner.main([f"--config_file={cfg}", f"--mode={mode}", f"--logdir={logdir}"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert lines[0].startswith(f"config error: no checkpoint found in {logdir}")
    assert os.listdir(logdir) == []


# ----------------------------------------------------------------------------- the real process


def run_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_py_config_error_exit_code(tmp_path):
    cfg = write_config(tmp_path)
    proc = run_py(f"--config_file={cfg}", "--data_layer_params/input_type=foo")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("config error: Speech2TextDataLayer (data_layer_params).input_type: 'foo' is not one of")
    assert "Traceback" not in proc.stderr


def test_run_py_argparse_exit_code():
    proc = run_py("--config_file=x.py", "--mode=bogus")
    assert proc.returncode == 2
    assert "invalid choice: 'bogus'" in proc.stderr


def test_runtime_error_inside_config_names_file_and_line(tmp_path, capsys):
    config = tmp_path / "broken.py"
    config.write_text("base_model = None\nbase_params = {'a': undefined_name}\n")
    assert runner.main([f"--config_file={config}", "--mode=train"]) == 2
    err = capsys.readouterr().err
    assert f"{config}:2: NameError" in err


def test_abbreviated_flags_are_not_silently_accepted(tmp_path, capsys):
    config = write_config(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        runner.main([f"--config_file={config}", "--cont"])
    assert exit_info.value.code == 2


def test_missing_explicit_checkpoint_is_a_config_error(tmp_path, capsys, corpus):
    config = write_config(tmp_path, data=str(corpus))
    code = runner.main([f"--config_file={config}", "--mode=eval", f"--checkpoint={tmp_path}/nope"])
    assert code == 2
    assert "--checkpoint" in capsys.readouterr().err
