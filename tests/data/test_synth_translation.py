"""Tests of the Apertium English -> Spanish corpus builder (the apertium tests skip without it)."""

import json
import os
import shutil

import pytest

from open_s2s.data import synth_translation as st
from open_s2s.data.text2text import ParallelTextDataLayer, detokenize

needs_apertium = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apertium / apertium-eng-spa not installed (make setup)"
)


def test_truecase():
    assert st.truecase("yesterday i met john in may") == "Yesterday I met John in May."
    assert st.truecase("i'm sure mark saw grace on monday") == "I'm sure Mark saw Grace on Monday."
    assert st.truecase("she said i'd like it") == "She said I'd like it."


def test_clean_translation_strips_marks_and_spaces():
    assert st.clean_translation(" Comió #comido  @gato *perro  ") == "Comió comido gato perro"
    assert st.clean_translation("Dónde   encuentras mi bolso.") == "Dónde encuentras mi bolso."


def test_word_tokens():
    assert st.word_tokens("I don't know where Mary's cat is.") == [
        "I",
        "don't",
        "know",
        "where",
        "Mary's",
        "cat",
        "is",
        ".",
    ]
    assert st.word_tokens("¿Dónde está el niño?") == ["¿", "Dónde", "está", "el", "niño", "?"]


def test_missing_apertium_says_run_make_setup(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(st.shutil, "which", lambda name: None)
    with pytest.raises(st.MissingDependencyError, match="make setup"):
        st.check_apertium()
    assert st.main(["--out", str(tmp_path / "c"), "--num_train", "5", "--no_progress"]) == 2
    assert "apertium is not installed; run `make setup`" in capsys.readouterr().err


@needs_apertium
def test_truecasing_keeps_names_and_dates():
    """Why the builder truecases: lower-case names and dates are translated as words, or not at all."""
    lower, cased = st.translate(["mark saw a dog on monday.", st.truecase("mark saw a dog on monday")])
    assert "Mark" not in lower and "lunes" not in lower
    assert cased == "Mark vio un perro el lunes."


@needs_apertium
def test_pro_drop_output_has_no_leading_space():
    (text,) = st.translate(["He ate an apple."])
    assert text == "Comió una manzana."


@needs_apertium
def test_build_small_corpus(tmp_path):
    out = tmp_path / "nmt"
    meta = st.build_corpus(str(out), num_train=300, num_dev=20, num_test=20, seed=3, vocab_size=300, progress=False)
    assert not meta["reused"] and meta["counts"] == {"train": 300, "dev": 20, "test": 20}
    lines = {
        (split, lang): (out / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()
        for split in st.SPLITS
        for lang in st.LANGS
    }
    for (split, _lang), text in lines.items():
        assert len(text) == meta["counts"][split]
        for line in text:
            assert line == line.strip() and "  " not in line and not set("#@*") & set(line) and line.endswith(".")
    # held-out sentences never occur in train (and the metadata says so)
    assert not set(lines["test", "en"]) & set(lines["train", "en"])
    assert not set(lines["dev", "en"]) & set(lines["train", "en"])
    assert meta["test_sources_in_train"] == 0.0 and meta["dev_sources_in_train"] == 0.0
    # the Spanish side is Apertium's translation of the English side, line by line
    assert st.translate(lines["test", "en"][:5]) == lines["test", "es"][:5]
    stored = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert stored["settings"]["num_train"] == 300 and stored["apertium_version"].startswith("Apertium")
    assert 0 <= stored["lexicon_baseline"]["bleu"] <= 100 and "tok:13a" in stored["lexicon_baseline"]["signature"]
    # both forms load: raw text + SentencePiece, and OpenSeq2Seq's tokens + vocab files
    raw = ParallelTextDataLayer(
        {
            "source_file": str(out / "test.en"),
            "target_file": str(out / "test.es"),
            "sentencepiece_model": str(out / "spm.model"),
        },
        "eval",
        8,
    )
    tok = ParallelTextDataLayer(
        {
            "source_file": str(out / "test.tok.en"),
            "target_file": str(out / "test.tok.es"),
            "src_vocab_file": str(out / "vocab.tok.en"),
            "tgt_vocab_file": str(out / "vocab.tok.es"),
        },
        "eval",
        8,
    )
    batch = next(iter(raw.build_dataset()))
    i = int(batch["index"][0])
    assert detokenize(batch["target"][0].numpy(), raw.spec.target) == lines["test", "es"][i]
    assert tok.num_samples == raw.num_samples == 20 and tok.spec.target.vocab[:4] == ("<PAD>", "</S>", "<S>", "<UNK>")
    # idempotent: equal settings reuse the corpus, other settings rebuild it
    mtime = os.path.getmtime(out / "train.es")
    assert st.build_corpus(str(out), 300, 20, 20, seed=3, vocab_size=300, progress=False)["reused"]
    assert os.path.getmtime(out / "train.es") == mtime
    assert not st.build_corpus(str(out), 300, 20, 20, seed=4, vocab_size=300, progress=False)["reused"]
