"""Tests of open_s2s.data.synth_tts (the flite corpus builder; corpus tests need flite)."""

from __future__ import annotations

import json
import os
import shutil
import wave

import pytest

from open_s2s.data import synth_text, synth_tts

SIZES = {"train": 6, "dev": 2, "test": 3}
needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed (apt-get install flite)")


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("|") for line in f]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.skip("flite not installed (apt-get install flite)")
    out = str(tmp_path_factory.mktemp("synth_tts") / "corpus")
    meta = synth_tts.synthesize_corpus(out, SIZES["train"], SIZES["dev"], SIZES["test"], seed=5, jobs=2, progress=False)
    return out, meta


@pytest.mark.parametrize(
    "sentence, raw",
    [
        ("where is my old bag", "Where is my old bag?"),
        ("i think mary saw the dog in may", "I think Mary saw the dog in May."),
        ("the cup was red but the box was blue", "The cup was red, but the box was blue."),
        ("i'm going to visit john on friday", "I'm going to visit John on Friday."),
        ("can you clean the table", "Can you clean the table?"),
        ("we may march", "We may march."),  # not months here: only after "in"
    ],
)
def test_raw_text_truecases_and_punctuates(sentence, raw):
    assert synth_tts.raw_text(sentence) == raw
    assert synth_tts.normalized_text(raw) == raw.lower()


def test_every_question_template_gets_a_question_mark():
    """Every opening listed as a question occurs in the grammar's output (a renamed template
    would silently turn its questions into statements)."""
    sentences = synth_text.generate_splits(3000, 0, 0, seed=11)["train"]
    seen = {opening for opening in synth_tts._QUESTION_OPENINGS for s in sentences if (s + " ").startswith(opening)}
    assert seen == set(synth_tts._QUESTION_OPENINGS)


@needs_flite
def test_layout_metadata_and_audio(corpus):
    out, meta = corpus
    assert meta["reused"] is False and meta["counts"] == SIZES and meta["voice"] == "rms"
    assert meta["flite_version"].startswith("flite-")
    per_split = {s: _lines(os.path.join(out, f"metadata_{s}.csv")) for s in synth_tts.SPLITS}
    assert _lines(os.path.join(out, "metadata.csv")) == [row for s in synth_tts.SPLITS for row in per_split[s]]
    vocab = open(os.path.join(out, "vocab.txt"), encoding="utf-8").read().split("\n")[:-1]
    seconds = 0.0
    for split, rows in per_split.items():
        assert len(rows) == SIZES[split]
        for name, raw, normalized in rows:  # three fields, no header
            assert raw[0].isupper() and raw[-1] in ".?" and normalized == raw.lower()
            assert set(normalized) <= set(vocab)
            with wave.open(os.path.join(out, "wavs", f"{name}.wav"), "rb") as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
                assert w.getnframes() > 8000  # a sentence of 4+ words lasts over half a second
                seconds += w.getnframes() / 16000
    assert meta["hours"]["total"] == pytest.approx(seconds / 3600, abs=1e-4)
    texts = {s: {row[2] for row in rows} for s, rows in per_split.items()}
    assert not texts["test"] & (texts["train"] | texts["dev"]) and not texts["dev"] & texts["train"]
    assert not [n for n in os.listdir(os.path.join(out, "wavs")) if not n.endswith(".wav") or ".part" in n]


@needs_flite
def test_rerun_reuses_and_resumes(corpus, tmp_path):
    out, _ = corpus
    wav = os.path.join(out, "wavs", "train_00000.wav")
    mtime = os.path.getmtime(wav)
    meta = synth_tts.synthesize_corpus(out, SIZES["train"], SIZES["dev"], SIZES["test"], seed=5, progress=False)
    assert meta["reused"] and os.path.getmtime(wav) == mtime
    # an interrupted run (no metadata.json, one WAV missing) synthesizes only what is missing
    os.remove(os.path.join(out, "metadata.json"))
    os.remove(os.path.join(out, "wavs", "dev_00001.wav"))
    meta = synth_tts.synthesize_corpus(out, SIZES["train"], SIZES["dev"], SIZES["test"], seed=5, progress=False)
    assert not meta["reused"] and meta["synthesized"] == 1 and os.path.getmtime(wav) == mtime
    assert os.path.exists(os.path.join(out, "wavs", "dev_00001.wav"))
    # other settings: the old WAVs go
    other = str(tmp_path / "other")
    shutil.copytree(out, other)
    meta = synth_tts.synthesize_corpus(other, 2, 1, 1, seed=6, progress=False)
    assert meta["synthesized"] == 4 and len(os.listdir(os.path.join(other, "wavs"))) == 4


def test_missing_flite_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no flite on it
    with pytest.raises(synth_tts.MissingDependencyError, match="apt-get install flite"):
        synth_tts.synthesize_corpus(str(tmp_path / "c"), 1, 1, 1, progress=False)
    assert synth_tts.main(["--out", str(tmp_path / "c"), "--num_train", "1", "--no_progress"]) == 2
    assert "flite not found" in capsys.readouterr().err


@needs_flite
def test_cli_reports_reuse(corpus, capsys):
    out, _ = corpus
    args = ["--out", out, "--num_train", "6", "--num_dev", "2", "--num_test", "3", "--seed", "5", "--no_progress"]
    assert synth_tts.main(args) == 0
    printed = capsys.readouterr().out
    assert "already complete" in printed and "hours=" in printed
    assert json.load(open(os.path.join(out, "metadata.json")))["counts"] == SIZES
