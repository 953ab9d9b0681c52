"""ARPA builder: kenlm loads the file and every conditional distribution sums to one."""

import csv
import math
import os

import pytest

from open_s2s.decoding.arpa import BOS, EOS, UNK, build_arpa, discounts

kenlm = pytest.importorskip("kenlm")

SENTENCES = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat saw the dog",
    "the cat sat",
    "a dog ran",
    "the mat was red",
    "the cat sat on the mat",
]


def load(tmp_path, sentences, order):
    path = tmp_path / "lm.arpa"
    path.write_text(build_arpa(sentences, order))
    return kenlm.Model(str(path)), path


def conditional_sum(model, context, vocab):
    """sum over w of p(w | context) through kenlm's own backoff arithmetic."""
    state = kenlm.State()
    if context[:1] == [BOS]:
        model.BeginSentenceWrite(state)
        context = context[1:]
    else:
        model.NullContextWrite(state)
    for word in context:
        out = kenlm.State()
        model.BaseScore(state, word, out)
        state = out
    total = 0.0
    for word in vocab:
        total += 10 ** model.BaseScore(state, word, kenlm.State())
    return total


@pytest.mark.parametrize("order", [2, 3, 4])
def test_kenlm_loads_it_and_every_distribution_sums_to_one(tmp_path, order):
    model, _ = load(tmp_path, SENTENCES, order)
    assert model.order == order
    vocab = sorted({w for s in SENTENCES for w in s.split()}) + [EOS, UNK]
    contexts = [[], [BOS], [BOS, "the"], ["the"], ["the", "cat"], ["cat", "sat"], ["on", "the"], ["unseen"], ["dog"]]
    for context in contexts:
        assert conditional_sum(model, context, vocab) == pytest.approx(1.0, abs=1e-5), context


def test_header_counts_match_entries_and_seen_order_scores_higher(tmp_path):
    model, path = load(tmp_path, SENTENCES, 3)
    text = path.read_text()
    for n in (1, 2, 3):
        declared = int(text.split(f"ngram {n}=")[1].split()[0])
        section = text.split(f"\\{n}-grams:\n")[1].split("\n\n")[0]
        assert declared == len(section.strip().splitlines())
    assert model.score("the cat sat on the mat") > model.score("mat the on sat cat the") + 3
    assert model.score("the cat sat") > model.score("the cat red")


def test_orders_below_two_are_refused():
    with pytest.raises(ValueError, match="order"):
        build_arpa(SENTENCES, 1)


def test_discounts_follow_chen_goodman():
    # counts of counts t1..t4 = 10, 5, 3, 2 -> Y = 10 / 20 = 0.5
    counts = {f"g{i}": c for i, c in enumerate([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9])}
    d1, d2, d3 = discounts(counts)
    assert d1 == pytest.approx(1 - 2 * 0.5 * 5 / 10)
    assert d2 == pytest.approx(2 - 3 * 0.5 * 3 / 5)
    assert d3 == pytest.approx(3 - 4 * 0.5 * 2 / 3)
    # no count of 3 or 4: the absolute discount Y for every count
    assert discounts({"a": 1, "b": 1, "c": 2}) == pytest.approx((0.5, 0.5, 0.5))


def test_unigram_probability_is_the_kneser_ney_continuation_estimate(tmp_path):
    # bigram model of "a b" and "c b": b follows 2 distinct words, </s> follows 1 (b) and
    # a, c follow <s> only; unigram continuation counts: b 2, </s> 1, a 1, c 1 -> t1 = 3,
    # t2 = 1, Y = 3 / 5 is the discount of every count (t3 = t4 = 0).
    model, _ = load(tmp_path, ["a b", "c b"], 2)
    y = 3 / 5
    gamma = 4 * y / 5  # four unigrams discounted, total continuation count 5
    uniform = 1 / 5  # a, b, c, </s>, <unk>
    expected_b = (2 - y) / 5 + gamma * uniform
    state = kenlm.State()
    model.NullContextWrite(state)
    assert 10 ** model.BaseScore(state, "b", kenlm.State()) == pytest.approx(expected_b, rel=1e-5)
    assert 10 ** model.BaseScore(state, "zzz", kenlm.State()) == pytest.approx(gamma * uniform, rel=1e-5)


def test_build_lm_script_reads_the_csv_transcripts(tmp_path):
    from scripts.build_lm import main

    csv_path = tmp_path / "train.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["wav_filename", "wav_filesize", "transcript"])
        for i, s in enumerate(SENTENCES):
            writer.writerow([f"{i}.wav", 100, s])
    out = tmp_path / "lm.arpa"
    assert main([str(csv_path), "--order", "3", "--out", str(out)]) == 0
    assert os.path.exists(out) and kenlm.Model(str(out)).order == 3
    assert math.isclose(
        kenlm.Model(str(out)).score("the cat sat"), load(tmp_path, SENTENCES, 3)[0].score("the cat sat"), rel_tol=1e-6
    )
