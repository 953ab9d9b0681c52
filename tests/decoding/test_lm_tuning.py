"""Grid search of alpha/beta on saved logits, and the logits file round trip."""

import numpy as np
import pytest

from open_s2s.decoding.arpa import build_arpa
from open_s2s.decoding.lm_tuning import corpus_wer, grid_search, parse_range
from open_s2s.decoding.logits_io import SavedLogits, load_logits, save_logits
from tests.decoding.test_ctc_beam_search import VOCAB, crafted_log_probs

pytest.importorskip("kenlm")
from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder  # noqa: E402


def test_grid_search_picks_the_weights_with_the_lowest_wer(tmp_path):
    lm = tmp_path / "lm.arpa"
    lm.write_text(build_arpa(["the cat sat on the mat", "a cat sat", "the dog ran"] * 3, 3))
    refs = ["the cat sat", "the dog ran", "a cat sat"]
    log_probs = [
        crafted_log_probs("the cad sat", ambiguous=(6, "t", 0.45)),
        crafted_log_probs("the dog ran"),
        crafted_log_probs("a cap sat", ambiguous=(4, "t", 0.4)),
    ]
    decoder = CTCBeamSearchDecoder(VOCAB, str(lm), beam_width=16)
    best, points = grid_search(decoder, log_probs, refs, alphas=[0.0, 1.0], betas=[0.0, 0.5])
    assert len(points) == 4
    wer = {(p.alpha, p.beta): p.wer for p in points}
    assert wer[(0.0, 0.0)] == pytest.approx(100 * 2 / 9)  # two substitutions in nine words
    assert wer[(1.0, 0.0)] == 0.0
    assert (best.alpha, best.beta, best.wer) == (1.0, 0.0, 0.0)  # first of the zero-WER points


def test_corpus_wer_and_parse_range():
    assert corpus_wer(["a b c", "d"], ["a x c", "d"]) == pytest.approx(25.0)
    assert parse_range("0:1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_range("0.5,2") == [0.5, 2.0]
    with pytest.raises(ValueError):
        parse_range("0:1:0")


def test_saved_logits_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    logits = SavedLogits(
        [rng.standard_normal((n, 5)).astype(np.float32) for n in (3, 1, 7)],
        ["a.wav", "b.wav", "c.wav"],
        ["x y", "", "z"],
        (" ", "a", "b", "'"),
    )
    save_logits(str(tmp_path / "l.npz"), logits)
    back = load_logits(str(tmp_path / "l.npz"))
    assert back.names == logits.names and back.references == logits.references and back.vocab == logits.vocab
    for a, b in zip(back.log_probs, logits.log_probs):
        np.testing.assert_array_equal(a, b)
