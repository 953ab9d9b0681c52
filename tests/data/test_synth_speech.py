"""Tests for open_s2s.data.synth_speech and its text source (needs espeak-ng, sox)."""

from __future__ import annotations

import array
import csv
import json
import os
import shutil
import sys
import wave

import pytest

from open_s2s.data import synth_speech, synth_text

needs_tts = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng/sox not installed (apt-get install espeak-ng sox)",
)

SIZES = {"train": 12, "dev": 4, "test": 4}


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _read_wav(path):
    """Returns (wave params, int16 samples) using only the standard library."""
    with wave.open(path, "rb") as wav:
        params = wav.getparams()
        samples = array.array("h", wav.readframes(params.nframes))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV data is little endian.
    return params, samples


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny corpus shared by the tests of this module (built once)."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng/sox not installed (apt-get install espeak-ng sox)")
    out = str(tmp_path_factory.mktemp("synth") / "corpus")
    meta = synth_speech.synthesize_corpus(
        out, SIZES["train"], SIZES["dev"], SIZES["test"], seed=3, jobs=2, progress=False
    )
    return out, meta


@needs_tts
def test_csv_format_and_counts(corpus):
    out, meta = corpus
    assert meta["reused"] is False
    for split, count in SIZES.items():
        header, rows = _read_csv(os.path.join(out, f"{split}.csv"))
        assert header == ["wav_filename", "wav_filesize", "transcript"]
        assert len(rows) == count == meta["counts"][split]
        for name, size, _ in rows:
            assert os.path.isabs(name) and os.path.exists(name)
            assert int(size) == os.path.getsize(name)


@needs_tts
def test_wav_format_duration_and_level(corpus):
    out, _ = corpus
    for split in SIZES:
        _, rows = _read_csv(os.path.join(out, f"{split}.csv"))
        for name, _, text in rows:
            params, samples = _read_wav(name)
            assert (params.framerate, params.nchannels, params.sampwidth) == (16000, 1, 2)
            assert params.comptype == "NONE"
            duration = params.nframes / params.framerate
            # 140..200 wpm speech measured at ~0.04..0.10 s per character.
            assert 0.025 * len(text) < duration < 0.15 * len(text) + 0.5, (text, duration)
            # Peak-normalized to -8..-1 dBFS, so clearly not silent.
            assert max(abs(s) for s in samples) > 0.3 * 32767


@needs_tts
def test_vocab_and_transcripts(corpus):
    out, _ = corpus
    with open(os.path.join(out, "vocab.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")[:-1]
    assert len(vocab) == 28 and vocab[0] == " " and vocab[1] == "'"
    assert sorted(vocab[2:]) == vocab[2:] and len(set(vocab)) == 28
    for split in SIZES:
        _, rows = _read_csv(os.path.join(out, f"{split}.csv"))
        for _, _, text in rows:
            assert set(text) <= set(vocab) and text == " ".join(text.split())
    with open(os.path.join(out, "lm_text.txt"), encoding="utf-8") as f:
        lm_lines = f.read().splitlines()
    assert lm_lines == [r[2] for r in _read_csv(os.path.join(out, "train.csv"))[1]]


@needs_tts
def test_held_out_sentences_and_voices(corpus):
    out, meta = corpus
    texts = {s: {r[2] for r in _read_csv(os.path.join(out, f"{s}.csv"))[1]} for s in SIZES}
    assert not texts["test"] & texts["train"]
    assert not texts["dev"] & texts["train"]
    with open(os.path.join(out, "utterances.csv"), newline="", encoding="utf-8") as f:
        voices = {s: set() for s in SIZES}
        for row in csv.DictReader(f):
            voices[row["split"]].add(row["voice"])
    variants = {s: {v.partition("+")[2] for v in vs} for s, vs in voices.items()}
    assert not voices["test"] & voices["train"]
    assert not variants["test"] & variants["train"]  # Whole speaker variants held out.
    assert not variants["dev"] & variants["train"]
    assert voices == {s: set(v) for s, v in meta["voices"].items()}


@needs_tts
def test_idempotent_and_metadata(corpus, capsys):
    out, _ = corpus
    with open(os.path.join(out, "metadata.json"), encoding="utf-8") as f:
        stored = json.load(f)
    assert stored["settings"]["seed"] == 3 and stored["hours"]["total"] > 0
    again = synth_speech.synthesize_corpus(
        out, SIZES["train"], SIZES["dev"], SIZES["test"], seed=3, jobs=2, progress=False
    )
    assert again["reused"] is True
    code = synth_speech.main(["--out", out, "--num_train", "12", "--num_dev", "4", "--num_test", "4", "--seed", "3"])
    assert code == 0 and "already exists" in capsys.readouterr().out


@needs_tts
def test_a_corpus_reached_through_a_symlink_is_reused(corpus, tmp_path):
    """The same directory under another name (a link, as scripts/check_readme.py's copy of the
    repository has for data/) is the same corpus: kept, not rebuilt with paths through the link."""
    out, _ = corpus
    os.symlink(out, tmp_path / "link")
    mtime = os.path.getmtime(os.path.join(out, "metadata.json"))
    again = synth_speech.synthesize_corpus(
        str(tmp_path / "link"), SIZES["train"], SIZES["dev"], SIZES["test"], seed=3, jobs=2, progress=False
    )
    assert again["reused"] is True and os.path.getmtime(os.path.join(out, "metadata.json")) == mtime


@needs_tts
def test_relative_paths(tmp_path):
    out = str(tmp_path / "rel")
    synth_speech.synthesize_corpus(out, 2, 1, 1, seed=5, jobs=1, relative_paths=True, progress=False)
    _, rows = _read_csv(os.path.join(out, "train.csv"))
    for name, _, _ in rows:
        assert not os.path.isabs(name) and os.path.exists(os.path.join(out, name))


def test_missing_espeak_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # An empty dir: no espeak-ng, no sox.
    assert synth_speech.main(["--out", str(tmp_path / "c"), "--num_train", "1"]) == 2
    assert "apt-get install espeak-ng sox" in capsys.readouterr().err


def test_text_splits_deterministic_disjoint_and_covered():
    splits = synth_text.generate_splits(2000, 200, 200, seed=11)
    assert splits == synth_text.generate_splits(2000, 200, 200, seed=11)
    assert not set(splits["test"]) & set(splits["train"])
    assert not set(splits["dev"]) & set(splits["train"])
    assert len(set(splits["train"])) == 2000
    # Test sentences are stable when only the training size changes.
    assert synth_text.generate_splits(50, 200, 200, seed=11)["test"] == splits["test"]
    assert synth_text.word_coverage(splits["train"], splits["test"]) > 0.97
    for sentence in splits["train"]:
        assert synth_text.MIN_WORDS <= len(sentence.split()) <= synth_text.MAX_WORDS
