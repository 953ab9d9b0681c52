"""Export of a keyword spotter: SavedModel and TFLite predictions equal the in-process ones."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from open_s2s import runner
from scripts import commands_export_parity as parity

CONFIG = """
from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import ResNetEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands

base_model = SpeechCommands
base_params = {{
    "batch_size_per_gpu": 8, "max_steps": 6, "random_seed": 1, "dtype": "{dtype}",
    "save_checkpoint_steps": 6, "eval_steps": None, "print_samples_steps": None,
    "optimizer": "Adam", "optimizer_params": {{"learning_rate": 0.003}},
    "encoder": ResNetEncoder,
    "encoder_params": {{"resnet_size": 18, "num_filters": 4, "block_sizes": [1, 1], "block_strides": [1, 2],
                       "conv_kernel_size": 3}},
    "decoder": FullyConnectedSCDecoder, "loss": CrossEntropyLoss,
    "data_layer": SpeechCommandsDataLayer,
    "data_layer_params": {{"dataset_location": "{data}", "num_audio_features": 32,
                          "subtract_mean_per_feature": True}},
}}
"""


@pytest.fixture(scope="module")
def exported(tiny_commands, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sc_export")
    config = tmp / "sc.py"
    config.write_text(CONFIG.format(data=tiny_commands, dtype="float32"))
    logdir = str(tmp / "run")
    common = [f"--config_file={config}", f"--logdir={logdir}"]
    assert runner.main([*common, "--mode=train"]) == 0
    assert runner.main([*common, "--mode=export"]) == 0
    assert runner.main([*common, "--mode=infer", f"--infer_output_file={tmp}/pred.csv"]) == 0
    return str(config), logdir


def test_saved_model_and_tflite_match_in_process(exported):
    config, logdir = exported
    dl, expected = parity.in_process(config, logdir)
    clips = parity.raw_clips(dl)
    assert len({len(c) for c in clips}) > 1  # some clips are shorter than 1 s
    probs, labels = parity.saved_model_outputs(os.path.join(logdir, "export"), clips)
    np.testing.assert_allclose(probs, expected, atol=2e-4)
    names = [line.strip() for line in open(os.path.join(logdir, "export", "labels.txt"))]
    assert labels == [names[i] for i in expected.argmax(axis=1)]
    probs, ids = parity.tflite_outputs(os.path.join(logdir, "export", "model.tflite"), clips, 16000)
    np.testing.assert_allclose(probs, expected, atol=2e-4)
    np.testing.assert_array_equal(ids, expected.argmax(axis=1))


def test_parity_script_reports_agreement(exported):
    config, logdir = exported
    assert parity.main([f"--config_file={config}", f"--logdir={logdir}"]) == 0
    with open(os.path.join(logdir, "export_parity.json")) as f:
        report = json.load(f)
    assert report["saved_model_labels_equal"] == report["tflite_labels_equal"] == report["clips"] > 0


def test_infer_csv_rows(exported, tmp_path):
    config, logdir = exported
    dl, expected = parity.in_process(config, logdir)
    with open(os.path.join(os.path.dirname(logdir), "pred.csv")) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wav_filename", "predicted_label", "probability", "label"]  # the reference beside
    assert [r[0] for r in rows[1:]] == dl.sample_names
    names = list(dl.spec.target.vocab)
    assert [names.index(r[1]) for r in rows[1:]] == expected.argmax(axis=1).tolist()
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], expected.max(axis=1), atol=1e-4)
    assert [r[3] for r in rows[1:]] == [names[dl.label_of(i)] for i in range(dl.num_samples)]
