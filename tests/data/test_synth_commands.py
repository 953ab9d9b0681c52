"""The synthetic dataset has the Speech Commands layout and held-out voices (needs espeak-ng, sox)."""

import csv
import os

import numpy as np
import soundfile

from open_s2s.data import synth_commands
from open_s2s.data.speech_commands import SpeechCommandsDataLayer, labels


def test_layout_and_voice_split(tiny_commands):
    root = str(tiny_commands)
    assert sorted(labels.WORDS_V2) == sorted(d for d in os.listdir(root) if not d.startswith("_") and "." not in d)
    with open(os.path.join(root, "speakers.csv")) as f:
        speakers = {r["speaker_id"]: r for r in csv.DictReader(f)}
    voices = {
        s: {r["voice"].split("+")[-1] for r in speakers.values() if r["split"] == s} for s in synth_commands.SPLITS
    }
    assert not voices["train"] & voices["test"] and not voices["train"] & voices["validation"]
    lists = {}
    for split, name in (("validation", labels.VALIDATION_LIST), ("test", labels.TESTING_LIST)):
        with open(os.path.join(root, name)) as f:
            lists[split] = [line.strip() for line in f]
        assert lists[split] and all(speakers[os.path.basename(p).split("_")[0]]["split"] == split for p in lists[split])
    word, name = lists["test"][0].split("/")
    audio, rate = soundfile.read(os.path.join(root, word, name))
    assert rate == 16000 and 0.3 * 16000 < len(audio) <= 16000 and np.abs(audio).max() > 0.05
    noise = os.listdir(os.path.join(root, labels.BACKGROUND_NOISE_DIR))
    assert {f"{k}.wav" for k in synth_commands.NOISE_FILES} <= set(noise)


def test_data_layer_reads_it(tiny_commands):
    for label_set in labels.LABEL_SETS:
        dl = SpeechCommandsDataLayer({"dataset_location": str(tiny_commands), "label_set": label_set}, "eval", 4)
        assert dl.spec.target.vocab_size == len(labels.labels_for(label_set))
        assert dl.num_samples > 0


def test_noise_kinds_are_distinct():
    spectra = {}
    for kind in synth_commands.NOISE_FILES:
        x = synth_commands.make_noise(kind, 2.0, 0)
        assert np.abs(x).max() <= 10 ** (-6 / 20) + 1e-6
        power = np.abs(np.fft.rfft(x)) ** 2
        spectra[kind] = power[: len(power) // 2].sum() / power.sum()  # share below 4 kHz
    assert spectra["white_noise"] < spectra["pink_noise"] < spectra["brown_noise"]
