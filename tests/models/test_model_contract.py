"""The model contract: a teacher-forced pass for the loss, a free-running pass for everything else."""

import numpy as np
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, class_id, token_ids
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.decoders.decoder import Decoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.losses.loss import Loss
from open_s2s.models.model import EncoderDecoderModel
from open_s2s.training import evaluation

VOCAB = tuple("abcd")
ENCODER = {
    "convnet_layers": [
        {"type": "conv1d", "repeat": 1, "kernel_size": [3], "stride": [1], "dilation": [1], "num_channels": 8}
    ]
}


class CountingDecoder(Decoder):
    """An autoregressive toy: teacher-forced outputs copy the targets; generation counts steps.

    Generation emits ``1, 2, 3, ...`` for ``source_length`` steps, so a test can tell which
    pass produced a prediction and whether generation read the targets.
    """

    AUTOREGRESSIVE = True

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, inputs, training=False):
        target = inputs[keys.TARGET]
        logits = tf.one_hot(target, len(VOCAB)) * self.scale
        return {keys.LOGITS: logits, keys.LENGTHS: inputs[keys.TARGET_LENGTH]}

    def generate(self, inputs):
        assert keys.TARGET not in inputs and keys.TARGET_LENGTH not in inputs
        lengths = inputs[keys.SOURCE_LENGTH]
        steps = tf.range(1, tf.reduce_max(lengths) + 1)
        ids = tf.where(steps[None] <= lengths[:, None], steps[None], 0)
        return {"ids": ids, keys.LENGTHS: lengths}


class ZeroLoss(Loss):
    def __call__(self, outputs, batch):
        return tf.reduce_sum(outputs[keys.LOGITS]) * 0.0


def ctc_model():
    spec = DataSpec(audio_features(6, 16000, 0.01), token_ids(VOCAB))
    params = {"encoder": TDNNEncoder, "encoder_params": ENCODER, "decoder": FullyConnectedCTCDecoder}
    model = EncoderDecoderModel({**params, "decoder_params": {}, "loss": CTCLoss, "loss_params": {}}, spec)
    model(model.dummy_batch())
    return model


def batch(with_targets=True):
    rng = np.random.default_rng(0)
    out = {
        keys.SOURCE: tf.constant(rng.standard_normal((2, 12, 6)), tf.float32),
        keys.SOURCE_LENGTH: tf.constant([12, 7]),
    }
    if with_targets:
        out[keys.TARGET] = tf.constant([[0, 1, 2], [3, 3, 0]])
        out[keys.TARGET_LENGTH] = tf.constant([3, 2])
    return out


def test_dummy_batch_follows_the_element_spec():
    spec = DataSpec(token_ids(VOCAB), class_id(("yes", "no")))
    dummy = spec.dummy_batch()
    assert set(dummy) == {keys.SOURCE, keys.SOURCE_LENGTH, keys.TARGET}
    assert dummy[keys.SOURCE].dtype == tf.int32 and dummy[keys.SOURCE].shape == (1, 16)
    assert dummy[keys.TARGET].shape == (1,)
    for name, tensor_spec in spec.element_spec().items():
        assert tensor_spec.is_compatible_with(dummy[name]), name
    frames = DataSpec(audio_features(5, 16000, 0.01), token_ids(VOCAB)).dummy_batch()
    assert frames[keys.SOURCE].shape == (1, 16, 5) and frames[keys.TARGET_LENGTH].numpy().tolist() == [16]


def test_data_spec_round_trips_through_a_plain_dict():
    spec = DataSpec(audio_features(64, 16000, 0.01, clip_samples=16000), token_ids(VOCAB, 0, 1, 2, 3))
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert spec.target.vocab_size == 4 and spec.source.num_features == 64 and spec.target.num_features == 0


def test_generation_does_not_read_targets_and_eval_reuses_it():
    model = ctc_model()
    with_targets, without = batch(), batch(with_targets=False)
    generated = model.generate(with_targets)
    np.testing.assert_array_equal(generated["ids"], model.generate(without)["ids"])
    loss, eval_generated = model.evaluate_batch(with_targets)
    np.testing.assert_array_equal(eval_generated["ids"], generated["ids"])
    np.testing.assert_allclose(float(loss), float(model.compute_loss_value(model(with_targets), with_targets)))


def test_autoregressive_eval_scores_generation_not_the_teacher_forced_pass():
    spec = DataSpec(audio_features(6, 16000, 0.01), token_ids(VOCAB))
    params = {"encoder": TDNNEncoder, "encoder_params": ENCODER, "decoder": CountingDecoder, "decoder_params": {}}
    model = EncoderDecoderModel({**params, "loss": ZeroLoss, "loss_params": {}}, spec)
    model(model.dummy_batch())
    b = batch()
    loss, generated = evaluation.make_eval_fn(model, {k: tf.TensorSpec.from_tensor(v) for k, v in b.items()})(b)
    assert float(loss) == 0.0
    ids = generated["ids"].numpy()
    assert ids[0].tolist() == list(range(1, 13)) and ids[1].tolist() == [1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0]
    no_targets = batch(with_targets=False)
    spec_no_targets = {k: tf.TensorSpec.from_tensor(v) for k, v in no_targets.items()}
    np.testing.assert_array_equal(evaluation.make_generate_fn(model, spec_no_targets)(no_targets)["ids"], ids)
