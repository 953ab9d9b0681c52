import numpy as np
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.decoding.ctc import ctc_greedy_decode
from tests.harness import check_component

SPEC = DataSpec(audio_features(8, 16000, 0.01), token_ids(("a", "b", "c", "d", " ")))


def encoder_outputs(time, batch=3, channels=6, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time, max(1, time - 5), max(1, time - 11)][:batch], np.int32)
    return {
        keys.OUTPUTS: tf.constant(rng.standard_normal((batch, time, channels)), tf.float32),
        keys.LENGTHS: tf.constant(lengths),
        keys.SOURCE_LENGTH: tf.constant(lengths),
    }


def test_component_harness():
    dec = check_component(FullyConnectedCTCDecoder, {}, SPEC, encoder_outputs, output_key=keys.LOGITS)
    out = dec(encoder_outputs(20), training=False)
    assert out[keys.LOGITS].shape == (3, 20, 6) and out[keys.LOGITS].dtype == tf.float32


def test_greedy_decode_matches_tf_ctc_greedy_decoder():
    rng = np.random.default_rng(1)
    logits = tf.constant(rng.standard_normal((4, 30, 6)) * 3, tf.float32)
    lengths = tf.constant([30, 25, 9, 1], tf.int32)
    ids, out_len = ctc_greedy_decode(logits, lengths, blank_id=5)
    (ref,), _ = tf.nn.ctc_greedy_decoder(tf.transpose(logits, [1, 0, 2]), lengths, merge_repeated=True, blank_index=5)
    ref = tf.sparse.to_dense(ref, default_value=-1).numpy()
    for b in range(4):
        n = int(out_len[b])
        expected = ref[b][ref[b] >= 0]
        np.testing.assert_array_equal(ids.numpy()[b, :n], expected)
        assert np.all(ids.numpy()[b, n:] == -1)


def test_greedy_decode_merges_repeats_but_not_across_blanks():
    blank = 3
    path = [0, 0, blank, 0, 1, 1, blank, blank, 2]
    logits = tf.one_hot([path], 4) * 10.0
    ids, n = ctc_greedy_decode(logits, tf.constant([len(path)]), blank)
    assert ids.numpy()[0, : int(n[0])].tolist() == [0, 0, 1, 2]
