"""``python -m open_s2s.port`` on configs written in OpenSeq2Seq's style.

The fixtures (tests/fixtures/os2s_configs) use every construct of OpenSeq2Seq's speech,
Transformer and Tacotron 2 configs: both import paths of the data layers, ``tf.contrib``
initializers with and without ``initializer_params``, the contrib L2 regularizer, ``tf.nn.relu``,
``tf.nn.tanh`` and the clipped-ReLU lambda, optimizers by name and by ``tf.train`` /
``tf.contrib.opt`` class, NovoGrad, ``"mixed"`` and ``tf.float32``, Horovod flags, summary
lists, the old LM decoder keys, SpecAugment keys, ``conv2d`` TDNN layers, the speech-commands
layouts, the text2text module's ``SpecialTextTokens`` / ``EOS_ID``, data layers only in the
mode sections, a shared module-level ``norm_params``, cuDNN and ``tf.nn.rnn_cell`` LSTM
classes, module-level ``if`` switches of dataset and output type, and ``interactive_infer_params``.
Each must port, validate and train 2 steps on a fixture in the data layout it expects (WMT's
BPE files and common vocabulary, LJSpeech's csv files and 22050 Hz wavs/); configs that need
a class or an option open_s2s lacks are refused naming it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from open_s2s import runner
from open_s2s.config.loader import resolve_config
from open_s2s.config.params import ConfigError
from open_s2s.port.cli import main as port_main

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "os2s_configs")
NAMES = [
    "ds2_style",
    "jasper_style",
    "lstm_style",
    "jasper_commands_style",
    "resnet_commands_style",
    "transformer_style",
    "transformer_nvgrad_style",
    "tacotron_style",
]
# OpenSeq2Seq's ids in open_seq2seq/data/text2text/text2text.py (SpecialTextTokens) and tokenizer.py (EOS_ID)
OS2S_PAD_ID, OS2S_EOS_ID, OS2S_S_ID = 0, 1, 2


def run_port(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = port_main(argv)
    return code, out.getvalue(), err.getvalue()


def fixture_text(name: str) -> str:
    with open(os.path.join(FIXTURES, f"{name}.py")) as f:
        return f.read()


def line_of(name: str, needle: str) -> int:
    """1-based line of the first occurrence of ``needle`` in a fixture (so tests name no line numbers)."""
    return next(i for i, line in enumerate(fixture_text(name).splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def ported(tmp_path_factory):
    """Every fixture ported once: ``{name: (path, exit code, stdout, stderr)}``."""
    out = tmp_path_factory.mktemp("ported")
    result = {}
    for name in NAMES:
        path = str(out / f"{name}.py")
        result[name] = (path, *run_port([os.path.join(FIXTURES, f"{name}.py"), "-o", path]))
    return result


def resolved(ported, name, mode="train"):
    return resolve_config(ported[name][0], mode)[1]


# ---------------------------------------------------------------------- OpenSeq2Seq's data layouts


def reversed_words(sentence: str) -> str:
    """The toy 'translation' of the fixtures: the words in reverse order."""
    return " ".join(sentence.split()[::-1])


def write_wmt_layout(root, languages=("de", "es"), num_train=160, num_test=8, seed=11) -> str:
    """OpenSeq2Seq's WMT layout under ``root``: BPE pieces separated by spaces in
    ``train.clean.<lang>.shuffled.BPE_common.32K.tok``, ``wmt13-en-<lang>.{src,ref}...``,
    ``wmt14-en-<lang>.src...`` and the common SentencePiece vocabulary ``m_common.vocab``
    (``piece<TAB>score``, the specials first), with English sentences of ``synth_text`` and
    their reversed words as the "translation"."""
    import sentencepiece

    from open_s2s.data.synth_text import generate_splits
    from open_s2s.data.text2text.sentencepiece import train_sentencepiece

    os.makedirs(root, exist_ok=True)
    splits = generate_splits(num_train=num_train, num_dev=0, num_test=num_test, seed=seed)
    src = {k: [s.capitalize() + " ." for s in v] for k, v in splits.items() if v}
    tgt = {k: [reversed_words(s) for s in v] for k, v in src.items()}
    prefix = os.path.join(root, "spm")
    train_sentencepiece(src["train"] + tgt["train"], prefix, vocab_size=200)
    shutil.copy(prefix + ".vocab", os.path.join(root, "m_common.vocab"))
    sp = sentencepiece.SentencePieceProcessor(model_file=prefix + ".model")

    def write(name, lines):
        with open(os.path.join(root, name + ".BPE_common.32K.tok"), "w") as f:
            f.writelines(" ".join(sp.encode(line, out_type=str)) + "\n" for line in lines)

    write("train.clean.en.shuffled", src["train"])
    for lang in languages:
        write(f"train.clean.{lang}.shuffled", tgt["train"])
        write(f"wmt13-en-{lang}.src", src["test"])
        write(f"wmt13-en-{lang}.ref", tgt["test"])
        write(f"wmt14-en-{lang}.src", src["test"])
    return str(root)


def write_lj_layout(corpus, root, rate=22050) -> str:
    """LJSpeech's layout as OpenSeq2Seq's Tacotron configs read it: ``metadata.csv`` and its
    ``train_32.csv`` / ``val_32.csv`` / ``test.csv`` splits (``id|raw text|normalized text``) and
    ``wavs/<id>.wav`` at LJSpeech's 22050 Hz, from a ``synth_tts`` corpus (16 kHz, resampled)."""
    import librosa
    import soundfile

    os.makedirs(os.path.join(root, "wavs"), exist_ok=True)
    for split, name in (("train", "train_32.csv"), ("dev", "val_32.csv"), ("test", "test.csv")):
        shutil.copy(os.path.join(corpus, f"metadata_{split}.csv"), os.path.join(root, name))
    shutil.copy(os.path.join(corpus, "metadata.csv"), os.path.join(root, "metadata.csv"))
    shutil.copy(os.path.join(corpus, "vocab.txt"), os.path.join(root, "vocab.txt"))
    for name in os.listdir(os.path.join(corpus, "wavs")):
        audio, sr = soundfile.read(os.path.join(corpus, "wavs", name), dtype="float32")
        audio = librosa.resample(audio, orig_sr=sr, target_sr=rate)
        soundfile.write(os.path.join(root, "wavs", name), audio, rate, subtype="PCM_16")
    return str(root)


@pytest.fixture(scope="session")
def wmt_layout(tmp_path_factory):
    return write_wmt_layout(tmp_path_factory.mktemp("wmt16"))


@pytest.fixture(scope="session")
def lj_layout(tiny_tts, tmp_path_factory):
    return write_lj_layout(tiny_tts, tmp_path_factory.mktemp("LJSpeech-1.1"))


def with_data_root(path: str, variable: str, root: str, out: str) -> str:
    """The ported config with its module-level data directory set, as its comment asks a user to."""
    with open(path) as f:
        text = f.read()
    text, count = re.subn(rf"^{variable} = .*$", f"{variable} = {(root.rstrip('/') + '/')!r}", text, flags=re.M)
    assert count == 1, variable
    with open(out, "w") as f:
        f.write(text)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_fixture_ports_and_validates(ported, name):
    path, code, out, err = ported[name]
    assert code == 0, err
    assert re.search(r"validates \(train", out)
    with open(path) as f:
        text = f.read()
    tree = ast.parse(text)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and "open_seq2seq" in n.module]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "tf"]
    assert "import tensorflow" not in text
    assert "# pylint: skip-file" in text  # comments and layout are kept


def data_overrides(name, request) -> list[str]:
    if "commands" in name:
        return [f"--data_layer_params/dataset_location={request.getfixturevalue('os2s_commands')}"]
    corpus = request.getfixturevalue("tiny_corpus")
    return [
        f"--data_layer_params/dataset_files=[{corpus}/train.csv]",
        f"--data_layer_params/vocab_file={corpus}/vocab.txt",
        "--data_layer_params/max_duration=None",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_ported_fixture_trains_two_steps(ported, name, request, tmp_path):
    path = ported[name][0]
    params = resolved(ported, name)
    if name.startswith("transformer"):
        path = with_data_root(path, "data_root", request.getfixturevalue("wmt_layout"), str(tmp_path / "c.py"))
        overrides = []
    elif name.startswith("tacotron"):
        root = request.getfixturevalue("lj_layout")
        path = with_data_root(path, "dataset_location", root, str(tmp_path / "c.py"))
        overrides = [f"--data_layer_params/vocab_file={root}/vocab.txt"]  # OpenSeq2Seq's vocab_tts.txt
    else:
        overrides = data_overrides(name, request)
    overrides += ["--max_steps=2", "--num_epochs=None", "--use_horovod=False", "--num_gpus=1", "--eval_steps=None"]
    if params["dtype"] == "mixed":
        overrides.append("--dtype=float32")  # CPU float16 kernels are slow; float16 has its own tests
    if name == "jasper_style":
        overrides.append("--lr_policy_params/decay_steps=2000")  # its 1000 warmup steps need a longer schedule
    if name == "resnet_commands_style":
        overrides += ["--encoder_params/num_filters=4", "--encoder_params/block_sizes=[1,1]"]
        overrides += ["--encoder_params/block_strides=[1,2]"]
    logdir = str(tmp_path / "run")
    code = runner.main([f"--config_file={path}", "--mode=train", f"--logdir={logdir}", *overrides])
    assert code == 0
    assert tf.train.latest_checkpoint(logdir).endswith("model-2")
    if name == "tacotron_style":
        # output_type "both": the decoder the port told so has the magnitude head (OpenSeq2Seq's
        # decoder read it from the data layer); with "mel" it would predict all bins as one frame
        names = [n for n, _ in tf.train.list_variables(tf.train.latest_checkpoint(logdir))]
        assert any("magnitude" in n for n in names), names


def test_changes_are_printed_with_their_lines(ported):
    _, _, out, _ = ported["jasper_style"]
    src = "jasper_style.py"
    expected = {
        line_of("jasper_style", "import tensorflow as tf"): "removed 'import tensorflow as tf'",
        line_of("jasper_style", "speech2text.speech2text import"): "->  from open_s2s.data import Speech2TextDataLayer",
        line_of("jasper_style", '"beta2": 0.98'): "NovoGrad beta2 0.98  ->  0.0",
        line_of("jasper_style", '"dtype": tf.float32'): 'tf.float32  ->  "float32"',
        line_of("jasper_style", "lambda x: tf.minimum"): '->  "clipped_relu"',
        line_of("jasper_style", '"backend": "librosa"'): 'dropped "backend"',
        line_of("jasper_style", '"augmentation": {'): '"spec_augment": {"num_freq_masks": 2, "max_freq_mask": 6',
    }
    lines = out.splitlines()
    for line, text in expected.items():
        assert any(f"{src}:{line}: " in x and text in x for x in lines), (line, text)


def test_l2_scale_is_halved_to_the_same_penalty(ported):
    """OpenSeq2Seq's tf.contrib.layers.l2_regularizer(s) added s * sum(w^2) / 2 (tf.nn.l2_loss);
    the ported scale must give that penalty through open_s2s' L2 term, s' * sum(w^2)."""
    from open_s2s.optimizers import l2_loss

    for name, original in (("ds2_style", 0.0005), ("jasper_commands_style", 0.001), ("lstm_style", 0.0005)):
        params = resolved(ported, name)
        assert params["regularizer"] == "l2"
        assert params["regularizer_params"]["scale"] == pytest.approx(original / 2, rel=1e-12)
        w = tf.Variable(np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32), name="kernel")
        ours = float(l2_loss([w], params["regularizer_params"]["scale"]))
        os2s = original * float(np.sum(w.numpy().astype(np.float64) ** 2)) / 2
        assert ours == pytest.approx(os2s, rel=1e-6)
    with open(ported["lstm_style"][0]) as f:
        assert '"scale": (weight_decay) / 2' in f.read().replace("'scale'", '"scale"')  # a variable stays a variable


def test_initializers_fold_their_params(ported):
    jasper = resolved(ported, "jasper_style")
    assert jasper["encoder_params"]["initializer"] == "glorot_normal"  # xavier_initializer(uniform=False)
    assert "initializer_params" not in jasper["encoder_params"]
    assert jasper["decoder_params"]["initializer"] == "glorot_uniform"  # xavier_initializer(), uniform by default
    assert resolved(ported, "ds2_style")["initializer"] == "glorot_uniform"  # top level
    assert resolved(ported, "resnet_commands_style")["initializer"] == "lecun_normal"  # tf.variance_scaling_initializer


def test_xavier_normal_is_keras_glorot_normal():
    """TF 1's xavier_initializer(uniform=False) drew a normal truncated at 2 std of standard deviation
    sqrt(1.3 / n), n = (fan_in + fan_out) / 2, whose actual standard deviation is
    0.8796 * sqrt(1.3 / n); Keras' glorot_normal, which the port writes, must match it."""
    import keras

    fan_in, fan_out = 300, 500
    kernel = keras.initializers.get("glorot_normal")((fan_in, fan_out)).numpy()
    truncated_std = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]
    expected = truncated_std * np.sqrt(1.3 / ((fan_in + fan_out) / 2))
    assert kernel.std() == pytest.approx(expected, rel=0.01)  # 150k samples: sampling error ~0.2%
    assert np.abs(kernel).max() <= 2 * np.sqrt(1 / ((fan_in + fan_out) / 2)) / truncated_std + 1e-6


def test_variance_scaling_default_is_tf1s():
    """tf.variance_scaling_initializer() is scale 1, fan_in, truncated normal: what the port's name gives."""
    import keras

    init = keras.initializers.get("lecun_normal")
    assert (init.scale, init.mode, init.distribution) == (1.0, "fan_in", "truncated_normal")


def test_activations_dtypes_and_optimizers(ported):
    jasper, ds2, lstm = (resolved(ported, n) for n in ("jasper_style", "ds2_style", "lstm_style"))
    assert jasper["encoder_params"]["activation_fn"] == "clipped_relu"
    assert ds2["encoder_params"]["activation_fn"] == "relu"
    assert (jasper["dtype"], ds2["dtype"], lstm["dtype"]) == ("float32", "mixed", "mixed")
    assert jasper["optimizer_params"]["beta2"] == 0.0
    assert ds2["optimizer"] == "Momentum" and lstm["optimizer"] == "Adam"
    from open_s2s.optimizers import make_optimizer

    momentum = make_optimizer(ds2["optimizer"], ds2["optimizer_params"], 0.1)
    assert (momentum.momentum, momentum.nesterov) == (0.9, True)  # use_nesterov of tf.train.MomentumOptimizer
    assert jasper["use_horovod"] is True and jasper["summaries"][2] == "gradients"  # kept as they were


def test_component_keys_mapped_or_dropped(ported):
    jasper = resolved(ported, "jasper_style")
    assert jasper["data_layer_params"]["spec_augment"] == {
        "num_freq_masks": 2,
        "max_freq_mask": 6,
        "num_time_masks": 2,
        "max_time_mask": 6,
    }
    assert "augmentation" not in jasper["data_layer_params"] and "backend" not in jasper["data_layer_params"]
    ds2 = resolved(ported, "ds2_style")
    assert ds2["data_layer_params"]["augmentation"]["time_stretch_ratio"] == 0.05  # accepted as it is
    assert "data_format" not in ds2["encoder_params"] and "trie_path" not in ds2["decoder_params"]
    with open(ported["ds2_style"][0]) as f:
        text = f.read()
    assert '# "trie_path": "language_model/trie.binary"  (dropped by open_s2s.port' in text
    assert "# params for decoding the sequence with language model" in text
    commands = resolved(ported, "jasper_commands_style")
    layers = commands["encoder_params"]["convnet_layers"]
    assert [(x["type"], x["kernel_size"], x["stride"], x["dilation"]) for x in layers] == [
        ("conv1d", [11], [2], [1]),
        ("conv1d", [11], [1], [1]),
        ("conv1d", [29], [1], [2]),
    ]
    assert commands["data_layer"].__name__ == "SpeechCommandsDataLayer"
    resnet_model, resnet = resolve_config(ported["resnet_commands_style"][0], "eval")
    assert resnet_model.__name__ == "SpeechCommands" and resnet["decoder"].__name__ == "FullyConnectedSCDecoder"
    assert resnet["batch_size_per_gpu"] == 16 and resnet["data_layer_params"]["dataset_files"] == ["v1-12-val.txt"]


REFUSED = {
    "ListenAttendSpellEncoder": """
from open_seq2seq.models import Speech2Text
from open_seq2seq.encoders import ListenAttendSpellEncoder
base_model = Speech2Text
base_params = {"encoder": ListenAttendSpellEncoder}
""",
    "Image2Label with ImagenetDataLayer": """
from open_seq2seq.models import Image2Label
from open_seq2seq.encoders import ResNetEncoder
from open_seq2seq.data import ImagenetDataLayer
base_model = Image2Label
base_params = {"encoder": ResNetEncoder, "data_layer": ImagenetDataLayer}
""",
    "Text2SpeechWavenet": """
from open_seq2seq.models import Text2SpeechWavenet
from open_seq2seq.encoders import WavenetEncoder
base_model = Text2SpeechWavenet
""",
    "ConvS2SEncoder": """
from open_seq2seq.models import Text2Text
from open_seq2seq.encoders import ConvS2SEncoder
from open_seq2seq.decoders import TransformerDecoder
base_model = Text2Text
base_params = {"encoder": ConvS2SEncoder, "decoder": TransformerDecoder}
""",
    "CentaurEncoder": """
from open_seq2seq.models import Text2SpeechTacotron
from open_seq2seq.encoders import CentaurEncoder
base_model = Text2SpeechTacotron
""",
    "TransformerEncoder norm_params type 'batch_norm'": """
import tensorflow as tf
from open_seq2seq.models import Text2Text
from open_seq2seq.encoders import TransformerEncoder
regularizer = tf.contrib.layers.l2_regularizer
norm_params = {"type": "batch_norm", "momentum": 0.95, "regularizer": regularizer}
base_model = Text2Text
base_params = {"encoder": TransformerEncoder, "encoder_params": {"hidden_size": 8, "norm_params": norm_params}}
""",
    "Tacotron2Encoder style_embedding_enable True: global style tokens": """
import tensorflow as tf
from open_seq2seq.models import Text2SpeechTacotron
from open_seq2seq.encoders import Tacotron2Encoder
base_model = Text2SpeechTacotron
base_params = {
    "encoder": Tacotron2Encoder,
    "encoder_params": {
        "rnn_type": tf.contrib.cudnn_rnn.CudnnLSTM,
        "style_embedding_enable": True,
        "style_embedding_params": {"rnn_type": tf.nn.rnn_cell.GRUCell, "num_tokens": 32},
    },
}
""",
    "Tacotron2Decoder zoneout_prob 0.1: zoneout": """
from open_seq2seq.models import Text2SpeechTacotron
from open_seq2seq.decoders import Tacotron2Decoder
base_model = Text2SpeechTacotron
base_params = {"decoder": Tacotron2Decoder, "decoder_params": {"zoneout_prob": 0.1}}
""",
    "tf.nn.rnn_cell.GRUCell: open_s2s's Tacotron 2 has LSTMs only": """
import tensorflow as tf
from open_seq2seq.models import Text2SpeechTacotron
from open_seq2seq.decoders import Tacotron2Decoder
base_model = Text2SpeechTacotron
base_params = {"decoder": Tacotron2Decoder, "decoder_params": {"decoder_cell_type": tf.nn.rnn_cell.GRUCell}}
""",
    "tf.layers.conv2d": """
import tensorflow as tf
from open_seq2seq.models import Speech2Text
base_model = Speech2Text
base_params = {"layers": [(tf.layers.conv2d, {"filters": 3})]}
""",
    "open_s2s has L2 regularization only": """
import tensorflow as tf
from open_seq2seq.models import Speech2Text
base_model = Speech2Text
base_params = {"regularizer": tf.contrib.layers.l1_regularizer, "regularizer_params": {"scale": 0.1}}
""",
    "'RMSProp' is not in open_s2s": """
from open_seq2seq.models import Speech2Text
base_model = Speech2Text
base_params = {"optimizer": "RMSProp"}
""",
}


@pytest.mark.parametrize("needed", list(REFUSED))
def test_missing_classes_are_refused_by_name(needed, tmp_path):
    old = tmp_path / "old_config.py"
    old.write_text(REFUSED[needed])
    code, out, err = run_port([str(old), "-o", str(tmp_path / "new.py")])
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert needed in err and "old_config.py" in err
    assert not (tmp_path / "new.py").exists() and out == ""


def test_openseq2seq_import_paths_are_aliases():
    from open_s2s.data import Speech2TextDataLayer, SpeechCommandsDataLayer
    from open_s2s.data.speech2text import speech2text, speech_commands
    from open_s2s.data.speech2text.speech2text_data_layer import Speech2TextDataLayer as Canonical
    from open_s2s.decoders import FullyConnectedDecoder, FullyConnectedSCDecoder
    from open_s2s.models import Image2Label, SpeechCommands
    from open_s2s.optimizers.lr_policies import cosine_decay, exp_decay, poly_decay  # noqa: F401
    from open_s2s.optimizers.novograd import NovoGrad  # noqa: F401

    assert speech2text.Speech2TextDataLayer is Speech2TextDataLayer is Canonical
    assert speech_commands.SpeechCommandsDataLayer is SpeechCommandsDataLayer
    from open_s2s.data import ParallelTextDataLayer, Text2SpeechDataLayer
    from open_s2s.data.text2speech import text2speech
    from open_s2s.data.text2text import text2text, tokenizer
    from open_s2s.optimizers.lr_policies import transformer_policy  # noqa: F401

    assert text2text.ParallelTextDataLayer is ParallelTextDataLayer
    assert text2speech.Text2SpeechDataLayer is Text2SpeechDataLayer
    tokens = text2text.SpecialTextTokens
    assert (tokens.PAD_ID.value, tokens.EOS_ID.value, tokens.S_ID.value, tokenizer.EOS_ID) == (
        OS2S_PAD_ID,
        OS2S_EOS_ID,
        OS2S_S_ID,
        OS2S_EOS_ID,
    )
    assert FullyConnectedDecoder is FullyConnectedSCDecoder
    assert issubclass(Image2Label, SpeechCommands) and Image2Label.__dict__.keys() <= {
        "PARAMS",
        "__doc__",
        "__module__",
        "__qualname__",
        "__firstlineno__",
        "__static_attributes__",
    }


def test_hand_ported_image2label_needs_speech_commands_data(tmp_path, tiny_corpus):
    """Changing only the imports of an Image2Label config keeps OpenSeq2Seq's names; with a data
    layer other than SpeechCommandsDataLayer the config is refused naming Image2Label."""
    config = tmp_path / "image.py"
    config.write_text(
        f"""
from open_s2s.models import Image2Label
from open_s2s.encoders import ResNetEncoder
from open_s2s.decoders import FullyConnectedDecoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.data import Speech2TextDataLayer, SpeechCommandsDataLayer
base_model = Image2Label
base_params = {{
    "batch_size_per_gpu": 2, "max_steps": 2, "optimizer": "Momentum", "optimizer_params": {{"momentum": 0.9}},
    "encoder": ResNetEncoder, "decoder": FullyConnectedDecoder, "loss": CrossEntropyLoss,
    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {{"num_audio_features": 8, "vocab_file": "{tiny_corpus}/vocab.txt",
                           "dataset_files": ["{tiny_corpus}/train.csv"]}},
}}
"""
    )
    with pytest.raises(ConfigError, match=r"data_layer: Image2Label with Speech2TextDataLayer.*speech commands"):
        resolve_config(str(config), "train")
    text = config.read_text().replace('"data_layer": Speech2TextDataLayer', '"data_layer": SpeechCommandsDataLayer')
    text = re.sub(
        r'"data_layer_params": \{.*?\]\}',
        '"data_layer_params": {"dataset_location": "x", "num_labels": 12, '
        '"audio_length": 128, "model_format": "jasper", "augment_data": True}',
        text,
        flags=re.S,
    )
    config.write_text(text)
    model_cls, params = resolve_config(str(config), "train")
    assert model_cls.__name__ == "Image2Label" and params["data_layer_params"]["num_labels"] == 12


def test_spec_augment_keys_left_out_take_openseq2seqs_defaults():
    """OpenSeq2Seq's speech_utils read n_freq_mask / n_time_mask with default 0 and
    width_freq_mask / width_time_mask with defaults 10 and 50; ours default differently."""
    from open_s2s.port import port_source

    old = """
from open_seq2seq.data import Speech2TextDataLayer
base_params = {"data_layer": Speech2TextDataLayer,
               "data_layer_params": {"augmentation": {"n_freq_mask": 2, "noise_level_min": -90,
                                                      "noise_level_max": -60}}}
"""
    new, _ = port_source(old, "masks.py")
    namespace: dict = {}
    exec(compile(new, "masks.py", "exec"), namespace)
    params = namespace["base_params"]["data_layer_params"]
    assert params["spec_augment"] == {
        "num_freq_masks": 2,
        "max_freq_mask": 10,
        "num_time_masks": 0,
        "max_time_mask": 50,
    }
    assert params["augmentation"] == {"noise_level_min": -90, "noise_level_max": -60}


@pytest.mark.parametrize(
    "optimizer_params",
    [
        '    "optimizer_params": {\n        "beta1": 0.95,\n        "weight_decay": 0.001,\n    },\n',
        '    "optimizer_params": {"beta1": 0.95},\n',
        "",
    ],
)
def test_novograd_without_beta2_gets_beta2_zero(optimizer_params):
    """OpenSeq2Seq's NovoGrad defaulted beta2 to 0.98 and used 0 in effect: the port adds beta2 0.0."""
    from open_s2s.port import port_source

    old = (
        "from open_seq2seq.optimizers.novograd import NovoGrad\n"
        "base_params = {\n"
        '    "optimizer": NovoGrad,\n' + optimizer_params + '    "max_steps": 10,\n'
        "}\n"
    )
    new, changes = port_source(old, "novograd.py")
    namespace: dict = {}
    exec(compile(new, "novograd.py", "exec"), namespace)
    params = namespace["base_params"]
    assert params["optimizer_params"]["beta2"] == 0.0 and params["max_steps"] == 10
    assert params["optimizer_params"].get("beta1", 0.95) == 0.95
    assert any("NovoGrad: added beta2 0.0" in c.text for c in changes)
    assert "never updated its second moment" in new


# ---------------------------------------------------------------------- Transformer and Tacotron 2


def test_transformer_keeps_openseq2seqs_meaning(ported):
    path, _, out, _ = ported["transformer_style"]
    train = resolved(ported, "transformer_style")
    from open_s2s.optimizers import make_optimizer

    adam = make_optimizer(train["optimizer"], train["optimizer_params"], 0.1)
    assert type(adam).__name__ == "Adam" and (adam.beta_1, adam.beta_2, adam.epsilon) == (0.9, 0.997, 1e-9)
    line = line_of("transformer_style", "LazyAdamOptimizer")
    assert any(f"transformer_style.py:{line}: " in x and "LazyAdam -> Adam" in x for x in out.splitlines())
    with open(path) as f:
        assert '"optimizer": "Adam",  # LazyAdam -> Adam: LazyAdam updated an embedding row' in f.read()
    assert train["dtype"] == "float32"
    decoder = train["decoder_params"]
    symbols = (decoder["EOS_ID"], decoder["END_SYMBOL"], decoder["GO_SYMBOL"], decoder["PAD_SYMBOL"])
    assert symbols == (OS2S_EOS_ID, OS2S_EOS_ID, OS2S_S_ID, OS2S_PAD_ID)
    # the data layer is only in the mode sections, as in OpenSeq2Seq's Transformer configs
    for mode, source in (("train", "train.clean.en."), ("eval", "wmt13-en-de.src."), ("infer", "wmt14-en-de.src.")):
        params = resolved(ported, "transformer_style", mode)
        assert params["data_layer"].__name__ == "ParallelTextDataLayer"
        assert params["data_layer_params"]["source_file"] == "[YOUR WMT DATA]" + source + (
            "shuffled.BPE_common.32K.tok" if mode == "train" else "BPE_common.32K.tok"
        )
    assert resolved(ported, "transformer_style", "eval")["batch_size_per_gpu"] == 4


def test_transformer_nvgrad_style(ported):
    path, _, out, _ = ported["transformer_nvgrad_style"]
    params = resolved(ported, "transformer_nvgrad_style")
    assert (params["dtype"], params["loss_scaling"]) == ("mixed", "Backoff")
    assert params["optimizer"].__name__ == "NovoGrad" and params["optimizer_params"]["beta2"] == 0.0
    assert params["optimizer_params"]["grad_averaging"] is False
    norm = {"type": "layernorm_L2", "momentum": 0.95, "epsilon": 0.00001}
    assert params["encoder_params"]["norm_params"] == params["decoder_params"]["norm_params"] == norm
    # open_s2s's layer norms use 1e-6: the port says so once, at the shared dict's epsilon
    line = line_of("transformer_nvgrad_style", '"epsilon": 0.00001')
    notes = [x for x in out.splitlines() if "norm_params epsilon" in x]
    assert len(notes) == 1 and f"transformer_nvgrad_style.py:{line}: " in notes[0] and "1e-06" in notes[0]
    with open(path) as f:
        assert '"epsilon": 0.00001,  # unused: open_s2s\'s Transformer layer norms use epsilon 1e-06' in f.read()


def test_tacotron_keeps_openseq2seqs_meaning(ported):
    params = resolved(ported, "tacotron_style")
    encoder, decoder = params["encoder_params"], params["decoder_params"]
    assert (encoder["rnn_type"], decoder["decoder_cell_type"], encoder["activation_fn"]) == ("lstm", "lstm", "relu")
    assert [layer.get("activation_fn") for layer in decoder["postnet_conv_layers"]] == ["tanh", "tanh", None]
    assert (decoder["output_type"], decoder["num_magnitude_features"]) == ("both", 513)
    # conv_bn_actv's batch norms in OpenSeq2Seq: params.get('bn_momentum', 0.1), params.get('bn_epsilon', 1e-5)
    assert (encoder["bn_momentum"], encoder["bn_epsilon"]) == (0.1, 1e-5)
    assert (decoder["postnet_bn_momentum"], decoder["postnet_bn_epsilon"]) == (0.1, 1e-5)
    assert params["regularizer_params"]["scale"] == pytest.approx(1e-6 / 2, rel=1e-12)
    assert params["initializer"] == "glorot_uniform" and params["dtype"] == "float32"
    for mode, csv in (("train", "train_32.csv"), ("eval", "val_32.csv"), ("infer", "test.csv")):
        files = resolved(ported, "tacotron_style", mode)["data_layer_params"]["dataset_files"]
        assert [os.path.basename(f) for f in files] == [csv]


@pytest.mark.parametrize(
    "kind, features, magnitude",
    [("mel", 80, 0), ("magnitude", 513, 0), ("both", {"mel": 80, "magnitude": 513}, 513)],
)
def test_tacotron_decoder_follows_the_output_type_switch(ported, tmp_path, kind, features, magnitude):
    """The port ties the decoder's output_type to the config's switch, as OpenSeq2Seq's decoder
    read it from the data layer: changing the switch in the ported config changes both."""
    with open(ported["tacotron_style"][0]) as f:
        text = f.read()
    assert text.count('output_type = "both"') == 1
    config = tmp_path / "switched.py"
    config.write_text(text.replace('output_type = "both"', f'output_type = "{kind}"'))
    params = resolve_config(str(config), "train")[1]
    assert params["data_layer_params"]["num_audio_features"] == features
    assert (params["decoder_params"]["output_type"], params["decoder_params"]["num_magnitude_features"]) == (
        kind,
        magnitude,
    )


def test_tacotron_mixed_ports(tmp_path):
    old = tmp_path / "tacotron_mixed_style.py"
    text = fixture_text("tacotron_style")
    assert text.count('"dtype": tf.float32,') == 1
    old.write_text(text.replace('"dtype": tf.float32,', '"dtype": "mixed",\n  "loss_scaling": "Backoff",'))
    code, out, err = run_port([str(old), "-o", str(tmp_path / "new.py")])
    assert code == 0, err
    assert "validates (train, eval, infer)" in out
    params = resolve_config(str(tmp_path / "new.py"), "train")[1]
    assert (params["dtype"], params["loss_scaling"]) == ("mixed", "Backoff")


@pytest.mark.parametrize(
    "decoder_params",
    ['{"decoder_cell_units": 8}', '{\n    "decoder_cell_units": 8}', "{}", '{\n    "decoder_cell_units": 8,\n  }'],
)
def test_tacotron_decoder_keys_are_added_to_any_dict_layout(decoder_params):
    from open_s2s.port import port_source

    old = f"""from open_seq2seq.decoders import Tacotron2Decoder
from open_seq2seq.data import Text2SpeechDataLayer
base_params = {{
  "decoder": Tacotron2Decoder,
  "decoder_params": {decoder_params},
  "data_layer": Text2SpeechDataLayer,
  "data_layer_params": {{"output_type": "both", "num_audio_features": {{"mel": 80, "magnitude": 513}}}},
}}
"""
    new, _ = port_source(old, "layout.py")
    namespace: dict = {}
    exec(compile(new, "layout.py", "exec"), namespace)
    params = namespace["base_params"]["decoder_params"]
    expected = {"postnet_bn_momentum": 0.1, "postnet_bn_epsilon": 1e-5, "output_type": "both"}
    assert params == {**({"decoder_cell_units": 8} if "8" in decoder_params else {}), **expected,
                      "num_magnitude_features": 513}  # fmt: skip


def test_keys_a_config_sets_are_not_overwritten():
    from open_s2s.port import port_source

    old = """from open_seq2seq.encoders import Tacotron2Encoder
from open_seq2seq.decoders import Tacotron2Decoder
base_params = {
  "encoder": Tacotron2Encoder,
  "encoder_params": {"bn_momentum": 0.5, "bn_epsilon": 1e-3},
  "decoder": Tacotron2Decoder,
  "decoder_params": {"postnet_bn_momentum": 0.7, "output_type": "mel"},
}
eval_params = {"encoder_params": {"cnn_dropout_prob": 0.0}}
"""
    new, changes = port_source(old, "set.py")
    namespace: dict = {}
    exec(compile(new, "set.py", "exec"), namespace)
    assert namespace["base_params"]["encoder_params"] == {"bn_momentum": 0.5, "bn_epsilon": 1e-3}
    assert namespace["base_params"]["decoder_params"] == {
        "postnet_bn_momentum": 0.7,
        "output_type": "mel",
        "postnet_bn_epsilon": 1e-5,
    }
    assert namespace["eval_params"] == {"encoder_params": {"cnn_dropout_prob": 0.0}}  # a mode section overrides only
    assert [c.text for c in changes if "import" not in c.text] == [
        "Tacotron2Decoder: added postnet_bn_epsilon 1e-05 (OpenSeq2Seq's default; open_s2s's is 0.001)"
    ]
