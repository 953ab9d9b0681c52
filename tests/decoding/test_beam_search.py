"""In-graph beam and greedy search against exhaustive search and a plain-Python beam search."""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.decoding.beam_search import beam_search, greedy_search, tile_beams

VOCAB, EOS, START, STATES = 5, 1, 0, 7


def table(seed):
    """log-softmax scores indexed by [sentence, state, step, token]."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.0, (3, STATES, 8, VOCAB))
    logits[..., EOS] -= 1.5  # long enough hypotheses that beams reorder and compete
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def state_of(prefix):
    """The hypothesis state a model would keep: a hash of the tokens so far (start token included)."""
    h = 0
    for t in prefix:
        h = (h * 3 + t + 1) % STATES
    return h


def make_step(logp, sentence_ids):
    """A step_fn whose cache is each hypothesis' state: a wrongly reordered cache changes the result."""
    logp_t = tf.constant(logp, tf.float32)

    def step(last, i, cache):
        state = (cache["state"] * 3 + last + 1) % STATES
        logits = tf.gather_nd(logp_t, tf.stack([cache["sentence"], state, tf.fill(tf.shape(state), i)], axis=1))
        return logits * 1.0, {"state": state, "sentence": cache["sentence"]}

    def cache(beam):
        n = len(sentence_ids)
        base = {"state": tf.zeros([n], tf.int32), "sentence": tf.constant(sentence_ids, tf.int32)}
        return tile_beams(base, beam) if beam > 1 else base

    return step, cache


def score(logp, sentence, seq, alpha, ended_by_eos):
    total, prefix = 0.0, [START]
    for i, t in enumerate(seq + ([EOS] if ended_by_eos else [])):
        total += logp[sentence, state_of(prefix), i, t]
        prefix.append(t)
    length = len(seq) + (1 if ended_by_eos else 0)
    return total / ((5.0 + length) / 6.0) ** alpha


def exhaustive(logp, sentence, max_len, alpha):
    """The best hypothesis over every sequence: EOS-ended ones, or max_len tokens without EOS."""
    best = (-math.inf, None)
    tokens = [t for t in range(VOCAB) if t != EOS]
    for n in range(max_len + 1):
        for seq in itertools.product(tokens, repeat=n):
            if n < max_len:
                best = max(best, (score(logp, sentence, list(seq), alpha, True), list(seq)))
            elif n == max_len:
                best = max(best, (score(logp, sentence, list(seq), alpha, False), list(seq)))
    return best


def python_beam(logp, sentence, max_len, k, alpha):
    """A plain-Python beam search with the same rules (finished set, GNMT penalty, early stop).

    Returns the best finished hypothesis and the number of steps taken.
    """
    alive, finished = [(0.0, [])], []
    steps = 0
    for step in range(max_len):
        steps += 1
        cands = []
        for lp, seq in alive:
            prefix = [START] + seq
            for t in range(VOCAB):
                cands.append((lp + logp[sentence, state_of(prefix), step, t], seq + [t]))
        cands.sort(key=lambda c: -c[0])
        cands = cands[: 2 * k]
        last = step + 1 >= max_len
        norm = ((5.0 + step + 1) / 6.0) ** alpha
        for lp, seq in cands:
            if seq[-1] == EOS:
                finished.append((lp / norm, seq[:-1]))
            elif last:
                finished.append((lp / norm, seq))
        finished = sorted(finished, key=lambda c: -c[0])[:k]
        alive = [c for c in cands if c[1][-1] != EOS][:k]
        if last:
            break
        bound = alive[0][0] / ((5.0 + max_len) / 6.0) ** alpha
        if finished and finished[0][0] >= bound:  # nothing live can beat the best finished
            break
    return finished[0], steps


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_wide_beam_finds_the_exhaustive_optimum(alpha):
    logp = table(0)
    max_lens = [4, 3, 2]
    step, cache = make_step(logp, [0, 1, 2])
    out = beam_search(step, cache(32), START, EOS, tf.constant(max_lens), beam_size=32, alpha=alpha)
    for b, max_len in enumerate(max_lens):
        best_score, best_seq = exhaustive(logp, b, max_len, alpha)
        n = int(out["lengths"][b])
        assert out["ids"][b, :n].numpy().tolist() == best_seq
        assert float(out["scores"][b]) == pytest.approx(best_score, rel=1e-5)


@pytest.mark.parametrize("beam", [2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_narrow_beam_matches_plain_python_beam(beam, alpha):
    for seed in range(10):
        logp = table(seed)
        max_lens = [6, 5, 3]
        step, cache = make_step(logp, [0, 1, 2])
        out = beam_search(step, cache(beam), START, EOS, tf.constant(max_lens), beam_size=beam, alpha=alpha)
        for b, max_len in enumerate(max_lens):
            (ref_score, ref_seq), ref_steps = python_beam(logp, b, max_len, beam, alpha)
            n = int(out["lengths"][b])
            assert out["ids"][b, :n].numpy().tolist() == ref_seq, (seed, b)
            assert float(out["scores"][b]) == pytest.approx(ref_score, rel=1e-5)
            assert (out["ids"][b, n:].numpy() == EOS).all()
            assert int(out["steps"][b]) == ref_steps


def test_a_sentence_decodes_the_same_alone_and_in_a_batch():
    logp = table(3)
    step, cache = make_step(logp, [0, 1, 2])
    together = beam_search(step, cache(3), START, EOS, tf.constant([7, 2, 5]), beam_size=3, alpha=0.6)
    for b, max_len in enumerate([7, 2, 5]):
        step1, cache1 = make_step(logp, [b])
        alone = beam_search(step1, cache1(3), START, EOS, tf.constant([max_len]), beam_size=3, alpha=0.6)
        n = int(alone["lengths"][0])
        assert int(together["lengths"][b]) == n
        assert together["ids"][b, :n].numpy().tolist() == alone["ids"][0, :n].numpy().tolist()
        assert float(together["scores"][b]) == float(alone["scores"][0])


def test_greedy_takes_the_arg_max_until_eos():
    logp = table(4)
    step, cache = make_step(logp, [0, 1, 2])
    out = greedy_search(step, cache(1), START, EOS, tf.constant([6, 6, 1]))
    for b, max_len in enumerate([6, 6, 1]):
        seq, prefix = [], [START]
        for i in range(max_len):
            t = int(np.argmax(logp[b, state_of(prefix), i]))
            if t == EOS:
                break
            seq.append(t)
            prefix.append(t)
        n = int(out["lengths"][b])
        assert out["ids"][b, :n].numpy().tolist() == seq


def test_search_runs_in_one_traced_function():
    logp = table(5)
    step, cache = make_step(logp, [0, 1, 2])

    @tf.function
    def run(max_lens):
        return beam_search(step, cache(2), START, EOS, max_lens, beam_size=2, alpha=0.6)

    eager = beam_search(step, cache(2), START, EOS, tf.constant([5, 4, 3]), beam_size=2, alpha=0.6)
    graph = run(tf.constant([5, 4, 3]))
    np.testing.assert_array_equal(eager["ids"], graph["ids"])
    np.testing.assert_array_equal(eager["lengths"], graph["lengths"])
