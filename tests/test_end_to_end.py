"""run.py end to end on a tiny corpus: train_eval, eval, infer, export, signals, resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s import runner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_corpus):
    """A small model trained for 6 steps with train_eval; returns (config, logdir)."""
    from tests.conftest import write_small_config

    tmp = tmp_path_factory.mktemp("e2e")
    config = write_small_config(tmp / "small.py", tiny_corpus)
    logdir = str(tmp / "run")
    code = runner.main(
        [
            f"--config_file={config}",
            "--mode=train_eval",
            f"--logdir={logdir}",
            "--max_steps=6",
            "--eval_steps=3",
            "--print_samples_steps=3",
            "--data_layer_params/pad_to=0",
        ]
    )
    assert code == 0
    return config, logdir


def read_infer(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wav_filename", "predicted_transcript", "transcript"]  # the test CSV's references beside
    return [r[:2] for r in rows[1:]]


def test_train_eval_writes_checkpoints_best_model_config_and_summaries(trained):
    _, logdir = trained
    assert tf.train.latest_checkpoint(logdir).endswith("model-6")
    assert tf.train.latest_checkpoint(os.path.join(logdir, "best_models"))
    with open(os.path.join(logdir, "best_models", "best.json")) as f:
        assert json.load(f)["metric"] == "WER"
    with open(os.path.join(logdir, "config.json")) as f:
        record = json.load(f)
    assert record["params"]["encoder"] == "open_s2s.encoders.tdnn_encoder.TDNNEncoder"
    assert record["params"]["max_steps"] == 6 and "git_revision" in record and record["command_line"]
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(logdir))
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(logdir, "eval")))


def test_eval_mode_reports_wer(trained, capsys):
    config, logdir = trained
    assert runner.main([f"--config_file={config}", "--mode=eval", f"--logdir={logdir}"]) == 0
    with open(os.path.join(logdir, "eval_metrics.json")) as f:
        metrics = json.load(f)
    assert 0 <= metrics["WER"] and metrics["num_utterances"] == 8


def test_infer_is_in_input_order_and_batch_size_invariant(trained, tiny_corpus, tmp_path):
    config, logdir = trained
    outputs = []
    for batch in (1, 3, 8):
        out = str(tmp_path / f"infer_{batch}.csv")
        args = [
            f"--config_file={config}",
            "--mode=infer",
            f"--logdir={logdir}",
            f"--infer_output_file={out}",
            f"--batch_size_per_gpu={batch}",
        ]
        assert runner.main(args) == 0
        outputs.append(read_infer(out))
    with open(os.path.join(tiny_corpus, "test.csv")) as f:
        names = [row["wav_filename"] for row in csv.DictReader(f)]
    assert [r[0] for r in outputs[0]] == names
    assert outputs[0] == outputs[1] == outputs[2]
    assert any(r[1] for r in outputs[0]), "all transcripts empty: the parity check would be vacuous"


def test_export_transcribes_exactly_like_infer(trained, tmp_path):
    config, logdir = trained
    export_dir = str(tmp_path / "saved")
    infer_csv = str(tmp_path / "infer.csv")
    assert (
        runner.main([f"--config_file={config}", "--mode=export", f"--logdir={logdir}", f"--export_dir={export_dir}"])
        == 0
    )
    assert (
        runner.main(
            [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}", f"--infer_output_file={infer_csv}"]
        )
        == 0
    )
    expected = read_infer(infer_csv)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    audio = [soundfile.read(path, dtype="float32")[0] for path, _ in expected]
    lengths = np.array([len(a) for a in audio], np.int32)
    batch = np.zeros((len(audio), lengths.max()), np.float32)
    for i, a in enumerate(audio):
        batch[i, : len(a)] = a
    out = serve(audio=tf.constant(batch), audio_length=tf.constant(lengths))
    got = [t.decode() for t in out["transcript"].numpy()]
    assert got == [t for _, t in expected]
    assert out["log_probs"].shape[0] == len(audio)


def start_training(config, logdir, *extra):
    cmd = [
        sys.executable,
        os.path.join(REPO, "run.py"),
        f"--config_file={config}",
        "--mode=train",
        f"--logdir={logdir}",
        "--max_steps=100000",
        "--eval_steps=None",
        *extra,
    ]
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)


def wait_for_checkpoint(logdir, proc, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if tf.train.latest_checkpoint(logdir):
            return tf.train.latest_checkpoint(logdir)
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.5)
    raise AssertionError("no checkpoint appeared")


def step_of(path):
    return int(path.rsplit("-", 1)[1])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_checkpoint_before_exiting(small_config, tmp_path, signum):
    logdir = str(tmp_path / "run")
    proc = start_training(small_config, logdir, "--save_checkpoint_steps=1000")
    deadline = time.time() + 180
    while not os.path.exists(os.path.join(logdir, "config.json")) and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(8)  # let it take some steps
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    path = tf.train.latest_checkpoint(logdir)
    assert path and step_of(path) > 0, out
    assert "--continue_learning" in out


def test_sigkill_run_resumes_from_last_checkpoint(small_config, tmp_path):
    logdir = str(tmp_path / "run")
    proc = start_training(small_config, logdir, "--save_checkpoint_steps=2")
    first = wait_for_checkpoint(logdir, proc)
    time.sleep(2)
    proc.kill()
    proc.wait()
    last = tf.train.latest_checkpoint(logdir)
    assert step_of(last) >= step_of(first)
    target = step_of(last) + 3
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "run.py"),
            f"--config_file={small_config}",
            "--mode=train",
            f"--logdir={logdir}",
            f"--max_steps={target}",
            "--continue_learning",
            "--eval_steps=None",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"(step {step_of(last)})" in result.stderr
    assert step_of(tf.train.latest_checkpoint(logdir)) == target


# ---------------------------------------------------------------------------- LM decoding and TFLite (issue 5)


def test_infer_saves_logits_and_decodes_with_an_lm(trained, tiny_corpus, tmp_path):
    pytest.importorskip("kenlm")
    from open_s2s.decoding.logits_io import load_logits
    from scripts.build_lm import main as build_lm

    config, logdir = trained
    logits_path, greedy_csv = str(tmp_path / "test.npz"), str(tmp_path / "greedy.csv")
    base = [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}"]
    assert runner.main([*base, f"--infer_output_file={greedy_csv}", f"--save_logits={logits_path}"]) == 0
    saved = load_logits(logits_path)
    with open(os.path.join(tiny_corpus, "test.csv")) as f:
        rows = list(csv.DictReader(f))
    assert saved.names == [r["wav_filename"] for r in rows] and saved.references == [r["transcript"] for r in rows]
    assert all(lp.ndim == 2 and lp.shape[1] == len(saved.vocab) + 1 for lp in saved.log_probs)
    np.testing.assert_allclose(np.exp(saved.log_probs[0]).sum(axis=1), 1.0, rtol=1e-4)
    lm = str(tmp_path / "lm.arpa")
    assert build_lm([os.path.join(tiny_corpus, "train.csv"), "--out", lm]) == 0
    lm_csv = str(tmp_path / "lm.csv")
    lm_args = ["--decoder_params/use_language_model=True", f"--decoder_params/lm_path={lm}"]
    assert runner.main([*base, f"--infer_output_file={lm_csv}", *lm_args]) == 0
    assert len(read_infer(lm_csv)) == len(rows)


def test_export_tflite_transcribes_like_infer(trained, tmp_path):
    from open_s2s.data.vocab import load_vocab
    from open_s2s.export.tflite import TFLiteSpeech2Text

    config, logdir = trained
    tflite_path, infer_csv = str(tmp_path / "m.tflite"), str(tmp_path / "infer.csv")
    export = ["--mode=export", f"--export_dir={tmp_path / 'saved'}", f"--export_tflite={tflite_path}"]
    assert runner.main([f"--config_file={config}", f"--logdir={logdir}", *export]) == 0
    infer = ["--mode=infer", f"--infer_output_file={infer_csv}"]
    assert runner.main([f"--config_file={config}", f"--logdir={logdir}", *infer]) == 0
    expected = read_infer(infer_csv)
    with open(os.path.join(logdir, "config.json")) as f:
        vocab = load_vocab(json.load(f)["params"]["data_layer_params"]["vocab_file"])
    lite = TFLiteSpeech2Text(tflite_path, vocab)
    got = [lite.transcribe(soundfile.read(path, dtype="float32")[0])[0] for path, _ in expected]
    assert got == [t for _, t in expected]
