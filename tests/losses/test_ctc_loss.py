import itertools

import numpy as np
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, token_ids
from open_s2s.losses import CTCLoss


def batch_and_outputs(seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((3, 12, 5)).astype(np.float32)
    targets = np.array([[0, 1, 1, 2], [3, 0, 0, 0], [2, 2, 0, 0]], np.int32)  # 0 is a real id here
    target_len = np.array([4, 1, 2], np.int32)
    logit_len = np.array([12, 7, 5], np.int32)
    outputs = {keys.LOGITS: tf.constant(logits), keys.LENGTHS: tf.constant(logit_len)}
    batch = {keys.TARGET: tf.constant(targets), keys.TARGET_LENGTH: tf.constant(target_len)}
    return outputs, batch


def test_matches_tf_nn_ctc_loss_dense_path():
    outputs, batch = batch_and_outputs()
    loss = CTCLoss({}, DataSpec(target=token_ids(tuple("abcd"))))(outputs, batch)
    ref = tf.nn.ctc_loss(
        batch[keys.TARGET],
        outputs[keys.LOGITS],
        batch[keys.TARGET_LENGTH],
        outputs[keys.LENGTHS],
        logits_time_major=False,
        blank_index=4,
    )
    np.testing.assert_allclose(float(loss), float(tf.reduce_mean(ref)), rtol=1e-5)


def brute_force_nll(logits, target, blank):
    """-log sum over every alignment that collapses to ``target`` (closed form by enumeration)."""
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    total = 0.0
    for path in itertools.product(range(logits.shape[1]), repeat=logits.shape[0]):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(target):
            total += np.exp(sum(logp[t, c] for t, c in enumerate(path)))
    return -np.log(total)


def test_matches_enumeration_of_alignments():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((1, 5, 3)).astype(np.float32)
    outputs = {keys.LOGITS: tf.constant(logits), keys.LENGTHS: tf.constant([5])}
    batch = {keys.TARGET: tf.constant([[0, 0, 1]]), keys.TARGET_LENGTH: tf.constant([2])}
    loss = CTCLoss({}, DataSpec(target=token_ids(tuple("ab"))))(outputs, batch)
    np.testing.assert_allclose(float(loss), brute_force_nll(logits[0], [0, 0], blank=2), rtol=1e-4)


def test_float16_logits_are_computed_in_float32():
    outputs, batch = batch_and_outputs()
    half = {**outputs, keys.LOGITS: tf.cast(outputs[keys.LOGITS], tf.float16)}
    loss = CTCLoss({}, DataSpec(target=token_ids(tuple("abcd"))))(half, batch)
    assert loss.dtype == tf.float32


def test_unalignable_utterance_is_skipped_not_fatal():
    outputs, batch = batch_and_outputs()
    bad = {**outputs, keys.LENGTHS: tf.constant([12, 7, 1])}  # third target (len 2) cannot fit in 1 frame
    loss = CTCLoss({}, DataSpec(target=token_ids(tuple("abcd"))))(bad, batch)
    ref = tf.nn.ctc_loss(
        batch[keys.TARGET],
        outputs[keys.LOGITS],
        batch[keys.TARGET_LENGTH],
        bad[keys.LENGTHS],
        logits_time_major=False,
        blank_index=4,
    ).numpy()
    assert ref[2] > 100  # the dense reference path returns a huge "impossible" cost
    np.testing.assert_allclose(float(loss), (ref[0] + ref[1]) / 3, rtol=1e-5)


def test_gradient_is_finite():
    outputs, batch = batch_and_outputs()
    logits = tf.Variable(outputs[keys.LOGITS])
    with tf.GradientTape() as tape:
        loss = CTCLoss({}, DataSpec(target=token_ids(tuple("abcd"))))({**outputs, keys.LOGITS: logits}, batch)
    grad = tape.gradient(loss, logits).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


def test_repeats_that_do_not_fit_are_masked_by_default_as_in_openseq2seq():
    # [2, 2] in 2 frames: not longer than the frames, but "2 _ 2" needs 3: +inf for TF's kernel.
    # The two others fit: tf.nn.ctc_loss is their reference.
    outputs, batch = batch_and_outputs()
    tight = {**outputs, keys.LENGTHS: tf.constant([12, 7, 2])}
    ref = tf.nn.ctc_loss(
        batch[keys.TARGET], outputs[keys.LOGITS], batch[keys.TARGET_LENGTH], tight[keys.LENGTHS], False, blank_index=4
    ).numpy()
    loss = CTCLoss({}, DataSpec(target=token_ids(tuple("abcd"))))(tight, batch)
    np.testing.assert_allclose(float(loss), (ref[0] + ref[1]) / 3, rtol=1e-5)
    unmasked = CTCLoss({"mask_nan": False}, DataSpec(target=token_ids(tuple("abcd"))))(tight, batch)
    assert not np.isfinite(float(unmasked))
