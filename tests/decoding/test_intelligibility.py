"""Tests of the pocketsphinx judge (open_s2s.decoding.intelligibility); need flite and pocketsphinx."""

from __future__ import annotations

import json
import shutil

import jiwer
import numpy as np
import pytest
import soundfile as sf

from open_s2s.decoding import intelligibility
from open_s2s.decoding.intelligibility import Judge, normalize_words, word_error_rate, write_dictionary

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed (apt-get install flite)")
SPOKEN = ["The old dog sat near the lake.", "Where is my red bag?", "Mary bought three apples today."]
OTHER = [
    "the cat ran to the park",
    "john saw a big red car",
    "my sister bought some bread",
    "where is the old box",
    "the children played near the river today",
    "we ate three apples at the lake",
]


@pytest.fixture(scope="module")
def judge():
    pytest.importorskip("pocketsphinx")
    return Judge(SPOKEN + OTHER)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.skip("flite not installed (apt-get install flite)")
    from open_s2s.data.synth_tts import synthesize

    root = tmp_path_factory.mktemp("judge")
    (root / "wavs").mkdir()
    for i, text in enumerate(SPOKEN):
        synthesize(text, str(root / "wavs" / f"s{i}.wav"))
    (root / "test.csv").write_text("".join(f"s{i}|{t}|{t.lower()}\n" for i, t in enumerate(SPOKEN)))
    (root / "train.csv").write_text("".join(f"x{i}|{t}|{t}\n" for i, t in enumerate(SPOKEN + OTHER)))
    return root


def test_normalize_words_and_wer():
    assert normalize_words("Don't stop, Mary! 'Tis-well.") == "don't stop mary tis well"
    assert word_error_rate(["Where is my red bag?"], ["where is my bag"]) == jiwer.wer(
        "where is my red bag", "where is my bag"
    )
    assert word_error_rate(["Hello, world.", "a b"], ["hello world", "a c"]) == pytest.approx(1 / 4)


@needs_flite
def test_dictionary_keeps_variants_and_falls_back_to_flite(tmp_path):
    cmudict = {"read": ["R EH D", "R IY D"], "dog": ["D AO G"]}
    missing = write_dictionary(["read", "dog", "huged", "skemfa"], str(tmp_path / "d.dict"), cmudict)
    lines = (tmp_path / "d.dict").read_text().splitlines()
    assert lines[:1] == ["dog D AO G"] and lines[-3:] == ["read R EH D", "read(2) R IY D", "skemfa S K EH M F AH"]
    # flite's lexicon/LTS for the corpus voice, in the acoustic model's phone set (ax -> AH)
    assert missing == {"huged": "HH AH JH D", "skemfa": "S K EH M F AH"} and "huged HH AH JH D" in lines


@needs_flite
def test_judge_understands_flite_and_not_noise(judge, recordings):
    hyps = [judge.transcribe_file(str(recordings / "wavs" / f"s{i}.wav")) for i in range(len(SPOKEN))]
    assert word_error_rate(SPOKEN, hyps) <= 0.2, hyps
    rng = np.random.default_rng(0)
    noise = [0.1 * rng.standard_normal(32000).astype(np.float32) for _ in SPOKEN]
    assert word_error_rate(SPOKEN, [judge.transcribe(n) for n in noise]) >= 0.8
    # another sample rate is resampled: the same words
    audio, rate = sf.read(recordings / "wavs" / "s1.wav", dtype="float32")
    import soxr

    assert judge.transcribe(soxr.resample(audio, rate, 22050), 22050) == hyps[1]


@needs_flite
def test_score_and_lm_text_files(judge, recordings):
    """``Judge(lm_text=file)`` reads the normalized column; ``score`` is transcribe + WER."""
    pytest.importorskip("pocketsphinx")
    from_file = Judge(lm_text=str(recordings / "train.csv"))
    assert from_file.vocabulary_size == judge.vocabulary_size
    audio = [sf.read(recordings / "wavs" / f"s{i}.wav", dtype="float32")[0] for i in range(len(SPOKEN))]
    result = from_file.score(audio, SPOKEN)
    assert result["hypotheses"] == [judge.transcribe(a) for a in audio]
    assert result["wer"] == word_error_rate(SPOKEN, result["hypotheses"])
    with pytest.raises(ValueError, match="not both"):
        Judge(SPOKEN, lm_text=str(recordings / "train.csv"))


@needs_flite
def test_judge_only_knows_the_domain_words(judge, tmp_path):
    """The domain LM and dictionary replace the general ones: out-of-domain speech comes out
    as domain words (the general model transcribes this sentence nearly right)."""
    from open_s2s.data.synth_tts import synthesize

    synthesize("Quantum physics fascinates several scientists.", str(tmp_path / "q.wav"))
    domain = {w for t in SPOKEN + OTHER for w in normalize_words(t).split()}
    words = judge.transcribe_file(str(tmp_path / "q.wav")).split()
    assert words and set(words) <= domain


@needs_flite
def test_cli_reports_recordings_and_griffin_lim(recordings, tmp_path, capsys):
    pytest.importorskip("pocketsphinx")
    out = tmp_path / "report.json"
    args = ["--metadata", str(recordings / "test.csv"), "--lm_text", str(recordings / "train.csv"), "--limit", "2"]
    args += ["--griffin_lim", "--gl_iters", "4", "--save_audio", str(tmp_path / "gl"), "--out", str(out)]
    assert intelligibility.main(args) == 0
    report = json.loads(out.read_text())
    assert report["sentences"] == 2 and report["words_missing_from_cmudict"] == {}
    assert 0.0 <= report["recordings"]["wer"] <= 0.2 and 0.0 <= report["griffin_lim"]["wer"] <= 1.0
    assert report["griffin_lim"]["settings"]["gl_iters"] == 4
    assert sorted(p.name for p in (tmp_path / "gl").iterdir()) == ["s0.wav", "s1.wav"]
    assert json.loads(capsys.readouterr().out) == report
