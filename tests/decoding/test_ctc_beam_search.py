"""CTC beam search with an n-gram LM (pyctcdecode + kenlm) on crafted log-probabilities."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.decoding.arpa import build_arpa
from open_s2s.decoding.ctc import ctc_greedy_decode, ctc_greedy_decode_dense

pytest.importorskip("kenlm")
pytest.importorskip("pyctcdecode")
from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder  # noqa: E402

VOCAB = (" ", "'", *"abcdefghijklmnopqrstuvwxyz")
BLANK = len(VOCAB)


def crafted_log_probs(text, ambiguous=None, frames_per_char=2):
    """Log-probs whose best path spells ``text``; ``ambiguous = (position, other char, p)``
    makes the character at ``position`` win with only probability ``1 - p`` over ``other``."""
    rows = []
    for i, char in enumerate(text):
        probs = np.full(BLANK + 1, 1e-4)
        probs[VOCAB.index(char)] = 1.0
        if ambiguous and ambiguous[0] == i:
            probs[VOCAB.index(char)] = 1 - ambiguous[2]
            probs[VOCAB.index(ambiguous[1])] = ambiguous[2]
        rows.append(probs / probs.sum())
        blank = np.full(BLANK + 1, 1e-4)
        blank[BLANK] = 1.0
        rows.extend([blank / blank.sum()] * (frames_per_char - 1))
    return np.log(np.array(rows, np.float32))


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "cat.arpa"
    sentences = ["the cat sat on the mat", "a cat sat", "the cat ran", "my cat sat on a mat"] * 3
    path.write_text(build_arpa(sentences, 3))
    return str(path)


def test_lm_overrules_a_close_acoustic_call(lm_path):
    # acoustically "the cad sat" by a hair (d 0.55 vs t 0.45); the LM only knows "cat"
    log_probs = crafted_log_probs("the cad sat", ambiguous=(6, "t", 0.45))
    decoder = CTCBeamSearchDecoder(VOCAB, lm_path, alpha=1.0, beta=1.0, beam_width=16)
    assert decoder.decode(log_probs) == "the cat sat"
    decoder.set_weights(alpha=0.0, beta=0.0)
    assert decoder.decode(log_probs) == "the cad sat"


def test_zero_lm_weights_on_clear_log_probs_give_the_greedy_transcript(lm_path):
    rng = np.random.default_rng(0)
    decoder = CTCBeamSearchDecoder(VOCAB, lm_path, alpha=0.0, beta=0.0, beam_width=8)
    for _ in range(5):
        text = "".join(rng.choice(list("abc dog"), size=12))
        text = " ".join(text.split())
        log_probs = crafted_log_probs(text)
        ids, n = ctc_greedy_decode(tf.constant(log_probs[None]), tf.constant([len(log_probs)]), BLANK)
        greedy = "".join(VOCAB[i] for i in ids.numpy()[0, : int(n[0])])
        assert decoder.decode(log_probs) == greedy == text


def test_fc_decoder_param_checks_and_text_decoder(lm_path, tmp_path):
    spec = DataSpec(audio_features(8, 16000, 0.01), token_ids(tuple(VOCAB)))
    with pytest.raises(ConfigError, match="lm_path"):
        FullyConnectedCTCDecoder({"use_language_model": True}, spec)
    assert FullyConnectedCTCDecoder({}, spec).text_decoder() is None
    with pytest.raises(ConfigError, match="no such file"):
        FullyConnectedCTCDecoder({"use_language_model": True, "lm_path": str(tmp_path / "x")}, spec).text_decoder()
    dec = FullyConnectedCTCDecoder({"use_language_model": True, "lm_path": lm_path, "alpha": 1.0}, spec)
    log_probs = crafted_log_probs("the cad sat", ambiguous=(6, "t", 0.45))
    assert dec.text_decoder().decode_batch(log_probs[None], [len(log_probs)]) == ["the cat sat"]
    outputs = {keys.LOGITS: tf.constant(log_probs[None]), keys.LENGTHS: tf.constant([len(log_probs)])}
    decoded = dec.decode(outputs)
    np.testing.assert_allclose(decoded["log_probs"].numpy(), log_probs[None], atol=1e-5)


def test_dense_greedy_decode_equals_the_ragged_one():
    rng = np.random.default_rng(3)
    for time in (1, 7, 40):
        logits = tf.constant(rng.standard_normal((4, time, 6)) * 3, tf.float32)
        lengths = tf.constant([time, max(time - 3, 0), 1, time // 2], tf.int32)
        ids, n = ctc_greedy_decode(logits, lengths, blank_id=5)
        dense_ids, dense_n = ctc_greedy_decode_dense(logits, lengths, blank_id=5)
        np.testing.assert_array_equal(n.numpy(), dense_n.numpy())
        np.testing.assert_array_equal(ids.numpy(), dense_ids.numpy())
