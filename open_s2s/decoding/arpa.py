"""Word n-gram language models in ARPA format: interpolated modified Kneser-Ney.

kenlm's ``lmplz`` is not part of the ``kenlm`` pip package, so this module estimates
the model itself, with the smoothing ``lmplz`` uses (Chen & Goodman 1998, "An
empirical study of smoothing techniques for language modeling", section 3;
Heafield et al. 2013 for the treatment of ``<s>``):

* Highest order: raw counts. Lower orders: continuation counts, the number of
  distinct words seen to the left (``N1+(. w)``), except n-grams starting with ``<s>``,
  which cannot be extended to the left and keep their raw counts.
* Three discounts per order from the counts of counts ``t1..t4`` of that order:
  ``Y = t1 / (t1 + 2 t2)``, ``D_k = k - (k + 1) Y t_{k+1} / t_k`` for ``k = 1, 2, 3+``.
  On corpora too small for these (a ``t_k`` of zero or a ``D_k`` outside ``(0, k)``,
  where ``lmplz`` stops with BadDiscountException) every ``D_k`` of that order is the
  absolute discount ``Y`` (0.5 when ``t1`` or ``t2`` is zero).
* ``p(w | h) = (a(hw) - D(a(hw))) / sum_v a(hv) + gamma(h) p(w | h')`` with
  ``gamma(h) = (D1 n1(h) + D2 n2(h) + D3 n3+(h)) / sum_v a(hv)``; unigrams interpolate
  with the uniform distribution over the vocabulary (words, ``</s>``, ``<unk>``).

Interpolated probabilities are written for seen n-grams and ``gamma(h)`` as the
backoff weight of ``h``, so that ARPA backoff reproduces the interpolated model
exactly and every conditional distribution sums to one.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
NGram = tuple[str, ...]


def count_ngrams(sentences: Iterable[str], order: int) -> list[Counter]:
    """Raw counts of every n-gram of orders 1..order in ``<s> words </s>`` sequences."""
    counts = [Counter() for _ in range(order)]
    for sentence in sentences:
        tokens = [BOS, *sentence.split(), EOS]
        for n in range(1, order + 1):
            for i in range(len(tokens) - n + 1):
                counts[n - 1][tuple(tokens[i : i + n])] += 1
    del counts[0][(BOS,)]  # never predicted
    return counts


def adjusted_counts(raw: list[Counter]) -> list[Counter]:
    """Kneser-Ney counts: raw at the highest order and for ``<s>`` n-grams, else ``N1+(. g)``."""
    order = len(raw)
    adjusted = [Counter() for _ in range(order)]
    adjusted[-1] = Counter(raw[-1])
    for n in range(order - 1, 0, -1):
        for gram in raw[n]:
            adjusted[n - 1][gram[1:]] += 1  # one more distinct left word
        for gram, count in raw[n - 1].items():
            if gram[0] == BOS:
                adjusted[n - 1][gram] = count
    return adjusted


def discounts(counts: Counter) -> tuple[float, float, float]:
    """``(D1, D2, D3+)`` from the counts of counts (see the module docstring)."""
    t = Counter(c for c in counts.values() if c <= 4)
    t1, t2, t3, t4 = (t[k] for k in (1, 2, 3, 4))
    y = t1 / (t1 + 2 * t2) if t1 and t2 else 0.5
    if t1 and t2 and t3 and t4:
        d = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
        if all(0 < dk < k for k, dk in zip((1, 2, 3), d)):
            return d
    return (y, y, y)


def estimate(sentences: Iterable[str], order: int = 3) -> tuple[list[dict], list[dict]]:
    """Estimates the model.

    Args:
      sentences: whitespace-tokenised sentences, one per item.
      order: the n-gram order (>= 2: kenlm does not load unigram models).

    Returns:
      ``(probs, backoffs)``: per order, ``{ngram: log10 p}`` and ``{context: log10 gamma}``.
    """
    if order < 2:
        raise ValueError(f"order must be >= 2 (kenlm loads bigram models and up), got {order}")
    adjusted = adjusted_counts(count_ngrams(sentences, order))
    if not adjusted[0]:
        raise ValueError("no words in the training text")
    probs: list[dict] = [dict() for _ in range(order)]
    backoffs: list[dict] = [dict() for _ in range(order)]
    vocab_size = len(adjusted[0]) + 1  # + <unk>
    for n in range(order):
        gammas = _interpolate_order(adjusted[n], discounts(adjusted[n]), probs, n, vocab_size)
        if n:
            backoffs[n - 1] = {h: math.log10(g) for h, g in gammas.items()}
        else:
            probs[0][(UNK,)] = gammas[()] / vocab_size
    probs[0][(BOS,)] = 0.0  # written as -99
    for n in range(order):
        probs[n] = {g: (math.log10(p) if p > 0 else -99.0) for g, p in probs[n].items()}
    backoffs[0].setdefault((BOS,), 0.0)
    return probs, backoffs


def _interpolate_order(counts: Counter, d: tuple[float, float, float], probs, n: int, vocab_size: int) -> dict:
    """Fills ``probs[n]`` (linear probabilities); returns ``gamma`` of each context."""
    totals: dict[NGram, float] = defaultdict(float)
    mass: dict[NGram, float] = defaultdict(float)
    for gram, count in counts.items():
        totals[gram[:-1]] += count
        mass[gram[:-1]] += d[min(count, 3) - 1]
    gammas = {h: mass[h] / totals[h] for h in totals}
    for gram, count in counts.items():
        h = gram[:-1]
        lower = probs[n - 1][gram[1:]] if n else 1.0 / vocab_size
        probs[n][gram] = (count - d[min(count, 3) - 1]) / totals[h] + gammas[h] * lower
    return gammas


def to_arpa(probs: list[dict], backoffs: list[dict]) -> str:
    """Formats an estimated model as ARPA text (n-grams sorted within each order)."""
    order = len(probs)
    lines = ["", "\\data\\"]
    lines += [f"ngram {n + 1}={len(probs[n])}" for n in range(order)]
    for n in range(order):
        lines += ["", f"\\{n + 1}-grams:"]
        for gram in sorted(probs[n]):
            logp = -99.0 if gram == (BOS,) else probs[n][gram]
            entry = f"{logp:.7g}\t{' '.join(gram)}"
            if n < order - 1 and gram in backoffs[n]:
                entry += f"\t{backoffs[n][gram]:.7g}"
            lines.append(entry)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def build_arpa(sentences: Iterable[str], order: int = 3) -> str:
    """Interpolated modified Kneser-Ney n-gram model of ``sentences`` as ARPA text."""
    return to_arpa(*estimate(sentences, order))
