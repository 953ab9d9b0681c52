"""CTC prefix beam search with a word n-gram language model (pyctcdecode + kenlm).

Runs on numpy log-probabilities after the network (eval, infer, or an exported
model's ``log_probs`` output), so the graph and its exports keep greedy decoding.
A hypothesis ``y`` is scored ``log p_ctc(y | x) + alpha ln p_lm(y) + beta |y|_words``
(pyctcdecode's scoring; kenlm's log10 scores are converted to natural logs).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from open_s2s.config.params import ConfigError


class CTCBeamSearchDecoder:
    """Beam search over CTC log-probs whose last class is the blank.

    Args:
      vocab: the characters, index-aligned with the non-blank classes; a space
        separates words.
      lm_path: ARPA (or kenlm binary) word n-gram model; None = beam search without LM.
      alpha: language model weight.
      beta: word insertion bonus.
      beam_width: hypotheses kept per frame.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        lm_path: str | None,
        alpha: float = 0.5,
        beta: float = 1.0,
        beam_width: int = 64,
    ):
        if lm_path is not None and not os.path.isfile(lm_path):
            raise ConfigError(f"decoder_params.lm_path: no such file {lm_path!r} (scripts/build_lm.py builds one)")
        if " " not in vocab:
            raise ConfigError("CTC beam search with a word LM needs a space in the vocab to split words")
        from pyctcdecode import build_ctcdecoder  # noqa: PLC0415  (optional dependency, slow import)

        # pyctcdecode logs unigram and alphabet notices at WARNING on every build.
        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
        self.vocab = tuple(vocab)
        self.beam_width = beam_width
        from open_s2s.quiet import filtered_stderr  # noqa: PLC0415

        with filtered_stderr():  # kenlm's binary-format advice and progress bar, written from C++
            self.decoder = build_ctcdecoder(list(vocab) + [""], kenlm_model_path=lm_path, alpha=alpha, beta=beta)

    def set_weights(self, alpha: float, beta: float) -> None:
        """Changes the LM weight and word bonus without reloading the LM."""
        self.decoder.reset_params(alpha=alpha, beta=beta)

    def decode(self, log_probs: np.ndarray) -> str:
        """Best transcript of one utterance's ``[frames, vocab + 1]`` log-probabilities."""
        if len(log_probs) == 0:
            return ""
        return self.decoder.decode(np.asarray(log_probs, np.float32), beam_width=self.beam_width)

    def decode_batch(self, log_probs: np.ndarray, lengths: Sequence[int]) -> list[str]:
        """Decodes ``[batch, frames, vocab + 1]`` padded log-probs, ``lengths`` valid frames each."""
        return [self.decode(log_probs[b, : int(n)]) for b, n in enumerate(lengths)]
