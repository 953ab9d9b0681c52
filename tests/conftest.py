"""Shared fixtures: a tiny synthetic corpus and a small Jasper config built on it."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A 24/8/8-utterance espeak-ng corpus in the OpenSeq2Seq CSV layout."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (make setup installs them)")
    from open_s2s.data.synth_speech import synthesize_corpus

    out = tmp_path_factory.mktemp("synth_speech")
    synthesize_corpus(str(out), num_train=24, num_dev=8, num_test=8, seed=7, jobs=2, progress=False)
    return out


SMALL_ENCODER = """[
    {"type": "conv1d", "repeat": 1, "kernel_size": [5], "stride": [2], "dilation": [1],
     "num_channels": 16, "padding": "SAME", "dropout_keep_prob": 1.0},
    {"type": "conv1d", "repeat": 2, "kernel_size": [5], "stride": [1], "dilation": [1],
     "num_channels": 16, "padding": "SAME", "residual": True},
    {"type": "conv1d", "repeat": 1, "kernel_size": [3], "stride": [1], "dilation": [2],
     "num_channels": 24, "padding": "SAME"},
]"""


def write_small_config(path, corpus, **overrides) -> str:
    """Writes a small Jasper-style config on ``corpus``; ``overrides`` set top-level keys."""
    extra = "".join(f"base_params[{k!r}] = {v!r}\n" for k, v in overrides.items())
    text = (
        f"""
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad, poly_decay

base_model = Speech2Text
base_params = {{
    "batch_size_per_gpu": 4, "max_steps": 4, "random_seed": 1,
    "save_checkpoint_steps": 2, "eval_steps": 2, "print_samples_steps": None,
    "optimizer": NovoGrad, "optimizer_params": {{"beta1": 0.95, "beta2": 0.5}},
    "lr_policy": poly_decay, "lr_policy_params": {{"learning_rate": 0.01, "warmup_steps": 2}},
    "encoder": TDNNEncoder,
    "encoder_params": {{"convnet_layers": {SMALL_ENCODER}, "dropout_keep_prob": 0.9}},
    "decoder": FullyConnectedCTCDecoder, "loss": CTCLoss,
    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {{"num_audio_features": 32, "vocab_file": "{corpus}/vocab.txt",
                           "dataset_files": ["{corpus}/train.csv"]}},
}}
eval_params = {{"data_layer_params": {{"dataset_files": ["{corpus}/dev.csv"]}}}}
infer_params = {{"data_layer_params": {{"dataset_files": ["{corpus}/test.csv"]}}}}
"""
        + extra
    )
    with open(path, "w") as f:
        f.write(text)
    return str(path)


@pytest.fixture
def small_config(tmp_path, tiny_corpus):
    return write_small_config(tmp_path / "small.py", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_commands(tmp_path_factory):
    """A Speech Commands layout synthesized with 2 speakers per split (about 270 clips)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (make setup installs them)")
    from open_s2s.data.synth_commands import synthesize_dataset

    out = tmp_path_factory.mktemp("synth_commands")
    synthesize_dataset(str(out), seed=3, max_speakers_per_split=2, jobs=2, progress=False)
    return out


@pytest.fixture(autouse=True)
def _float32_policy_after_each_test():
    """Tests that run in mixed precision must not leak the global Keras policy."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")


def toy_translation(sentence: str) -> str:
    """A deterministic 'translation' with reordering: words reversed, capitalised, a period."""
    return " ".join(sentence.split()[::-1]).capitalize() + "."


@pytest.fixture(scope="session")
def toy_parallel(tmp_path_factory):
    """A 600/24-pair parallel corpus (English -> reversed English) with a 300-piece SentencePiece model."""
    from open_s2s.data.synth_text import generate_splits
    from open_s2s.data.text2text.sentencepiece import train_sentencepiece

    root = tmp_path_factory.mktemp("toy_nmt")
    splits = generate_splits(num_train=600, num_dev=0, num_test=24, seed=3)
    for split, sentences in (("train", splits["train"]), ("test", splits["test"])):
        (root / f"{split}.src").write_text("".join(s.capitalize() + ".\n" for s in sentences))
        (root / f"{split}.tgt").write_text("".join(toy_translation(s) + "\n" for s in sentences))
    texts = (root / "train.src").read_text().splitlines() + (root / "train.tgt").read_text().splitlines()
    train_sentencepiece(texts, str(root / "spm"), 300)
    return root
