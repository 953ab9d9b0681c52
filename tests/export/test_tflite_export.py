"""TFLite export (built-in ops only) against the SavedModel on real audio, for Jasper- and
Wav2Letter+-style encoders."""

import csv

import keras
import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s.config.loader import resolve_config
from open_s2s.export import export_saved_model
from open_s2s.export.tflite import TFLiteSpeech2Text, export_tflite, rewrite_new_axis_slices
from tests.conftest import write_small_config

W2LPLUS_ENCODER = {
    "convnet_layers": [
        {"type": "conv1d", "repeat": 1, "kernel_size": [7], "stride": [2], "dilation": [1], "num_channels": 16},
        {"type": "conv1d", "repeat": 2, "kernel_size": [5], "stride": [1], "dilation": [1], "num_channels": 24},
        {"type": "conv1d", "repeat": 1, "kernel_size": [3], "stride": [1], "dilation": [2], "num_channels": 32},
        {"type": "conv1d", "repeat": 1, "kernel_size": [1], "stride": [1], "dilation": [1], "num_channels": 32},
    ],
    "activation_fn": "clipped_relu",
}


def build(tmp_path, corpus, **overrides):
    config = write_small_config(tmp_path / "cfg.py", corpus, **overrides)
    model_cls, params = resolve_config(config, "infer", [])
    data_spec, feature_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    keras.utils.set_random_seed(3)
    model = model_cls(params, data_spec)
    model(model.dummy_batch(), training=False)
    return model, feature_params


def read_test_audio(corpus):
    with open(corpus / "test.csv") as f:
        return [soundfile.read(row["wav_filename"], dtype="float32")[0] for row in csv.DictReader(f)]


@pytest.mark.parametrize("encoder", ["jasper", "w2lplus"])
def test_tflite_transcribes_like_the_saved_model(tmp_path, tiny_corpus, encoder):
    overrides = {"encoder_params": W2LPLUS_ENCODER} if encoder == "w2lplus" else {}
    model, feature_params = build(tmp_path, tiny_corpus, **overrides)
    saved = export_saved_model(model, feature_params, str(tmp_path / "saved"))
    lite = TFLiteSpeech2Text(
        export_tflite(model, feature_params, str(tmp_path / "m.tflite")), model.data_spec.target.vocab
    )
    serve = tf.saved_model.load(saved).signatures["serving_default"]
    transcripts = []
    for audio in read_test_audio(tiny_corpus)[:4]:
        ref = serve(audio=tf.constant(audio[None]), audio_length=tf.constant([len(audio)]))
        text, log_probs = lite.transcribe(audio)
        n = int(ref["log_probs_length"][0])
        assert log_probs.shape == (n, model.data_spec.target.vocab_size + 1)
        np.testing.assert_allclose(log_probs, ref["log_probs"].numpy()[0, :n], atol=1e-4)
        assert text == ref["transcript"].numpy()[0].decode()
        transcripts.append(text)
    assert any(transcripts), "all transcripts empty: the comparison would be vacuous"
    check_padded_batch(lite, read_test_audio(tiny_corpus)[:2])


def check_padded_batch(lite, audios):
    """A zero-padded batch of two decodes like each utterance alone."""
    lengths = np.array([len(a) for a in audios], np.int32)
    batch = np.zeros((2, lengths.max()), np.float32)
    for i, a in enumerate(audios):
        batch[i, : len(a)] = a
    out = lite.runner(audio=batch, audio_length=lengths)
    for i, audio in enumerate(audios):
        single = lite(audio)
        n = int(single["ids_length"][0])
        assert int(out["ids_length"][i]) == n
        np.testing.assert_array_equal(out["ids"][i, :n], single["ids"][0, :n])


def test_new_axis_slices_become_expand_dims_that_convert_to_builtins():
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def f(x):
        return {"a": x[..., None] * 2.0, "b": x[:, None, :] + 1.0, "c": x[None, :, :, None]}

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    rewritten = rewrite_new_axis_slices(convert_variables_to_constants_v2(f.get_concrete_function()))
    ops = {op.type for op in rewritten.graph.get_operations()}
    assert "ExpandDims" in ops and "StridedSlice" not in ops
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = rewritten(tf.constant(x))
    expected = f(tf.constant(x))
    for key, value in zip(sorted(expected), tf.nest.flatten(got)):
        np.testing.assert_array_equal(value.numpy(), expected[key].numpy())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([rewritten], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    assert converter.convert()


def test_masked_conv_time_padding_equals_tf_pad_and_keeps_channels():
    from open_s2s.layers.masked_conv import _pad_time

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3]), tf.TensorSpec([], tf.int32)])
    def pad(x, right):
        y = _pad_time(x, 2, right)
        assert y.shape[-1] == 3  # static, as TFLite's CONV_2D needs
        return y

    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(pad(x, 4).numpy(), np.pad(x, [[0, 0], [2, 4], [0, 0]]))
