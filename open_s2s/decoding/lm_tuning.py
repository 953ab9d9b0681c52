"""Grid search of the LM weight ``alpha`` and word bonus ``beta`` of CTC beam search."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import numpy as np


@dataclass(frozen=True)
class GridPoint:
    """WER (in %) of one ``(alpha, beta)`` pair."""

    alpha: float
    beta: float
    wer: float


def corpus_wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """WER in % over the utterances with a non-empty reference (jiwer: total edits / words)."""
    pairs = [(" ".join(r.split()), " ".join(h.split())) for r, h in zip(references, hypotheses)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        raise ValueError("no references to compute a WER against")
    refs, hyps = zip(*pairs)
    return 100.0 * jiwer.wer(list(refs), list(hyps))


def grid_search(
    decoder,
    log_probs: Sequence[np.ndarray],
    references: Sequence[str],
    alphas: Sequence[float],
    betas: Sequence[float],
) -> tuple[GridPoint, list[GridPoint]]:
    """Decodes every utterance at every ``(alpha, beta)`` and keeps the lowest WER.

    Args:
      decoder: a ``CTCBeamSearchDecoder`` (its weights are changed with ``set_weights``).
      log_probs: per-utterance ``[frames, vocab + 1]`` log-probabilities.
      references: the transcripts.
      alphas / betas: the values to try.

    Returns:
      ``(best, all points)``; ties go to the first point in ``alphas x betas`` order.
    """
    points = []
    for alpha, beta in itertools.product(alphas, betas):
        decoder.set_weights(alpha, beta)
        hypotheses = [decoder.decode(lp) for lp in log_probs]
        points.append(GridPoint(float(alpha), float(beta), corpus_wer(references, hypotheses)))
    best = min(points, key=lambda p: p.wer)  # min keeps the first of equal WERs
    return best, points


def parse_range(spec: str) -> list[float]:
    """``'0:2:0.5'`` -> [0, 0.5, 1, 1.5, 2] (inclusive); ``'0.5,1,2'`` -> [0.5, 1, 2]."""
    if ":" in spec:
        start, stop, step = (float(x) for x in spec.split(":"))
        if step <= 0:
            raise ValueError(f"range {spec!r}: step must be > 0")
        return [round(v, 6) for v in np.arange(start, stop + step / 2, step)]
    return [float(x) for x in spec.split(",")]
