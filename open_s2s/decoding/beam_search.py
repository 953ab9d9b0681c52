"""Beam search and greedy search in the graph, for autoregressive decoders.

Both searches drive a ``step_fn(ids, step, cache) -> (logits, cache)`` that scores the next
token of every live hypothesis from its last token and a decoding cache (attention keys and
values, RNN states, ...). Everything is a tensor in one ``tf.while_loop``, so one traced
function serves eval, infer and a SavedModel.

The beam search keeps, per sentence, ``beam_size`` live hypotheses and a separate set of
``beam_size`` finished ones (ended by EOS), ranks finished hypotheses by GNMT's length
penalty ``((5 + length) / 6) ** alpha`` (Wu et al. 2016, eq. 14), and stops a sentence as
soon as no live hypothesis can still beat its best finished one. Each sentence has its own
maximum length and is frozen once done, so a sentence decodes the same alone as in a
padded batch: padding and neighbours never change a beam.

Scores are float32 whatever the model's compute dtype, and "impossible" is a large finite
negative number rather than -inf, so that no ``inf - inf`` can make a NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

NEG = -1.0e9  # log-probability of an impossible hypothesis (float32)

StepFn = Callable[[tf.Tensor, tf.Tensor, Any], tuple[tf.Tensor, Any]]


def length_penalty(length: tf.Tensor, alpha: float) -> tf.Tensor:
    """GNMT's length normalization ``((5 + length) / 6) ** alpha``."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def beam_search(
    step_fn: StepFn,
    initial_cache: Any,
    initial_id: int,
    eos_id: int,
    max_lengths: tf.Tensor,
    beam_size: int,
    alpha: float,
) -> dict[str, tf.Tensor]:
    """Beam search with a finished set and GNMT length penalty.

    Args:
      step_fn: ``(ids [batch * beam] int32, step scalar int32, cache) -> (logits [batch * beam,
        vocab], cache)``; ``ids`` are the hypotheses' last tokens (``initial_id`` at step 0).
      initial_cache: nested tensors with a leading ``batch * beam`` axis (each sentence's
        entries repeated ``beam`` times, sentence-major).
      initial_id: the token fed at step 0.
      eos_id: the token that ends a hypothesis.
      max_lengths: ``[batch]`` int32, the most tokens (EOS included) each sentence may get.
      beam_size: hypotheses kept per sentence.
      alpha: length-penalty exponent (0: raw log-probability).

    Returns:
      ``ids`` [batch, max(max_lengths)] int32 best hypothesis without EOS, padded with
      ``eos_id``; ``lengths`` [batch] its tokens before EOS; ``scores`` [batch] its
      length-normalized log-probability; ``steps`` [batch] the decoding steps it took.
    """
    k = beam_size
    max_lengths = tf.cast(max_lengths, tf.int32)
    batch = tf.shape(max_lengths)[0]
    total = tf.reduce_max(max_lengths)
    first = tf.concat([[0.0], tf.fill([k - 1], NEG)], axis=0)

    state = {
        "step": tf.constant(0),
        "last": tf.fill([batch * k], tf.cast(initial_id, tf.int32)),
        "alive_seq": tf.fill([batch, k, total], tf.cast(eos_id, tf.int32)),
        "alive_logp": tf.tile(first[None], [batch, 1]),
        "fin_seq": tf.fill([batch, k, total], tf.cast(eos_id, tf.int32)),
        "fin_score": tf.fill([batch, k], NEG),
        "fin_len": tf.zeros([batch, k], tf.int32),
        "done": tf.zeros([batch], tf.bool),
        "steps": tf.zeros([batch], tf.int32),
        "cache": initial_cache,
    }
    best_bound_norm = length_penalty(max_lengths, alpha)  # [batch], the largest penalty a sentence can get

    def cond(s):
        return tf.logical_not(tf.reduce_all(s["done"]))

    def body(s):
        step = s["step"]
        logits, cache = step_fn(s["last"], step, s["cache"])
        logp = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        vocab = tf.shape(logp)[-1]
        logp = tf.reshape(logp, [batch, k, vocab])
        scores = tf.reshape(s["alive_logp"][:, :, None] + logp, [batch, k * vocab])
        top_logp, top_idx = tf.math.top_k(scores, k=2 * k)  # enough to keep k live after EOS ones
        beam_idx, token = top_idx // vocab, top_idx % vocab
        seq = tf.gather(s["alive_seq"], beam_idx, batch_dims=1)  # [batch, 2k, total]
        position = tf.one_hot(step, total, on_value=True, off_value=False)
        seq = tf.where(position[None, None], token[:, :, None], seq)
        is_eos = tf.equal(token, eos_id)
        last_step = step + 1 >= max_lengths  # [batch]: candidates end here, EOS or not

        # live: the k best candidates that did not end
        live_logp = tf.where(is_eos, NEG, top_logp)
        live_logp, live_pick = tf.math.top_k(live_logp, k=k)
        live_seq = tf.gather(seq, live_pick, batch_dims=1)
        live_beam = tf.gather(beam_idx, live_pick, batch_dims=1)
        live_token = tf.gather(token, live_pick, batch_dims=1)

        # finished: the k best of the old finished set and the candidates that ended now
        ends = is_eos | last_step[:, None]
        norm = length_penalty(step + 1, alpha)
        cand_score = tf.where(ends & (top_logp > NEG / 2), top_logp / norm, NEG)
        cand_len = tf.where(is_eos, step, step + 1) * tf.ones_like(token)
        all_score = tf.concat([s["fin_score"], cand_score], axis=1)
        all_seq = tf.concat([s["fin_seq"], seq], axis=1)
        all_len = tf.concat([s["fin_len"], cand_len], axis=1)
        fin_score, fin_pick = tf.math.top_k(all_score, k=k)
        fin_seq = tf.gather(all_seq, fin_pick, batch_dims=1)
        fin_len = tf.gather(all_len, fin_pick, batch_dims=1)

        # a sentence is done at its last step, or when no live hypothesis can still beat its
        # best finished one: log-probs only fall and the penalty is largest at the maximum
        # length, so live_logp / penalty(max length) bounds every continuation's score. (The
        # top hypothesis is all we return; waiting for k finished ones would change nothing.)
        bound = live_logp[:, 0] / best_bound_norm
        done_now = last_step | (fin_score[:, 0] >= bound)

        # sentences already done keep their state: they decode as they would alone
        keep = s["done"]
        new = {
            "step": step + 1,
            "alive_seq": tf.where(keep[:, None, None], s["alive_seq"], live_seq),
            "alive_logp": tf.where(keep[:, None], s["alive_logp"], live_logp),
            "fin_seq": tf.where(keep[:, None, None], s["fin_seq"], fin_seq),
            "fin_score": tf.where(keep[:, None], s["fin_score"], fin_score),
            "fin_len": tf.where(keep[:, None], s["fin_len"], fin_len),
            "done": keep | done_now,
            "steps": tf.where(keep, s["steps"], step + 1),
        }
        beams = tf.where(keep[:, None], tf.range(k)[None], live_beam)
        new["last"] = tf.reshape(tf.where(keep[:, None], tf.reshape(s["last"], [batch, k]), live_token), [-1])
        flat = tf.reshape(beams + tf.range(batch)[:, None] * k, [-1])
        new["cache"] = tf.nest.map_structure(lambda t: tf.gather(t, flat), cache)
        return (new,)

    (final,) = tf.while_loop(cond, body, (state,), maximum_iterations=total)
    # every sentence ends with k finished hypotheses (its last step finishes all live ones)
    ids = final["fin_seq"][:, 0]
    lengths = final["fin_len"][:, 0]
    mask = tf.sequence_mask(lengths, total)
    return {
        "ids": tf.where(mask, ids, tf.cast(eos_id, tf.int32)),
        "lengths": lengths,
        "scores": final["fin_score"][:, 0],
        "steps": final["steps"],
    }


def greedy_search(
    step_fn: StepFn, initial_cache: Any, initial_id: int, eos_id: int, max_lengths: tf.Tensor
) -> dict[str, tf.Tensor]:
    """Arg max at every step until EOS or each sentence's ``max_lengths``.

    Same ``step_fn`` contract as ``beam_search`` with a leading ``batch`` axis (beam 1).
    Returns ``ids`` [batch, max(max_lengths)] (padded with ``eos_id``), ``lengths`` [batch]
    (tokens before EOS) and ``scores`` [batch] (summed log-probabilities of the tokens kept).
    """
    max_lengths = tf.cast(max_lengths, tf.int32)
    batch = tf.shape(max_lengths)[0]
    total = tf.reduce_max(max_lengths)
    state = {
        "step": tf.constant(0),
        "last": tf.fill([batch], tf.cast(initial_id, tf.int32)),
        "ids": tf.fill([batch, total], tf.cast(eos_id, tf.int32)),
        "lengths": tf.zeros([batch], tf.int32),
        "scores": tf.zeros([batch], tf.float32),
        "done": tf.zeros([batch], tf.bool),
        "cache": initial_cache,
    }

    def cond(s):
        return tf.logical_not(tf.reduce_all(s["done"]))

    def body(s):
        step = s["step"]
        logits, cache = step_fn(s["last"], step, s["cache"])
        logp = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        token = tf.argmax(logp, axis=-1, output_type=tf.int32)
        active = tf.logical_not(s["done"])
        is_eos = tf.equal(token, eos_id)
        write = active & tf.logical_not(is_eos)
        position = tf.one_hot(step, total, on_value=True, off_value=False)
        new = {
            "step": step + 1,
            "last": tf.where(active, token, s["last"]),
            "ids": tf.where(write[:, None] & position[None], token[:, None], s["ids"]),
            "lengths": s["lengths"] + tf.cast(write, tf.int32),
            "scores": s["scores"] + tf.where(write, tf.reduce_max(logp, axis=-1), 0.0),
            "done": s["done"] | is_eos | (step + 1 >= max_lengths),
            "cache": cache,
        }
        return (new,)

    (final,) = tf.while_loop(cond, body, (state,), maximum_iterations=total)
    return {"ids": final["ids"], "lengths": final["lengths"], "scores": final["scores"]}


def tile_beams(tree: Any, beam_size: int) -> Any:
    """``[batch, ...]`` -> ``[batch * beam, ...]``, each sentence repeated ``beam_size`` times."""
    return tf.nest.map_structure(lambda t: tf.repeat(t, beam_size, axis=0), tree)
