"""Tacotron2Encoder / Tacotron2Decoder / Text2SpeechLoss: harness, padding and batch
independence, teacher forcing through the generation step, stop tokens, half precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, frames, token_ids
from open_s2s.decoders import Tacotron2Decoder
from open_s2s.decoders.tacotron2_decoder import ALIGNMENTS, POSTNET, STOP_LOGITS
from open_s2s.encoders import Tacotron2Encoder
from open_s2s.layers.tacotron import guided_attention_prior
from open_s2s.losses import Text2SpeechLoss
from tests.harness import check_component

CHARS = ("<pad>", "<s>", "</s>") + tuple("abcdefgh ")
MEL = 6
SPEC = DataSpec(token_ids(CHARS, 0, 1, 2), frames(MEL, 16000, 0.0125))
ENC = {
    "src_emb_size": 8,
    "conv_layers": [{"kernel_size": [3], "num_channels": 8}, {"kernel_size": [3], "num_channels": 8}],
    "rnn_cell_dim": 6,
    "cnn_dropout_prob": 0.0,
}
POST = [{"kernel_size": [3], "num_channels": 8, "activation_fn": "tanh"}, {"kernel_size": [3], "num_channels": -1}]
DEC = {
    "attention_layer_size": 8,
    "attention_location_filters": 4,
    "attention_location_kernel": 5,
    "decoder_cell_units": 12,
    "prenet_units": 8,
    "postnet_conv_layers": POST,
    "postnet_keep_dropout_prob": 1.0,
    "reduction_factor": 2,
    "max_frames_per_char": 3.0,
}


def text_batch(time, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time, max(2, time - 3), max(2, time - 6)], np.int32)
    ids = rng.integers(3, len(CHARS), (3, time)).astype(np.int32)
    ids[np.arange(time)[None] >= lengths[:, None]] = 0
    return {keys.SOURCE: tf.constant(ids), keys.SOURCE_LENGTH: tf.constant(lengths)}


def decoder_inputs(time, seed=1):
    rng = np.random.default_rng(seed)
    text_len = np.array([7, 5, 3], np.int32)
    tgt_len = np.array([time, max(1, time - 4), max(1, time - 7)], np.int32)
    target = rng.standard_normal((3, time, MEL)).astype(np.float32)
    target[np.arange(time)[None] >= tgt_len[:, None]] = 0.0
    return {
        keys.OUTPUTS: tf.constant(rng.standard_normal((3, 7, 12)), tf.float32),
        keys.LENGTHS: tf.constant(text_len),
        keys.SOURCE_LENGTH: tf.constant(text_len),
        keys.TARGET: tf.constant(target),
        keys.TARGET_LENGTH: tf.constant(tgt_len),
    }


def memory_only(inputs):
    return {k: v for k, v in inputs.items() if k not in (keys.TARGET, keys.TARGET_LENGTH)}


def test_encoder_harness_and_padding_invariance():
    enc = check_component(Tacotron2Encoder, ENC, SPEC, text_batch)
    batch = text_batch(9)
    together = enc(batch)[keys.OUTPUTS].numpy()
    assert together.shape == (3, 9, 12)
    for b in range(3):
        n = int(batch[keys.SOURCE_LENGTH][b])
        alone = enc({keys.SOURCE: batch[keys.SOURCE][b : b + 1, :n], keys.SOURCE_LENGTH: tf.constant([n])})[
            keys.OUTPUTS
        ]
        np.testing.assert_allclose(together[b, :n], alone.numpy()[0], atol=1e-5)


def test_decoder_harness_and_shapes():
    dec = check_component(Tacotron2Decoder, DEC, SPEC, decoder_inputs, output_key=POSTNET, extra_keys=(STOP_LOGITS,))
    out = dec(decoder_inputs(9))
    assert out[POSTNET].shape == (3, 10, MEL)  # 5 steps of 2 frames cover 9 frames
    assert out[STOP_LOGITS].shape == (3, 5) and out[ALIGNMENTS].shape == (3, 5, 7)
    np.testing.assert_allclose(out[ALIGNMENTS].numpy().sum(-1), 1.0, atol=1e-5)
    assert np.all(out[ALIGNMENTS].numpy()[2, :, 3:] == 0)  # padded characters get no attention


def test_generation_stops_each_sentence_on_its_own_and_is_batch_independent():
    dec = Tacotron2Decoder(DEC, SPEC)
    inputs = decoder_inputs(6)
    dec(inputs)
    bias = dec.stop_projection.weights[1]
    bias.assign([-20.0])  # never stop: every sentence runs to its own limit
    out = dec.generate({**memory_only(inputs), "text_seed": tf.constant([1, 2, 3])})
    limits = np.ceil(np.array([7, 5, 3]) * DEC["max_frames_per_char"] / 2).astype(int)
    np.testing.assert_array_equal(out["decoder_steps"], limits)
    assert out["hit_max_length"].numpy().all()
    bias.assign([0.0])
    out = dec.generate({**memory_only(inputs), "text_seed": tf.constant([1, 2, 3])})
    for b in range(3):
        alone_inputs = {k: v[b : b + 1] for k, v in memory_only(inputs).items()}
        n_text = int(alone_inputs[keys.LENGTHS][0])
        alone_inputs[keys.OUTPUTS] = alone_inputs[keys.OUTPUTS][:, :n_text]
        alone = dec.generate({**alone_inputs, "text_seed": tf.constant([b + 1])})
        n = int(alone[keys.LENGTHS][0])
        assert int(out[keys.LENGTHS][b]) == n
        np.testing.assert_allclose(out[POSTNET][b, :n], alone[POSTNET][0, :n], atol=1e-4)


def test_teacher_forced_step_equals_generation_fed_its_own_outputs():
    """The training loop and the generation loop share the step: feeding generation's own
    frames back as targets must reproduce its frames (prenet dropout off for the check)."""
    dec = Tacotron2Decoder({**DEC, "prenet_dropout": 0.0, "dropout_prob": 0.0}, SPEC)
    inputs = decoder_inputs(6)
    dec(inputs)
    dec.stop_projection.weights[1].assign([-20.0])
    gen = dec.generate(memory_only(inputs))
    steps = gen["decoder_steps"].numpy()
    frames_out = gen["outputs"]
    forced = dec({**memory_only(inputs), keys.TARGET: frames_out, keys.TARGET_LENGTH: steps * 2})
    for b in range(3):
        n = steps[b] * 2
        np.testing.assert_allclose(forced["outputs"][b, :n], frames_out[b, :n], atol=1e-4)


def test_loss_matches_numpy_and_stop_targets():
    dec = Tacotron2Decoder(DEC, SPEC)
    inputs = decoder_inputs(9)
    out = dec(inputs)
    loss = Text2SpeechLoss({"stop_token_weight": 2.0, "stop_token_pos_weight": 3.0}, SPEC)
    target = inputs[keys.TARGET].numpy()
    lengths = inputs[keys.TARGET_LENGTH].numpy()
    mask = np.arange(9)[None] < lengths[:, None]

    def mse(pred):
        err = (pred[:, :9] - target) ** 2
        return (err * mask[:, :, None]).sum() / (mask.sum() * MEL)

    logits = out[STOP_LOGITS].numpy().astype(np.float64)
    last = (lengths + 1) // 2 - 1
    labels = (np.arange(5)[None] >= last[:, None]).astype(np.float64)
    valid = np.arange(5)[None] <= last[:, None]  # each sentence's own steps: 0 ... 0 1
    p = 1.0 / (1.0 + np.exp(-logits))
    bce = -(3.0 * labels * np.log(p) + (1 - labels) * np.log(1 - p))
    stop = (bce * valid).sum() / (lengths.sum() / 2)  # per step: frames / reduction factor
    expected = mse(out["outputs"].numpy()) + mse(out[POSTNET].numpy()) + 2.0 * stop
    assert float(loss(out, inputs)) == pytest.approx(expected, rel=1e-5)


def test_loss_of_a_batch_is_the_frame_weighted_mean_of_its_sentences_losses():
    """What makes replicas add up to one replica on their union: each sentence's loss, on its
    own unpadded outputs, weighed by its target frames (the model's ``loss_weight``), gives the
    loss of the padded batch; every term (spectrogram, stop token, guided attention)."""
    dec = Tacotron2Decoder(DEC, SPEC)
    inputs = decoder_inputs(9)
    out = dec(inputs)
    params = {"stop_token_pos_weight": 5.0, "guided_attention_weight": 0.7, "mag_weight": 1.0}
    loss = Text2SpeechLoss(params, SPEC)
    batch = {**inputs, keys.STEP: tf.constant(0)}
    lengths = inputs[keys.TARGET_LENGTH].numpy()
    text = inputs[keys.SOURCE_LENGTH].numpy()
    parts = []
    for b in range(3):
        steps = -(-lengths[b] // 2)
        alone = {
            "outputs": out["outputs"][b : b + 1, : steps * 2],
            POSTNET: out[POSTNET][b : b + 1, : steps * 2],
            STOP_LOGITS: out[STOP_LOGITS][b : b + 1, :steps],
            ALIGNMENTS: out[ALIGNMENTS][b : b + 1, :steps, : text[b]],
        }
        own = {
            keys.TARGET: inputs[keys.TARGET][b : b + 1, : lengths[b]],
            keys.TARGET_LENGTH: inputs[keys.TARGET_LENGTH][b : b + 1],
            keys.SOURCE_LENGTH: inputs[keys.SOURCE_LENGTH][b : b + 1],
            keys.STEP: tf.constant(0),
        }
        parts.append(float(loss(alone, own)) * lengths[b])
    assert float(loss(out, batch)) == pytest.approx(sum(parts) / lengths.sum(), rel=1e-5)
    guided_only = Text2SpeechLoss({"guided_attention_weight": 1.0, "mel_weight": 0.0, "stop_token_weight": 0.0}, SPEC)
    assert float(guided_only(out, batch)) > 0.0  # the guided term is part of what was compared


def test_guided_attention_prior_is_diagonal_and_masked():
    prior = guided_attention_prior(tf.constant([4, 2]), tf.constant([4, 3]), 4, 5, 0.2).numpy()
    assert prior.shape == (2, 5, 4)
    np.testing.assert_allclose(np.diagonal(prior[0][:4]), 0.0, atol=1e-6)  # n/N == t/T on the diagonal
    assert prior[0, 0, 3] > 0.9 and np.all(prior[1, 3:] == 0) and np.all(prior[1, :, 2:] == 0)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_half_precision_attention_and_generation_stay_finite(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        dec = Tacotron2Decoder(DEC, SPEC)
        inputs = decoder_inputs(8)
        out = dec(inputs, training=True)
        gen = dec.generate(memory_only(inputs))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for tensor in (out[POSTNET], out[ALIGNMENTS], gen[POSTNET], gen[ALIGNMENTS]):
        assert tensor.dtype == tf.float32 and np.all(np.isfinite(tensor.numpy()))


def test_output_type_comes_from_the_data_and_a_mismatch_is_an_error():
    from open_s2s.config.params import ConfigError
    from open_s2s.decoders.tacotron2_decoder import MAGNITUDE

    both = DataSpec(
        token_ids(CHARS, 0, 1, 2), frames(MEL + 5, 16000, 0.0125, {"output_type": "both", "num_magnitude": 5})
    )
    dec = Tacotron2Decoder(DEC, both)
    inputs = decoder_inputs(6)
    inputs[keys.TARGET] = tf.concat([inputs[keys.TARGET], tf.zeros([3, 6, 5])], axis=-1)
    out = dec(inputs)
    assert out[POSTNET].shape[-1] == MEL and out[MAGNITUDE].shape[-1] == 5
    with pytest.raises(ConfigError, match="output_type"):
        Tacotron2Decoder({**DEC, "output_type": "mel"}, both)
    with pytest.raises(ConfigError, match="num_magnitude_features"):
        Tacotron2Decoder({**DEC, "num_magnitude_features": 7}, both)
