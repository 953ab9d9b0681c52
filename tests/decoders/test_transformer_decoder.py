"""TransformerEncoder/Decoder: harness, padding invariance, causality, and generation that equals
a recomputation from the teacher-forced pass (the cache changes speed, not results)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, token_ids
from open_s2s.decoders import TransformerDecoder
from open_s2s.encoders import TransformerEncoder
from tests.harness import check_component

PAD, EOS, BOS, UNK = 0, 1, 2, 3
VOCAB = ("<PAD>", "</S>", "<S>", "<UNK>") + tuple(f"w{i}" for i in range(12))
SPEC = DataSpec(token_ids(VOCAB, PAD, BOS, EOS, UNK), token_ids(VOCAB, PAD, BOS, EOS, UNK))
SIZES = {"hidden_size": 16, "num_heads": 2, "filter_size": 32}
ENC = {"encoder_layers": 2, **SIZES}
DEC = {"num_hidden_layers": 2, **SIZES, "beam_size": 3, "alpha": 0.6, "extra_decode_length": 4}


def ids_batch(time, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time, max(1, time - 4), max(1, time - 9)][:batch], np.int32)
    ids = rng.integers(4, len(VOCAB), (batch, time)).astype(np.int32)
    ids[np.arange(time)[None] >= lengths[:, None]] = PAD
    ids[np.arange(batch), lengths - 1] = EOS
    return tf.constant(ids), tf.constant(lengths)


def encoder_inputs(time):
    ids, lengths = ids_batch(time)
    return {keys.SOURCE: ids, keys.SOURCE_LENGTH: lengths}


def decoder_inputs(time, seed=1):
    rng = np.random.default_rng(seed)
    src_len = np.array([9, 6, 3], np.int32)
    tgt, tgt_len = ids_batch(time, seed=seed)
    return {
        keys.OUTPUTS: tf.constant(rng.standard_normal((3, 9, 16)), tf.float32),
        keys.LENGTHS: tf.constant(src_len),
        keys.SOURCE_LENGTH: tf.constant(src_len),
        keys.TARGET: tgt,
        keys.TARGET_LENGTH: tgt_len,
    }


def encoded_only(inputs):
    return {k: v for k, v in inputs.items() if k not in (keys.TARGET, keys.TARGET_LENGTH)}


def trained_like(layer):
    """Random weights large enough that the predicted tokens vary with the context."""
    rng = np.random.default_rng(7)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


def test_encoder_harness_and_padding_invariance():
    enc = check_component(TransformerEncoder, ENC, SPEC, encoder_inputs)
    ids, lengths = ids_batch(11)
    together = enc({keys.SOURCE: ids, keys.SOURCE_LENGTH: lengths})[keys.OUTPUTS].numpy()
    for b in range(3):
        n = int(lengths[b])
        alone = enc({keys.SOURCE: ids[b : b + 1, :n], keys.SOURCE_LENGTH: lengths[b : b + 1]})[keys.OUTPUTS]
        np.testing.assert_allclose(together[b, :n], alone.numpy()[0], atol=1e-5)


def test_decoder_harness():
    dec = check_component(TransformerDecoder, DEC, SPEC, decoder_inputs, output_key=keys.LOGITS)
    out = dec(decoder_inputs(7))
    assert out[keys.LOGITS].shape == (3, 7, len(VOCAB)) and out[keys.LOGITS].dtype == tf.float32


def test_teacher_forcing_is_causal():
    dec = TransformerDecoder(DEC, SPEC)
    inputs = decoder_inputs(8)
    base = dec(inputs)[keys.LOGITS].numpy()
    changed = inputs[keys.TARGET].numpy().copy()
    changed[:, 5:] = 4  # tokens at positions >= 5 may only change logits at positions >= 6
    out = dec({**inputs, keys.TARGET: tf.constant(changed)})[keys.LOGITS].numpy()
    np.testing.assert_allclose(out[:, :6], base[:, :6], atol=1e-5)
    assert np.abs(out[:, 6:] - base[:, 6:]).max() > 1e-3


def recomputed_greedy(dec, inputs, max_extra):
    """Greedy decoding by re-running the teacher-forced pass on the growing prefix."""
    memory = encoded_only(inputs)
    results = []
    for b in range(3):
        one = {k: v[b : b + 1] for k, v in memory.items()}
        prefix = []
        for _ in range(int(one[keys.LENGTHS][0]) + max_extra):
            tgt = tf.constant([prefix + [PAD]], tf.int32)  # the last position's input is prefix[-1]
            logits = dec({**one, keys.TARGET: tgt, keys.TARGET_LENGTH: tf.constant([len(prefix) + 1])})
            token = int(np.argmax(logits[keys.LOGITS][0, -1]))
            if token == EOS:
                break
            prefix.append(token)
        results.append(prefix)
    return results


def test_cached_greedy_equals_recomputation_and_uncached():
    dec = trained_like(TransformerDecoder({**DEC, "beam_size": 1}, SPEC))
    dec(decoder_inputs(4))
    inputs = decoder_inputs(4)
    cached = dec.generate(encoded_only(inputs))
    dec_nc = TransformerDecoder({**DEC, "beam_size": 1, "use_cache": False}, SPEC)
    dec_nc(decoder_inputs(4))
    dec_nc.set_weights(dec.get_weights())
    uncached = dec_nc.generate(encoded_only(inputs))
    expected = recomputed_greedy(dec, inputs, DEC["extra_decode_length"])
    assert max(len(e) for e in expected) >= 3  # the test must exercise several cached steps
    for b in range(3):
        n = int(cached[keys.LENGTHS][b])
        assert cached["ids"][b, :n].numpy().tolist() == expected[b]
        assert uncached["ids"][b, :n].numpy().tolist() == expected[b]
    np.testing.assert_allclose(cached["scores"], uncached["scores"], rtol=1e-5)


def test_beam_search_cached_equals_uncached_and_batch_independent():
    dec = trained_like(TransformerDecoder(DEC, SPEC))
    dec(decoder_inputs(4))
    dec_nc = TransformerDecoder({**DEC, "use_cache": False}, SPEC)
    dec_nc(decoder_inputs(4))
    dec_nc.set_weights(dec.get_weights())
    memory = encoded_only(decoder_inputs(4))
    cached, uncached = dec.generate(memory), dec_nc.generate(memory)
    np.testing.assert_array_equal(cached["ids"], uncached["ids"])
    np.testing.assert_allclose(cached["scores"], uncached["scores"], rtol=1e-5)
    for b in range(3):
        n_src = int(memory[keys.LENGTHS][b])
        alone = {k: v[b : b + 1] for k, v in memory.items()}
        alone[keys.OUTPUTS] = alone[keys.OUTPUTS][:, :n_src]  # no padding at all
        single = dec.generate(alone)
        n = int(single[keys.LENGTHS][0])
        assert int(cached[keys.LENGTHS][b]) == n
        assert cached["ids"][b, :n].numpy().tolist() == single["ids"][0, :n].numpy().tolist()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_generation_is_finite_in_half_precision(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        dec = TransformerDecoder(DEC, SPEC)
        inputs = decoder_inputs(5)
        dec(inputs)
        out = dec.generate(encoded_only(inputs))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.all(np.isfinite(out["scores"].numpy()))
    assert out["scores"].dtype == tf.float32
