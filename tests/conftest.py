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


# OpenSeq2Seq's speech_commands_preprocessing.py: the classes of v1-12 in its order (ids of its list files).
OS2S_V1_12 = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "silence"]
# and the words it calls "unknown" (release v0.01's other twenty)
OS2S_UNKNOWNS = ["bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin",
                 "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero"]  # fmt: skip


def write_os2s_lists(root, clips_per_noise: int = 6) -> dict[str, list[str]]:
    """Adds OpenSeq2Seq's v1-12 list-file layout to a Speech Commands folder ``root``.

    As its preprocessing script does: 1 s ``silence/<noise>_<offset>.wav`` clips cut from
    ``_background_noise_``, and ``v1-12-train.txt`` / ``-val.txt`` / ``-test.txt`` with one
    ``<class id>,<word>/<file>.wav`` line per clip (the other v0.01 words are ``unknown``). The split
    follows Google's lists (the script drew its own at random). Returns the lines per file.
    """
    import soundfile

    root = str(root)
    google = {}
    for name in ("validation_list.txt", "testing_list.txt"):
        with open(os.path.join(root, name)) as f:
            google[name] = set(f.read().split())
    lines: dict[str, list[str]] = {"v1-12-train.txt": [], "v1-12-val.txt": [], "v1-12-test.txt": []}

    def split_of(rel: str) -> str:
        if rel in google["validation_list.txt"]:
            return "v1-12-val.txt"
        return "v1-12-test.txt" if rel in google["testing_list.txt"] else "v1-12-train.txt"

    for word in OS2S_V1_12[:10] + OS2S_UNKNOWNS:
        label = OS2S_V1_12.index(word) if word in OS2S_V1_12[:10] else OS2S_V1_12.index("unknown")
        for name in sorted(os.listdir(os.path.join(root, word))):
            rel = f"{word}/{name}"
            lines[split_of(rel)].append(f"{label},{rel}")
    os.makedirs(os.path.join(root, "silence"), exist_ok=True)
    noise_dir = os.path.join(root, "_background_noise_")
    splits = ["v1-12-train.txt"] * (clips_per_noise - 2) + ["v1-12-val.txt", "v1-12-test.txt"]
    for noise in sorted(f for f in os.listdir(noise_dir) if f.endswith(".wav")):
        audio, rate = soundfile.read(os.path.join(noise_dir, noise), dtype="int16")
        for i, split in enumerate(splits):
            rel = f"silence/{noise[:-4]}_{i * 2000}.wav"
            soundfile.write(os.path.join(root, rel), audio[i * 2000 : i * 2000 + rate], rate, subtype="PCM_16")
            lines[split].append(f"{OS2S_V1_12.index('silence')},{rel}")
    for name, rows in lines.items():
        with open(os.path.join(root, name), "w") as f:
            f.write("".join(row + "\n" for row in rows))
    return lines


@pytest.fixture(scope="session")
def os2s_commands(tiny_commands, tmp_path_factory):
    """``tiny_commands`` copied and given OpenSeq2Seq's list-file layout (``write_os2s_lists``)."""
    out = tmp_path_factory.mktemp("os2s_commands") / "speech_commands_v0.01"
    shutil.copytree(tiny_commands, out)
    write_os2s_lists(out)
    return out


@pytest.fixture(scope="session")
def tiny_tts(tmp_path_factory):
    """A 12/4/4-utterance flite corpus (rms voice) in LJSpeech's layout (``synth_tts``)."""
    if not shutil.which("flite"):
        pytest.skip("flite is needed (make setup installs it)")
    from open_s2s.data.synth_tts import synthesize_corpus

    out = tmp_path_factory.mktemp("synth_tts")
    synthesize_corpus(str(out), num_train=12, num_dev=4, num_test=4, seed=5, jobs=2, progress=False)
    return out


@pytest.fixture(scope="session")
def small_asr_run(tmp_path_factory, tiny_corpus):
    """``write_small_config`` on the tiny corpus trained 6 steps (float32); returns (config, logdir)."""
    from open_s2s import runner

    tmp = tmp_path_factory.mktemp("small_asr")
    config = write_small_config(tmp / "small.py", tiny_corpus)
    logdir = str(tmp / "run")
    assert runner.main([f"--config_file={config}", "--mode=train", f"--logdir={logdir}", "--max_steps=6"]) == 0
    return config, logdir


KWS_CONFIG = """
from open_s2s.data.speech_commands import SpeechCommandsDataLayer
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import ResNetEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands

base_model = SpeechCommands
base_params = {{
    "batch_size_per_gpu": 8, "max_steps": 6, "random_seed": 1, "dtype": "float32",
    "save_checkpoint_steps": 6, "eval_steps": None, "print_samples_steps": None,
    "optimizer": "Adam", "optimizer_params": {{"learning_rate": 0.003}},
    "encoder": ResNetEncoder,
    "encoder_params": {{"resnet_size": 18, "num_filters": 4, "block_sizes": [1, 1], "block_strides": [1, 2],
                       "conv_kernel_size": 3}},
    "decoder": FullyConnectedSCDecoder, "loss": CrossEntropyLoss,
    "data_layer": SpeechCommandsDataLayer,
    "data_layer_params": {{"dataset_location": "{data}", "num_audio_features": 32,
                          "subtract_mean_per_feature": True}},
}}
"""


@pytest.fixture(scope="session")
def small_kws_run(tmp_path_factory, tiny_commands):
    """A tiny ResNet keyword spotter on ``tiny_commands`` trained 6 steps; returns (config, logdir)."""
    from open_s2s import runner

    tmp = tmp_path_factory.mktemp("small_kws")
    config = tmp / "kws.py"
    config.write_text(KWS_CONFIG.format(data=tiny_commands))
    logdir = str(tmp / "run")
    assert runner.main([f"--config_file={config}", f"--logdir={logdir}", "--mode=train"]) == 0
    return str(config), logdir
