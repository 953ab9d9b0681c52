"""The keyword-spotting convergence report: accuracy, confusion and errors per voice from a
predictions CSV (scripts/convergence_commands.py), on a hand-written case."""

import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))

import convergence_commands as report  # noqa: E402

ROWS = [  # (path, prediction); speakers a1 (voice va) and b2 (voice vb)
    ("{d}/yes/a1_nohash_0.wav", "yes"),
    ("{d}/yes/b2_nohash_0.wav", "no"),  # word -> word error, voice vb
    ("{d}/no/b2_nohash_0.wav", "_unknown_"),  # word -> unknown, voice vb
    ("{d}/bird/a1_nohash_0.wav", "go"),  # unknown -> word, voice va
    ("{d}/bird/b2_nohash_0.wav", "_unknown_"),
    ("{d}/_background_noise_/hum.wav@0.50s*0.30", "_silence_"),
]


def _write(tmp_path, with_speakers=True):
    data = tmp_path / "commands"
    data.mkdir()
    if with_speakers:
        (data / "speakers.csv").write_text("speaker_id,split,engine,voice\na1,test,espeak-ng,va\nb2,test,flite,vb\n")
    predictions = tmp_path / "pred.csv"
    with open(predictions, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["wav_filename", "predicted_label", "probability"])
        for path, label in ROWS:
            w.writerow([path.format(d=data), label, 0.9])
    return str(predictions)


def test_summary_counts_each_kind_of_error(tmp_path):
    s = report.summarize(_write(tmp_path), "v1-12")
    assert s["test_clips"] == 6 and s["errors"] == 3
    assert abs(s["test_accuracy"] - 50.0) < 1e-9
    assert s["unknown_predicted_as_word"] == 1 and s["word_predicted_as_unknown"] == 1
    assert s["unknown_clips"] == 2
    assert s["confusion"]["yes"]["no"] == 1 and s["confusion"]["_silence_"]["_silence_"] == 1


def test_errors_by_voice_uses_the_speaker_table(tmp_path):
    by_voice = report.errors_by_voice(_write(tmp_path), "v1-12")
    assert by_voice == {"_silence_": [0, 1], "va": [1, 2], "vb": [2, 3]}


def test_errors_by_voice_is_none_without_a_speaker_table(tmp_path):
    assert report.errors_by_voice(_write(tmp_path, with_speakers=False), "v1-12") is None
