"""SentencePiece targets: training script, round trip against sentencepiece's decoder, data layer."""

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.data.subword import SentencePieceVocab, main
from open_s2s.data.vocab import WORD_BOUNDARY, ids_to_text, is_subword_vocab, tf_ids_to_text

SR = 16000
WORDS = "the cat sat on a mat while their dog ran to the park and back again every morning".split()


def _sentences(n, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Train CSV (200 transcripts; 4 real audio rows) and a BPE model trained by the CLI."""
    root = tmp_path_factory.mktemp("bpe")
    texts = _sentences(200)
    rng = np.random.default_rng(1)
    for i in range(4):
        sf.write(root / f"{i}.wav", 0.1 * rng.standard_normal(2 * SR).astype(np.float32), SR, subtype="PCM_16")
    header = "wav_filename,wav_filesize,transcript\n"
    (root / "train.csv").write_text(header + "".join(f"{i % 4}.wav,0,{t}\n" for i, t in enumerate(texts)))
    assert (
        main(["--dataset_files", str(root / "train.csv"), "--model_prefix", str(root / "sp"), "--vocab_size", "60"])
        == 0
    )
    return root


def test_cli_writes_a_model_without_bos_eos(corpus):
    vocab = SentencePieceVocab(str(corpus / "sp.model"))
    assert len(vocab.symbols) == 60 and vocab.symbols[0] == "<unk>"
    assert vocab.processor.bos_id() == vocab.processor.eos_id() == -1
    assert is_subword_vocab(vocab.symbols) and any(s.startswith(WORD_BOUNDARY) and len(s) > 2 for s in vocab.symbols)


def test_round_trip_python_and_graph(corpus):
    vocab = SentencePieceVocab(str(corpus / "sp.model"))
    texts = _sentences(30, seed=5) + ["again and again"]
    for text in texts:
        ids = vocab.encode(text)
        assert len(ids) < len(text)  # subwords, not characters
        assert ids_to_text(ids, vocab.symbols) == vocab.decode(ids) == text
    # Graph decoding as the SavedModel does it: symbols + an empty string for padding / blank.
    symbols = vocab.symbols + ("",)
    pad = len(symbols) - 1
    ids = [vocab.encode(t) for t in texts]
    padded = np.full([len(ids), max(map(len, ids)) + 2], pad, np.int32)
    for row, seq in zip(padded, ids):
        row[: len(seq)] = seq
    decoded = [t.decode() for t in tf_ids_to_text(tf.constant(padded), symbols).numpy()]
    assert decoded == texts


def test_data_layer_with_bpe_targets(corpus):
    params = {
        "num_audio_features": 32,
        "vocab_file": str(corpus / "sp.model"),
        "bpe": True,
        "dataset_files": [str(corpus / "train.csv")],
        "max_samples": 8,
    }
    dl = Speech2TextDataLayer(params, "eval", batch_size=8)
    spec = dl.spec
    assert spec.target.vocab_size == 60 and spec.target.vocab == dl.targets.symbols
    assert Speech2TextDataLayer.spec_from_params(params)[0] == spec
    batch = next(iter(dl.build_dataset()))
    texts = _sentences(200)
    for index, target, length in zip(
        batch[keys.INDEX].numpy(), batch[keys.TARGET].numpy(), batch[keys.TARGET_LENGTH].numpy()
    ):
        assert dl.ids_to_text(target[:length]) == texts[index] == dl.transcript(index)
        assert length == len(dl.targets.encode(texts[index]))


def test_characters_outside_the_model_are_named(corpus, tmp_path):
    (tmp_path / "bad.csv").write_text(f"wav_filename,wav_filesize,transcript\n{corpus / '0.wav'},0,the zebra sax\n")
    params = {"num_audio_features": 32, "vocab_file": str(corpus / "sp.model"), "bpe": True}
    with pytest.raises(DataError, match=r"bad\.csv:2: characters \['x', 'z'\]"):
        Speech2TextDataLayer({**params, "dataset_files": [str(tmp_path / "bad.csv")]}, "eval", 2)
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(DataError, match="junk.model: not a SentencePiece model"):
        SentencePieceVocab(str(tmp_path / "junk.model"))


def test_character_vocab_is_not_subword():
    assert not is_subword_vocab(tuple(" abc'"))
    assert ids_to_text([1, 0, 2], tuple(" abc")) == "a b"
