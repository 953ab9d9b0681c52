"""LibriSpeech converter on a small fixture in the real folder layout (FLAC via soundfile)."""

import csv
import os
import string

import numpy as np
import pytest
import soundfile as sf

from open_s2s.data import keys
from open_s2s.data.audio import DataError, compute_features_single
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.data.speech2text.librispeech import convert, main

SR = 16000
# speaker -> chapter -> transcripts (upper case, as LibriSpeech ships them)
CHAPTERS = {
    ("84", "121123"): ["GO DO YOU HEAR", "BUT IN LESS THAN FIVE MINUTES THE STAIRCASE GROANED"],
    ("84", "121550"): ["BUT WITH FULL RAVISHMENT THE HOURS OF PRIME"],
    ("174", "50561"): ["FOREVER AND FOREVER", "WE WERE NOT MEN'S PUPPETS", "NAÏVE CAFÉ"],
}


def _write_split(root, chapters=CHAPTERS, seed=0):
    rng = np.random.default_rng(seed)
    split = root / "LibriSpeech" / "dev-clean"
    for (speaker, chapter), texts in chapters.items():
        folder = split / speaker / chapter
        folder.mkdir(parents=True)
        lines = []
        for i, text in enumerate(texts):
            utt = f"{speaker}-{chapter}-{i:04d}"
            audio = 0.2 * rng.standard_normal(int(SR * (1.0 + 0.5 * i))).astype(np.float32)
            sf.write(folder / f"{utt}.flac", audio, SR, subtype="PCM_16")
            lines.append(f"{utt} {text}\n")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines), encoding="utf-8")
    return split


@pytest.fixture(scope="module")
def librispeech(tmp_path_factory):
    return _write_split(tmp_path_factory.mktemp("libri"))


def _read(csv_path):
    with open(csv_path, newline="") as f:
        return list(csv.reader(f))


def test_converter_writes_the_openseq2seq_csv(librispeech, tmp_path):
    assert convert([str(librispeech.parent)], str(tmp_path / "dev.csv")) == 6
    header, *rows = _read(tmp_path / "dev.csv")
    assert header == ["wav_filename", "wav_filesize", "transcript"]
    names = [os.path.basename(r[0]) for r in rows]
    assert names == sorted(names, key=lambda n: (n.split("-")[0], n))  # sorted by folder
    by_name = {os.path.basename(r[0]): r for r in rows}
    assert by_name["84-121123-0000.flac"][2] == "go do you hear"
    assert by_name["174-50561-0001.flac"][2] == "we were not men's puppets"
    assert by_name["174-50561-0002.flac"][2] == "naive cafe"  # folded to ASCII
    for path, size, _ in rows:
        assert os.path.isabs(path) and int(size) == os.path.getsize(path)


def test_data_layer_reads_the_converted_flac_rows(librispeech, tmp_path):
    convert([str(librispeech)], str(tmp_path / "dev.csv"))
    (tmp_path / "vocab.txt").write_text("\n".join([" ", *string.ascii_lowercase, "'"]) + "\n")
    params = {
        "num_audio_features": 40,
        "vocab_file": str(tmp_path / "vocab.txt"),
        "dataset_files": [str(tmp_path / "dev.csv")],
    }
    dl = Speech2TextDataLayer(params, "eval", batch_size=6)
    batch = next(iter(dl.build_dataset()))
    for i, index in enumerate(batch[keys.INDEX].numpy()):
        samples, _ = sf.read(dl.wav_filenames[index], dtype="float32")
        expected, length = compute_features_single(samples, dl.feature_params)
        assert batch[keys.SOURCE_LENGTH][i] == length
        np.testing.assert_allclose(batch[keys.SOURCE][i, :length], expected, atol=1e-4)
        assert (
            dl.ids_to_text(batch[keys.TARGET][i, : batch[keys.TARGET_LENGTH][i]])
            == _read(tmp_path / "dev.csv")[index + 1][2]
        )


def test_cli_converts_to_wav(librispeech, tmp_path, capsys):
    out = tmp_path / "dev.csv"
    assert (
        main(["--data_dir", str(librispeech), "--out", str(out), "--wav_dir", str(tmp_path / "wav"), "--jobs", "2"])
        == 0
    )
    assert "6 utterances" in capsys.readouterr().out
    for path, size, _ in _read(out)[1:]:
        assert path.endswith(".wav") and os.path.dirname(path) == str(tmp_path / "wav")
        flac = next(librispeech.rglob(os.path.basename(path)[:-4] + ".flac"))
        wav_info = sf.info(path)
        assert wav_info.subtype == "PCM_16" and wav_info.samplerate == SR and int(size) == os.path.getsize(path)
        np.testing.assert_array_equal(sf.read(path, dtype="int16")[0], sf.read(flac, dtype="int16")[0])


def _broken(tmp_path, case):
    split = _write_split(tmp_path, {("1", "2"): ["HELLO", "WORLD"]})
    folder = split / "1" / "2"
    trans = folder / "1-2.trans.txt"
    if case == "missing_flac":
        os.remove(folder / "1-2-0001.flac")
        return split, r"1-2\.trans\.txt:2: audio file not found"
    if case == "stray_flac":
        trans.write_text("1-2-0000 HELLO\n")
        return split, r"1-2\.trans\.txt: no transcript for .*1-2-0001\.flac"
    if case == "other_chapter":
        trans.write_text("1-2-0000 HELLO\n1-3-0001 WORLD\n")
        return split, r"1-2\.trans\.txt:2: utterance id '1-3-0001' does not belong to chapter '1-2'"
    if case == "no_text":
        trans.write_text("1-2-0000 HELLO\n1-2-0001\n")
        return split, r"1-2\.trans\.txt:2: expected '<utterance id> <transcript>'"
    os.remove(trans)
    return split, r"no \*\.trans\.txt files under"


@pytest.mark.parametrize("case", ["missing_flac", "stray_flac", "other_chapter", "no_text", "no_transcripts"])
def test_inconsistent_layouts_raise_data_errors(tmp_path, case, capsys):
    split, message = _broken(tmp_path, case)
    with pytest.raises(DataError, match=message):
        convert([str(split)], str(tmp_path / "out.csv"))
    assert main(["--data_dir", str(split), "--out", str(tmp_path / "out.csv")]) == 2
    assert "error:" in capsys.readouterr().err
