"""Speech2Text's eval metrics on fixed records: WER and CER against jiwer and a hand count."""

import jiwer
import pytest

from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.decoding.lm_tuning import corpus_wer
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text

VOCAB = tuple(" abcdefghijklmnopqrstuvwxyz'")
SPEC = DataSpec(audio_features(8, 16000, 0.01), token_ids(tuple(VOCAB)))
PARAMS = {
    "encoder": TDNNEncoder,
    "encoder_params": {"convnet_layers": [{"kernel_size": [3], "num_channels": 4}]},
    "decoder": FullyConnectedCTCDecoder,
    "decoder_params": {},
    "loss": CTCLoss,
    "loss_params": {},
    "data_layer": object,
    "data_layer_params": {},
}

# (index, reference, hypothesis), out of order as gathered from several replicas. Edits
# counted by hand, words (S substitutions, D deletions, I insertions) and characters (spaces
# count, as in jiwer.cer):
RECORDS = [
    # 2 words inserted ("big", "down"); 9 characters inserted ("big ", " down")
    (3, "the cat sat", "the big cat sat down"),
    # the -> a: 1 S; characters: "the" -> "a" is 1 S + 2 D = 3
    (0, "open the door", "open a door"),
    # 2 words inserted; 6 characters inserted (" go go")
    (2, "go", "go  go go "),  # extra whitespace is collapsed before scoring
    # 2 words deleted ("now", "please"); 11 characters deleted (" now please")
    (1, "stop now please", "stop"),
    # an empty reference has no words to score: left out
    (4, "", "noise"),
]
WORD_EDITS, REF_WORDS = 2 + 1 + 2 + 2, 3 + 3 + 1 + 3  # 7 / 10
CHAR_EDITS, REF_CHARS = 9 + 3 + 6 + 11, 11 + 13 + 2 + 15  # 29 / 41
HYP_WORDS, HYP_CHARS = 5 + 3 + 3 + 1, 20 + 11 + 8 + 4  # with the arguments swapped: 7 / 12, 29 / 43


def scored():
    pairs = sorted(RECORDS)
    refs = [" ".join(r.split()) for _, r, _ in pairs if r]
    hyps = [" ".join(h.split()) for _, r, h in pairs if r]
    return refs, hyps


def test_wer_and_cer_of_fixed_records_match_jiwer_and_a_hand_count():
    metrics = Speech2Text(PARAMS, SPEC).finalize_eval(list(RECORDS))
    refs, hyps = scored()
    assert metrics["num_utterances"] == 4
    assert metrics["WER"] == pytest.approx(100.0 * WORD_EDITS / REF_WORDS) == pytest.approx(70.0)
    assert metrics["CER"] == pytest.approx(100.0 * CHAR_EDITS / REF_CHARS)
    assert metrics["WER"] == pytest.approx(100.0 * jiwer.wer(refs, hyps))
    assert metrics["CER"] == pytest.approx(100.0 * jiwer.cer(refs, hyps))
    # The records tell the argument order apart: references and hypotheses swapped score
    # the same edits over the hypotheses' words and characters.
    assert 100.0 * jiwer.wer(hyps, refs) == pytest.approx(100.0 * WORD_EDITS / HYP_WORDS) != metrics["WER"]
    assert 100.0 * jiwer.cer(hyps, refs) == pytest.approx(100.0 * CHAR_EDITS / HYP_CHARS) != metrics["CER"]


def test_lm_tuning_corpus_wer_scores_the_same_records():
    refs = [r for _, r, _ in sorted(RECORDS)]
    hyps = [h for _, _, h in sorted(RECORDS)]
    assert corpus_wer(refs, hyps) == pytest.approx(100.0 * WORD_EDITS / REF_WORDS)
