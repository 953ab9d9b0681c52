"""A quiet and honest command line (issue 16): no library noise, errors that say what is wrong."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from open_s2s import quiet, runner

ROOT = Path(__file__).resolve().parents[1]
NOISE = ("Unable to register", "Assets written to", "unsupported characters", "absl::InitializeLog",
         "Ignored output_format", "Sharding callback duration", "Loading the LM will be faster",
         "Could not find cuda drivers")  # fmt: skip


def run_py(*args, python=sys.executable, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as in a fresh shell
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [python, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_filtered_stderr_drops_noise_lines_and_replays_the_rest(capfd):
    with quiet.filtered_stderr():
        os.write(2, b"2026-01-01 E cuda_fft.cc:479] Unable to register cuFFT factory: Attempting to register\n")
        # TensorFlow 2.21 logs this INFO line at import whatever TF_CPP_MIN_LOG_LEVEL says
        os.write(2, b"I0000 00:00:1796019503.848560    6189 cudart_stub.cc:31] Could not find cuda drivers on "
                    b"your machine, GPU will not be used.\n")  # fmt: skip
        os.write(2, b"a real error\n")
        os.write(2, b"Loading the LM will be faster if you build a binary file.\n****\r*****\n")
        os.write(2, b"another line\n")
    assert capfd.readouterr().err == "a real error\nanother line\n"
    quiet.set_verbose(True)
    try:
        with quiet.filtered_stderr():
            os.write(2, b"Unable to register cuDNN factory\n")
        assert capfd.readouterr().err == "Unable to register cuDNN factory\n"
    finally:
        quiet.set_verbose(False)


def test_a_config_error_is_one_line_in_a_fresh_process(tmp_path, small_config):
    proc = run_py(f"--config_file={small_config}", "--data_layer_params/input_type=foo")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("config error: Speech2TextDataLayer (data_layer_params).input_type: 'foo'")


def _python_without_tensorflow():
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and os.path.exists(candidate):
            probe = subprocess.run([candidate, "-c", "import tensorflow"], capture_output=True, env={})
            if probe.returncode != 0:
                return candidate
    return None


def test_a_python_without_the_dependencies_gets_an_environment_error(small_config):
    python = _python_without_tensorflow()
    if python is None:
        pytest.skip("every python here has TensorFlow")
    proc = run_py(f"--config_file={small_config}", "--mode=eval", python=python)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"environment error: this Python ({python}) has no TensorFlow")
    assert "source .venv/bin/activate" in proc.stderr and "config" not in proc.stderr.split(":", 1)[1][:40]


def test_a_missing_package_imported_by_a_config_is_the_environment(tmp_path, capsys):
    config = tmp_path / "c.py"
    config.write_text("import no_such_package_xyz\nbase_model = None\nbase_params = {}\n")
    assert runner.main([f"--config_file={config}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"environment error: {config} needs the module 'no_such_package_xyz'")
    config.write_text("from open_s2s.encoders import NoSuchEncoder\nbase_model = None\nbase_params = {}\n")
    assert runner.main([f"--config_file={config}"]) == 2
    assert capsys.readouterr().err.startswith(f"config error: {config}: cannot import name 'NoSuchEncoder'")


@pytest.mark.parametrize(
    "arg, meant",
    [("--infer_ouput_file=x.csv", "--infer_output_file"), ("--continue_learnin", "--continue_learning"),
     ("--export_tflit=m.tflite", "--export_tflite"), ("--save_logit=x.npz", "--save_logits")],
)  # fmt: skip
def test_misspelt_flags_get_the_nearest_flag(arg, meant, capsys):
    with pytest.raises(SystemExit) as e:
        runner.main(["--config_file=x.py", arg])
    assert e.value.code == 2
    assert f"unrecognized argument {arg.split('=')[0]} (did you mean {meant}?)" in capsys.readouterr().err


def test_config_keys_close_to_no_flag_still_go_to_the_config(tmp_path, capsys, small_config):
    assert runner.main([f"--config_file={small_config}", "--max_step=3"]) == 2
    assert capsys.readouterr().err == "config error: --max_step: unknown key 'max_step' (did you mean \"max_steps\"?)\n"


def test_help_shows_defaults_and_the_data_each_mode_reads(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for text in ("(default: train", "default: the latest in the logdir", "(default: 20)",
                 "eval loss and metrics of the latest checkpoint on eval_params data",
                 "infer predictions of the latest checkpoint for infer_params data", "--infer_input",
                 "--overwrite", "--verbose"):  # fmt: skip
        assert text in out, text


def test_train_and_export_print_no_library_noise(tmp_path, small_config):
    logdir = tmp_path / "run"
    train = run_py(f"--config_file={small_config}", "--mode=train", f"--logdir={logdir}", "--max_steps=2")
    assert train.returncode == 0, train.stderr
    export = run_py(f"--config_file={small_config}", "--mode=export", f"--logdir={logdir}",
                    f"--export_dir={tmp_path}/exp", f"--export_tflite={tmp_path}/m.tflite")  # fmt: skip
    assert export.returncode == 0, export.stderr
    for proc in (train, export):
        for noise in NOISE:
            assert noise not in proc.stderr, (noise, proc.stderr)
    verbose = run_py(f"--config_file={small_config}", "--mode=export", f"--logdir={logdir}",
                     f"--export_dir={tmp_path}/exp", "--verbose")  # fmt: skip
    assert verbose.returncode == 0 and "Assets written to" in verbose.stderr


def test_kenlm_notices_are_filtered(tmp_path, capfd):
    pytest.importorskip("kenlm")
    from open_s2s.decoding.arpa import build_arpa
    from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder

    lm = tmp_path / "lm.arpa"
    lm.write_text(build_arpa(["yes no", "no yes yes"], 2))
    capfd.readouterr()
    CTCBeamSearchDecoder(list(" noyes"), str(lm))
    assert capfd.readouterr().err == ""
