"""DeepSpeech2 export: the SavedModel transcribes like the in-process model, and a TFLite
export with built-in ops only fails with a message that names the recurrent layers and
the Select-TF-ops way out (instead of a bare converter trace)."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.loader import resolve_config
from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import compute_features
from open_s2s.export import export_saved_model
from open_s2s.export.tflite import export_tflite
from tests.conftest import write_small_config
from tests.export.test_tflite_export import read_test_audio

DS2_ENCODER = {
    "conv_layers": [
        {"kernel_size": [5, 7], "stride": [2, 2], "num_channels": 4, "padding": "SAME"},
        {"kernel_size": [3, 5], "stride": [1, 2], "num_channels": 4, "padding": "SAME"},
    ],
    "num_rnn_layers": 1,
    "rnn_cell_dim": 8,
    "rnn_type": "cudnn_gru",
    "n_hidden": 16,
}


@pytest.fixture(scope="module")
def ds2(tmp_path_factory, tiny_corpus):
    tmp = tmp_path_factory.mktemp("ds2_export")
    config = write_small_config(tmp / "ds2.py", tiny_corpus, encoder_params=DS2_ENCODER)
    with open(config, "a") as f:
        f.write("from open_s2s.encoders import DeepSpeech2Encoder\nbase_params['encoder'] = DeepSpeech2Encoder\n")
    model_cls, params = resolve_config(config, "infer", [])
    data_spec, feature_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    tf.keras.utils.set_random_seed(3)
    model = model_cls(params, data_spec)
    model(model.dummy_batch(), training=False)
    return tmp, model, feature_params


def test_saved_model_equals_in_process(ds2, tiny_corpus):
    tmp, model, feature_params = ds2
    serve = tf.saved_model.load(export_saved_model(model, feature_params, str(tmp / "saved")))
    serve = serve.signatures["serving_default"]
    audio = read_test_audio(tiny_corpus)[:3]
    lengths = np.array([len(a) for a in audio], np.int32)
    batch = np.zeros((len(audio), lengths.max()), np.float32)
    for i, a in enumerate(audio):
        batch[i, : len(a)] = a
    out = serve(audio=tf.constant(batch), audio_length=tf.constant(lengths))
    n = out["log_probs_length"].numpy()
    # the same features and network in-process
    features, feature_lengths = compute_features(batch, lengths, feature_params, training=False)
    outputs = model({keys.SOURCE: features, keys.SOURCE_LENGTH: feature_lengths}, training=False)
    expected = tf.nn.log_softmax(tf.cast(outputs[keys.LOGITS], tf.float32)).numpy()
    np.testing.assert_array_equal(n, outputs[keys.LENGTHS].numpy())
    for i in range(len(audio)):
        np.testing.assert_allclose(out["log_probs"].numpy()[i, : n[i]], expected[i, : n[i]], atol=1e-5)


def test_tflite_builtins_error_names_the_rnn_and_select_ops(ds2):
    tmp, model, feature_params = ds2
    with pytest.raises(ConfigError) as e:
        export_tflite(model, feature_params, str(tmp / "ds2.tflite"))
    msg = str(e.value)
    assert "TensorList" in msg and "Select TF ops" in msg and "GRU/LSTM" in msg
    assert not (tmp / "ds2.tflite").exists()
