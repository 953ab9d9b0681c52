"""Export of a keyword spotter: SavedModel and TFLite predictions equal the in-process ones."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s import modes, runner
from open_s2s.config.loader import resolve_config
from open_s2s.data import keys
from open_s2s.data.speech_commands.speech_commands_data_layer import fit_clip
from open_s2s.training import checkpoints as ckpt_lib

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
    "data_layer_params": {{"dataset_location": "{data}", "num_audio_features": 32}},
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


def in_process(config, logdir):
    """Probabilities of the restored model on the test split, by example index."""
    model_cls, params = resolve_config(config, "infer")
    dl = modes.make_data_layer(params, "infer")
    model = modes.build_model(model_cls, params, dl.spec)
    ckpt_lib.restore(ckpt_lib.make_checkpoint(model, None), ckpt_lib.find_checkpoint(logdir), model_only=True)
    probs = np.zeros([dl.num_samples, dl.spec.num_classes], np.float32)
    for batch in dl.build_dataset():
        probs[batch[keys.INDEX].numpy()] = model.decode(model(batch, training=False))["probabilities"].numpy()
    return dl, probs


def raw_clips(dl):
    """The test split as raw audio: each file, or the noise excerpt of a silence clip."""
    clips = []
    for e in dl.examples:
        audio, _ = soundfile.read(e.path, dtype="float32")
        clips.append(audio if e.noise_index < 0 else audio[e.offset : e.offset + 16000] * np.float32(e.gain))
    return clips


def test_saved_model_and_tflite_match_in_process(exported):
    config, logdir = exported
    dl, expected = in_process(config, logdir)
    clips = raw_clips(dl)
    assert len({len(c) for c in clips}) > 1  # some clips are shorter than 1 s
    serve = tf.saved_model.load(os.path.join(logdir, "export")).signatures["serving_default"]
    padded = np.zeros([len(clips), max(len(c) for c in clips)], np.float32)
    for i, c in enumerate(clips):
        padded[i, : len(c)] = c
    out = serve(audio=tf.constant(padded), audio_length=tf.constant([len(c) for c in clips], tf.int32))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=2e-4)
    labels = [line.strip() for line in open(os.path.join(logdir, "export", "labels.txt"))]
    assert [s.decode() for s in out["label"].numpy()] == [labels[i] for i in expected.argmax(axis=1)]

    interpreter = tf.lite.Interpreter(model_path=os.path.join(logdir, "export", "model.tflite"))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = interpreter.get_output_details()  # frozen graphs name outputs Identity*: pick by dtype
    prob_index = next(d["index"] for d in outputs if d["dtype"] == np.float32)
    label_index = next(d["index"] for d in outputs if d["dtype"] == np.int32)
    for i, c in enumerate(clips):
        clip = fit_clip(c[None], [len(c)], 16000).numpy()
        interpreter.set_tensor(inp["index"], clip)
        interpreter.invoke()
        np.testing.assert_allclose(interpreter.get_tensor(prob_index)[0], expected[i], atol=2e-4)
        assert interpreter.get_tensor(label_index)[0] == expected[i].argmax()


def test_infer_csv_rows(exported, tmp_path):
    config, logdir = exported
    dl, expected = in_process(config, logdir)
    with open(os.path.join(os.path.dirname(logdir), "pred.csv")) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wav_filename", "predicted_label", "probability"]
    assert [r[0] for r in rows[1:]] == dl.sample_names
    names = list(dl.spec.vocab)
    assert [names.index(r[1]) for r in rows[1:]] == expected.argmax(axis=1).tolist()
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], expected.max(axis=1), atol=1e-4)
