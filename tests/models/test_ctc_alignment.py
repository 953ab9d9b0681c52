"""CTC can align a transcript only if the encoder's OUTPUT frames cover its labels plus one
blank between each pair of repeated labels; a run names the first row that cannot fit.

Audio here is white noise written with soundfile; the model is the small Jasper config of
tests/conftest.py (logfbank: 512-sample frames every 160 samples; one stride-2 block).
"""

import logging
import os

import numpy as np
import pytest
import soundfile as sf
from conftest import write_small_config

from open_s2s import runner
from open_s2s.config.loader import resolve_config
from open_s2s.data.audio import DataError
from open_s2s.modes import build_model, make_data_layer

SR = 16000
VOCAB = [" ", "'", *"abcdefghijklmnopqrstuvwxyz"]
# 4800 samples: 1 + (4800 - 512) // 160 = 27 feature frames; after the stride-2 block, 14
SAMPLES, OUT_FRAMES = 4800, 14
FITS = "ab" * 7  # 14 labels, no repeats: exactly 14 frames (the boundary must pass)
TOO_MANY_REPEATS = "a" * 10  # 10 labels (<= 27 input frames) but 10 + 9 blanks = 19 > 14


@pytest.mark.parametrize(
    "ids, frames", [([], 0), ([3], 1), ([1, 2, 3], 3), ([1, 1], 3), ([1, 2, 2, 2, 3], 7), ([0, 0, 1, 1], 6)]
)
def test_ctc_min_frames(ids, frames):
    from open_s2s.losses.ctc_loss import ctc_min_frames

    assert ctc_min_frames(ids) == frames


def write_corpus(directory, transcripts):
    rng = np.random.default_rng(0)
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    rows = []
    for i, text in enumerate(transcripts):
        path = directory / f"{i}.wav"
        sf.write(path, rng.uniform(-0.3, 0.3, SAMPLES).astype(np.float32), SR, subtype="PCM_16")
        rows.append(f"{path},{os.path.getsize(path)},{text}\n")
    for split in ("train", "dev", "test"):
        (directory / f"{split}.csv").write_text("wav_filename,wav_filesize,transcript\n" + "".join(rows))
    return write_small_config(directory / "small.py", directory)


def model_and_data(config):
    model_cls, params = resolve_config(config, "train")
    dl = make_data_layer(params, "eval")
    return build_model(model_cls, params, dl.spec), dl


def test_the_check_uses_the_encoder_output_frames_and_repeats(tmp_path):
    config = write_corpus(tmp_path, [FITS, "hello", TOO_MANY_REPEATS, "world"])
    model, dl = model_and_data(config)
    assert int(model.encoder.output_length(np.array([27]))[0]) == OUT_FRAMES
    with pytest.raises(DataError) as info:
        model.check_data(dl)
    message = str(info.value)
    # the 3rd transcript is on line 4 of the CSV (line 1 is the header)
    assert message.startswith(f"{tmp_path / 'train.csv'}:4:") and str(tmp_path / "2.wav") in message
    assert "19" in message and "14" in message, message


def test_rows_that_fit_pass(tmp_path):
    config = write_corpus(tmp_path, [FITS, "hello", "aab", "world"])
    model, dl = model_and_data(config)
    model.check_data(dl)  # no error


def test_training_stops_at_load_time_naming_the_row(tmp_path, capsys):
    config = write_corpus(tmp_path, [FITS, "hello", TOO_MANY_REPEATS, "world"])
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = runner.main([f"--config_file={config}", "--mode=train", f"--logdir={tmp_path / 'run'}"])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == 3  # a data error, before any step (not 4, "diverged", after an infinite loss)
    err = capsys.readouterr().err
    assert f"{tmp_path / 'train.csv'}:4:" in err, err[-2000:]
