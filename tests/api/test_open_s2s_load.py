"""open_s2s.load(...): the Python API equals --mode=infer, from a logdir and from an export (issue 16)."""

import csv
import os
import shutil
import subprocess
import sys

import jiwer
import numpy as np
import pytest
import soundfile

import open_s2s
from open_s2s import runner
from open_s2s.config.params import ConfigError


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def asr(small_asr_run, tiny_corpus, tmp_path_factory):
    """(logdir, export dir, test WAV paths, references, greedy infer transcripts)."""
    config, logdir = small_asr_run
    tmp = tmp_path_factory.mktemp("api")
    common = [f"--config_file={config}", f"--logdir={logdir}"]
    assert runner.main([*common, "--mode=infer", f"--infer_output_file={tmp}/greedy.csv"]) == 0
    export_dir = str(tmp / "export")
    assert runner.main([*common, "--mode=export", f"--export_dir={export_dir}"]) == 0
    rows = read_rows(tmp / "greedy.csv")[1:]
    assert any(r[1] for r in rows), "all transcripts empty: the comparisons would be vacuous"
    return config, logdir, export_dir, [r[0] for r in rows], [r[2] for r in rows], [r[1] for r in rows]


@pytest.mark.parametrize("source", ["logdir", "export"])
def test_transcribe_equals_greedy_infer(asr, source):
    _, logdir, export_dir, paths, _, expected = asr
    model = open_s2s.load(logdir if source == "logdir" else export_dir)
    assert type(model).__name__ == "SpeechRecognizer" and model.sample_rate == 16000
    assert model.transcribe(paths, batch_size=3) == expected
    assert model.transcribe(paths[0]) == expected[0]  # a single input gives a single transcript


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_log_probs_equal_infers_whatever_the_batching(asr, tmp_path, batch_size):
    """Not only the transcripts: the CTC log-probs equal --mode=infer's (--save_logits) whatever
    batches the API forms (infer batches 4 by the config), so no near-tie can flip. The logits are
    bitwise equal; the log-softmax's sum over the vocabulary is vectorized by shape, which moves
    its result by an ulp or two (seen: 1 ulp), hence 4 ulps of the largest magnitude. (Features
    that moved with the padding, ~1e-6, stayed inside this bound on this 6-step model but moved a
    20-step jasper.py's log-probs by 0.02: tests/data/test_audio.py guards them bitwise.)"""
    from open_s2s.decoding.logits_io import load_logits

    config, logdir, export_dir, paths, _, _ = asr
    npz = tmp_path / "test.npz"
    assert runner.main([f"--config_file={config}", f"--logdir={logdir}", "--mode=infer", f"--save_logits={npz}"]) == 0
    saved = load_logits(str(npz))
    assert [os.path.abspath(n) for n in saved.names] == [os.path.abspath(p) for p in paths]
    for source in (logdir, export_dir):
        got = open_s2s.load(source).log_probs(paths, batch_size=batch_size)
        for path, mine, theirs in zip(paths, got, saved.log_probs):
            ulps = 4 * np.spacing(np.abs(theirs).max())
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=ulps, err_msg=f"{source}: {path}")


def test_transcribe_with_an_lm_equals_infer_with_the_lm(asr, tiny_corpus, tmp_path):
    pytest.importorskip("kenlm")
    from scripts.build_lm import main as build_lm

    config, logdir, export_dir, paths, _, _ = asr
    lm = str(tmp_path / "lm.arpa")
    assert build_lm([os.path.join(tiny_corpus, "train.csv"), "--out", lm]) == 0
    weights = ["--decoder_params/alpha=0.8", "--decoder_params/beta=0.5", "--decoder_params/beam_width=16"]
    args = [f"--config_file={config}", f"--logdir={logdir}", "--mode=infer", f"--infer_output_file={tmp_path}/lm.csv",
            "--decoder_params/use_language_model=True", f"--decoder_params/lm_path={lm}", *weights]  # fmt: skip
    assert runner.main(args) == 0
    expected = [r[1] for r in read_rows(tmp_path / "lm.csv")[1:]]
    for path in (logdir, export_dir):
        got = open_s2s.load(path).transcribe(paths, batch_size=4, language_model=lm, alpha=0.8, beta=0.5, beam_width=16)
        assert got == expected


def test_arrays_pairs_and_int16_equal_files(asr):
    _, _, export_dir, paths, _, expected = asr
    model = open_s2s.load(export_dir)
    audio, rate = soundfile.read(paths[0], dtype="float32")
    pcm, _ = soundfile.read(paths[0], dtype="int16")
    assert model.transcribe([audio, (audio, rate), pcm, np.stack([audio, audio], axis=1)]) == [expected[0]] * 4


@pytest.mark.skipif(not shutil.which("sox"), reason="sox makes the 44.1 kHz stereo copies")
def test_44k_stereo_is_resampled_like_infer_and_within_a_wer_point(asr, tmp_path):
    """The same audio at 44.1 kHz stereo: the API equals --mode=infer on those files (one resampler),
    and its WER is within 1 point of the 16 kHz mono WER. On this 6-step model both WERs are near
    100 %, so the WER bound alone is weak here: the signal check below is what binds (the figure on a
    trained Jasper is in the issue note)."""
    import soxr

    config, logdir, export_dir, paths, references, expected = asr
    folder = tmp_path / "st44"
    folder.mkdir()
    copies = []
    for i, path in enumerate(paths):
        copies.append(str(folder / f"{i}.wav"))
        subprocess.run(["sox", path, "-r", "44100", "-c", "2", copies[-1]], check=True)
    model = open_s2s.load(export_dir)
    got = model.transcribe(copies, batch_size=3)
    args = [f"--config_file={config}", f"--logdir={logdir}", "--mode=infer", f"--infer_input={folder}",
            f"--infer_output_file={tmp_path}/st44.csv"]  # fmt: skip
    assert runner.main(args) == 0
    assert got == [r[1] for r in read_rows(tmp_path / "st44.csv")[1:]]
    assert abs(jiwer.wer(references, got) - jiwer.wer(references, expected)) * 100 <= 1.0
    # Below 7 kHz (inside both resamplers' pass bands) the round trip 16 k -> sox 44.1 k stereo ->
    # soxr 16 k mono returns the signal up to 16-bit quantization (2^-15 / sqrt(12) RMS per step)
    # and the filters' pass-band ripple (sox and soxr HQ: <= 0.01 dB, 0.12 %).
    original, _ = soundfile.read(paths[0], dtype="float64")
    stereo, rate = soundfile.read(copies[0], dtype="float64")
    back = soxr.resample(stereo.mean(axis=1), rate, 16000, quality="HQ")
    n = min(len(original), len(back))
    spectrum = np.fft.rfftfreq(n, 1 / 16000) < 7000
    low = [np.fft.irfft(np.fft.rfft(x[:n]) * spectrum, n) for x in (original, back)]
    rel = np.sqrt(np.mean((low[0] - low[1]) ** 2) / np.mean(low[0] ** 2))
    assert rel < 2e-3, rel


def test_keyword_spotter_classify_equals_infer(small_kws_run, tmp_path):
    config, logdir = small_kws_run
    out = tmp_path / "pred.csv"
    args = [f"--config_file={config}", f"--logdir={logdir}", "--mode=infer", f"--infer_output_file={out}"]
    assert runner.main(args) == 0
    rows = [r for r in read_rows(out)[1:] if os.path.isfile(r[0])][:12]
    model = open_s2s.load(logdir)
    assert type(model).__name__ == "KeywordSpotter"
    got = model.classify([r[0] for r in rows], batch_size=5)
    assert [g.label for g in got] == [r[1] for r in rows]
    np.testing.assert_allclose([g.probability for g in got], [float(r[2]) for r in rows], atol=5e-5)  # 4 decimals
    assert all(abs(sum(g.probabilities.values()) - 1) < 1e-5 for g in got)


def test_load_refuses_what_it_cannot_use(asr, tmp_path):
    _, logdir, export_dir, _, _, _ = asr
    with pytest.raises(ConfigError, match="neither an open_s2s export"):
        open_s2s.load(str(tmp_path))
    with pytest.raises(ConfigError, match="is an export; checkpoint= is for a run's logdir"):
        open_s2s.load(export_dir, checkpoint="best")
    with pytest.raises(ConfigError, match="no best checkpoint"):
        open_s2s.load(logdir, checkpoint="best")  # trained without eval


def test_importing_open_s2s_loads_no_tensorflow():
    code = "import sys, open_s2s; assert 'tensorflow' not in sys.modules, 'imported'"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
