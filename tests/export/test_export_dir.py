"""--mode=export: never deletes what it did not write, carries its assets, serves any rate (issue 16)."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s import runner
from open_s2s.export.saved_model import MANIFEST


def export(small_asr_run, export_dir, *extra):
    config, logdir = small_asr_run
    return runner.main([f"--config_file={config}", f"--logdir={logdir}", "--mode=export", f"--export_dir={export_dir}",
                        *extra])  # fmt: skip


def hidden_leftovers(directory):
    return [n for n in os.listdir(directory) if n.startswith(".")]


def test_a_foreign_file_is_refused_and_kept(small_asr_run, tmp_path, capsys):
    target = tmp_path / "mine"
    (target / "notes").mkdir(parents=True)
    (target / "thesis.tex").write_text("years of work")
    assert export(small_asr_run, target) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"config error: --export_dir {target} is not empty and is not a previous open_s2s export")
    assert "notes, thesis.tex" in err and "--overwrite" in err and err.count("\n") == 1
    assert sorted(os.listdir(target)) == ["notes", "thesis.tex"]
    assert (target / "thesis.tex").read_text() == "years of work" and hidden_leftovers(tmp_path) == []


def test_overwrite_replaces_the_export_entries_and_keeps_the_rest(small_asr_run, tmp_path):
    target = tmp_path / "mine"
    (target / "variables").mkdir(parents=True)
    (target / "variables" / "junk").write_text("x")
    (target / "thesis.tex").write_text("years of work")
    assert export(small_asr_run, target, "--overwrite") == 0
    assert (target / "thesis.tex").read_text() == "years of work"
    assert not (target / "variables" / "junk").exists()  # an entry of the export: replaced
    manifest = json.loads((target / MANIFEST).read_text())
    assert "thesis.tex" not in manifest["files"] and "saved_model.pb" in manifest["files"]
    assert tf.saved_model.load(str(target)).signatures["serving_default"] is not None
    assert export(small_asr_run, target) == 2  # thesis.tex is still foreign: refused again without --overwrite


def test_a_previous_export_is_replaced_whole(small_asr_run, tmp_path):
    target = tmp_path / "exp"
    assert export(small_asr_run, target, f"--export_tflite={tmp_path}/m.tflite") == 0
    assert (target / "model.tflite").exists() and (tmp_path / "m.tflite").exists()
    assert export(small_asr_run, target) == 0  # a previous export: no --overwrite needed
    assert not (target / "model.tflite").exists()  # the new export has none: nothing stale stays
    assert sorted(os.listdir(target)) == json.loads((target / MANIFEST).read_text())["files"]
    assert hidden_leftovers(tmp_path) == []


def test_overwrite_over_a_previous_export_keeps_foreign_files_and_drops_stale_entries(small_asr_run, tmp_path):
    """--overwrite where a previous export lies next to a user's file: the file stays, and what the
    previous export wrote that the new one does not (model.tflite) goes: it was open_s2s's, and a
    stale model next to a new SavedModel would be run by whoever opens it."""
    target = tmp_path / "exp"
    assert export(small_asr_run, target, f"--export_tflite={tmp_path}/m.tflite") == 0
    (target / "notes.txt").write_text("mine")
    assert export(small_asr_run, target) == 2  # notes.txt is foreign: refused without --overwrite
    assert export(small_asr_run, target, "--overwrite") == 0
    assert (target / "notes.txt").read_text() == "mine"
    assert not (target / "model.tflite").exists()
    files = json.loads((target / MANIFEST).read_text())["files"]
    assert sorted(os.listdir(target)) == sorted(files + ["notes.txt"]) and "model.tflite" not in files
    assert tf.saved_model.load(str(target)).signatures["serving_default"] is not None
    assert hidden_leftovers(tmp_path) == []


def test_an_empty_directory_and_a_file(small_asr_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert export(small_asr_run, tmp_path / "empty") == 0
    (tmp_path / "file").write_text("x")
    assert export(small_asr_run, tmp_path / "file") == 2
    assert "is a file, not a directory" in capsys.readouterr().err and (tmp_path / "file").read_text() == "x"


@pytest.fixture(scope="module")
def exported(small_asr_run, tmp_path_factory):
    target = tmp_path_factory.mktemp("exp") / "export"
    assert export(small_asr_run, target, f"--export_tflite={target}/model.tflite") == 0
    return str(target)


def test_assets_make_the_export_self_contained(exported, tiny_corpus):
    from open_s2s.data.data_spec import DataSpec
    from open_s2s.data.vocab import load_vocab

    manifest = json.loads(open(os.path.join(exported, MANIFEST)).read())
    assert manifest["family"] == "speech2text" and manifest["sample_rate"] == 16000
    assert manifest["tflite"] == "model.tflite" and manifest["checkpoint"].endswith("model-6")
    assert sorted(manifest["signatures"]) == ["serving_any_rate", "serving_default"]
    spec = DataSpec.from_dict(json.loads(open(os.path.join(exported, "assets", "data_spec.json")).read()))
    assert spec.target.vocab == tuple(load_vocab(os.path.join(tiny_corpus, "vocab.txt")))
    serving = json.loads(open(os.path.join(exported, "assets", "serving.json")).read())
    assert serving["features"]["sample_freq"] == 16000 and serving["features"]["num_audio_features"] == 32
    assert serving["decoding"] == {"use_language_model": False, "lm_path": None, "alpha": 0.5, "beta": 1.0,
                                   "beam_width": 64}  # fmt: skip
    config = json.loads(open(os.path.join(exported, "assets", "config.json")).read())
    assert config["params"]["encoder"] == "open_s2s.encoders.tdnn_encoder.TDNNEncoder"


def _batch(paths):
    audio = [soundfile.read(p, dtype="float32")[0] for p in paths]
    lengths = np.array([len(a) for a in audio], np.int32)
    batch = np.zeros([len(audio), lengths.max()], np.float32)
    for i, a in enumerate(audio):
        batch[i, : len(a)] = a
    return audio, batch, lengths


def test_tflite_from_the_export_dir_alone_equals_the_saved_model(exported, tiny_corpus, tmp_path):
    from open_s2s.export.tflite import TFLiteSpeech2Text

    moved = tmp_path / "elsewhere"  # the data files and the logdir are not needed
    shutil.copytree(exported, moved)
    paths = sorted(str(p) for p in (tiny_corpus / "wav" / "test").glob("*.wav"))
    audio, batch, lengths = _batch(paths)
    serve = tf.saved_model.load(str(moved)).signatures["serving_default"]
    expected = [t.decode() for t in serve(audio=batch, audio_length=lengths)["transcript"].numpy()]
    assert any(expected)
    lite = TFLiteSpeech2Text(str(moved))
    assert lite.sample_rate == 16000
    assert [lite.transcribe(a)[0] for a in audio] == expected
    assert TFLiteSpeech2Text(str(moved / "model.tflite")).vocab == lite.vocab  # the file inside an export


def test_serving_any_rate_equals_serving_default_at_the_model_rate(exported, tiny_corpus):
    paths = sorted(str(p) for p in (tiny_corpus / "wav" / "test").glob("*.wav"))[:3]
    _, batch, lengths = _batch(paths)
    loaded = tf.saved_model.load(exported)
    default = loaded.signatures["serving_default"](audio=batch, audio_length=lengths)
    any_rate = loaded.signatures["serving_any_rate"](audio=batch[..., None], audio_length=lengths, sample_rate=16000)
    np.testing.assert_array_equal(any_rate["log_probs"].numpy(), default["log_probs"].numpy())
    stereo = np.stack([batch, batch], axis=2)  # identical channels: their mean is the signal (exact in float32)
    mixed = loaded.signatures["serving_any_rate"](audio=stereo, audio_length=lengths, sample_rate=16000)
    np.testing.assert_array_equal(mixed["log_probs"].numpy(), default["log_probs"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="sample_rate is not one of .*resample the audio to 16000"):
        loaded.signatures["serving_any_rate"](audio=batch[..., None], audio_length=lengths, sample_rate=44000)


@pytest.mark.skipif(not shutil.which("sox"), reason="sox makes the 44.1 kHz copy")
def test_serving_any_rate_resamples_44k_stereo_speech_like_soxr(exported, tiny_corpus, tmp_path):
    """The signature's in-graph resampler and the API's soxr agree on real speech below 7 kHz (inside
    both pass bands: ours ends at 0.95 * 8 kHz, 32 zero crossings) to their pass-band ripple (Kaiser
    beta 9: ~3e-5; soxr HQ: less), and the signature runs on the 44.1 kHz stereo file."""
    import soxr

    from open_s2s.data.resample import mix_down, resample

    path = sorted(str(p) for p in (tiny_corpus / "wav" / "test").glob("*.wav"))[0]
    copy = str(tmp_path / "st44.wav")
    subprocess.run(["sox", path, "-r", "44100", "-c", "2", copy], check=True)
    audio, rate = soundfile.read(copy, dtype="float32", always_2d=True)
    graph, length = resample(mix_down(audio[None]), [len(audio)], rate, 16000)
    graph = graph.numpy()[0, : int(length[0])].astype(np.float64)
    reference = soxr.resample(audio.mean(axis=1), rate, 16000, quality="HQ").astype(np.float64)
    n = min(len(graph), len(reference))
    assert abs(len(graph) - len(reference)) <= 1
    keep = np.fft.rfftfreq(n, 1 / 16000) < 7000
    low = [np.fft.irfft(np.fft.rfft(x[:n]) * keep, n) for x in (graph, reference)]
    rel = np.sqrt(np.mean((low[0] - low[1]) ** 2) / np.mean(low[1] ** 2))
    assert rel < 1e-4, rel
    out = tf.saved_model.load(exported).signatures["serving_any_rate"](
        audio=audio[None], audio_length=[len(audio)], sample_rate=rate
    )
    assert out["transcript"].shape == [1]
