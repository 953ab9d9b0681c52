"""Tests of open_s2s.config.loader: mode overlays, command-line overrides, errors, JSON dump.

Configs are small Python files written into tmp_path that import the real classes, the
way example_configs/jasper.py does. Their data files need not exist: resolving a config
validates it without opening any data.
"""

import json
import re
import sys
import textwrap

import keras
import pytest
import tensorflow as tf

from open_s2s.config.loader import dump_config, resolve_config, to_jsonable
from open_s2s.config.params import ConfigError
from open_s2s.encoders import TDNNEncoder
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad, poly_decay

BASE = """
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text
from open_s2s.optimizers import NovoGrad, poly_decay

base_model = Speech2Text
base_params = {
    "batch_size_per_gpu": 4,
    "max_steps": 100,
    "optimizer": NovoGrad,
    "optimizer_params": {"beta1": 0.95, "weight_decay": 0.001},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.01, "power": 2.0},
    "encoder": TDNNEncoder,
    "encoder_params": {
        "convnet_layers": [{"kernel_size": [3], "num_channels": 8}],
        "dropout_keep_prob": 0.8,
        "activation_fn": "relu",
    },
    "decoder": FullyConnectedCTCDecoder,
    "loss": CTCLoss,
    "data_layer": Speech2TextDataLayer,
    "data_layer_params": {
        "num_audio_features": 16,
        "vocab_file": "no_such_dir/vocab.txt",
        "dataset_files": ["base.csv"],
        "spec_augment": {"num_freq_masks": 1, "max_freq_mask": 4},
    },
}
"""

SECTIONS = """
train_params = {
    "max_steps": 50,
    "data_layer_params": {"dataset_files": ["train.csv"], "shuffle": True,
                          "spec_augment": {"num_time_masks": 3}},
}
eval_params = {"batch_size_per_gpu": 2, "data_layer_params": {"dataset_files": ["dev.csv"], "shuffle": False}}
infer_params = {"batch_size_per_gpu": 1, "data_layer_params": {"dataset_files": ["test.csv"]}}
"""


@pytest.fixture
def write_config(tmp_path):
    """Writes BASE (+ extra lines) to tmp_path/<name> and returns its path."""

    def write(extra: str = "", name: str = "tiny_cfg.py", base: str = BASE) -> str:
        path = tmp_path / name
        path.write_text(base + "\n" + textwrap.dedent(extra))
        return str(path)

    return write


@pytest.fixture
def config(write_config):
    return write_config(SECTIONS)


def config_error(config_file, mode="train", argv=None) -> str:
    with pytest.raises(ConfigError) as e:
        resolve_config(config_file, mode, argv)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


# ----------------------------------------------------------------------------- modes


def test_train_section_overlays_base_recursively(config):
    model_cls, p = resolve_config(config, "train")
    assert model_cls is Speech2Text
    assert p["max_steps"] == 50
    assert p["batch_size_per_gpu"] == 4
    dl = p["data_layer_params"]
    assert dl["dataset_files"] == ["train.csv"] and dl["shuffle"] is True
    # sibling keys of the merged dicts survive, at every depth
    assert dl["num_audio_features"] == 16 and dl["vocab_file"] == "no_such_dir/vocab.txt"
    assert dl["spec_augment"] == {
        "num_freq_masks": 1,
        "max_freq_mask": 4,
        "num_time_masks": 3,
    }
    assert p["encoder"] is TDNNEncoder and p["optimizer"] is NovoGrad and p["lr_policy"] is poly_decay


@pytest.mark.parametrize(
    "mode, batch, files",
    [("eval", 2, ["dev.csv"]), ("infer", 1, ["test.csv"]), ("export", 1, ["test.csv"])],
)
def test_other_modes_use_their_section(config, mode, batch, files):
    _, p = resolve_config(config, mode)
    assert p["batch_size_per_gpu"] == batch
    assert p["data_layer_params"]["dataset_files"] == files
    assert p["max_steps"] == 100  # train_params did not leak
    assert p["data_layer_params"]["spec_augment"] == {
        "num_freq_masks": 1,
        "max_freq_mask": 4,
    }
    assert p["data_layer_params"]["num_audio_features"] == 16


def test_result_is_complete_with_top_level_defaults(config):
    _, p = resolve_config(config, "train")
    assert p["num_gpus"] == 1 and p["dtype"] == "float32" and p["iter_size"] == 1
    assert p["num_epochs"] is None and p["logdir"] is None
    assert p["summaries"] == ["learning_rate", "global_gradient_norm"]


def test_resolving_does_not_touch_the_config_module(config):
    _, first = resolve_config(config, "train", ["--data_layer_params/spec_augment/num_freq_masks=7"])
    _, second = resolve_config(config, "eval")
    assert first["data_layer_params"]["spec_augment"]["num_freq_masks"] == 7
    assert second["data_layer_params"]["spec_augment"] == {
        "num_freq_masks": 1,
        "max_freq_mask": 4,
    }


def test_missing_sections_are_fine(write_config):
    _, p = resolve_config(write_config(), "infer")
    assert p["data_layer_params"]["dataset_files"] == ["base.csv"]


# ----------------------------------------------------------------------------- overrides


def test_int_override(config):
    _, p = resolve_config(config, "eval", ["--max_steps=3"])
    assert p["max_steps"] == 3 and type(p["max_steps"]) is int


def test_command_line_wins_over_mode_section(config):
    _, p = resolve_config(config, "train", ["--max_steps=7"])  # train_params says 50
    assert p["max_steps"] == 7
    _, p = resolve_config(config, "train", ["--data_layer_params/dataset_files=[cli.csv]"])
    assert p["data_layer_params"]["dataset_files"] == ["cli.csv"]


def test_nested_float_override_keeps_siblings(config):
    _, p = resolve_config(config, "train", ["--encoder_params/dropout_keep_prob=0.9"])
    assert p["encoder_params"]["dropout_keep_prob"] == 0.9
    assert p["encoder_params"]["activation_fn"] == "relu"
    assert p["encoder_params"]["convnet_layers"] == [{"kernel_size": [3], "num_channels": 8}]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("[a.csv,b.csv]", ["a.csv", "b.csv"]),
        ("['a.csv', 'b.csv']", ["a.csv", "b.csv"]),
        ("[data/x-1.csv]", ["data/x-1.csv"]),
    ],
)
def test_list_override_gives_list_of_str(config, raw, expected):
    _, p = resolve_config(config, "train", [f"--data_layer_params/dataset_files={raw}"])
    assert p["data_layer_params"]["dataset_files"] == expected


def test_override_of_key_absent_from_file_but_in_schema(config):
    _, p = resolve_config(config, "train", ["--data_layer_params/max_duration=5.0", "--iter_size=2"])
    assert p["data_layer_params"]["max_duration"] == 5.0
    assert p["iter_size"] == 2


def test_override_creates_a_nested_dict_that_was_none(write_config):
    cfg = write_config('base_params["data_layer_params"]["spec_augment"] = None')
    _, p = resolve_config(cfg, "train", ["--data_layer_params/spec_augment/num_time_masks=4"])
    assert p["data_layer_params"]["spec_augment"] == {"num_time_masks": 4}


@pytest.mark.parametrize("raw", ["123", "1e3", "True"])
def test_str_keys_keep_the_raw_string(config, raw):
    _, p = resolve_config(config, "train", [f"--logdir={raw}", f"--encoder_params/initializer={raw}"])
    assert p["logdir"] == raw
    assert p["encoder_params"]["initializer"] == raw


@pytest.mark.parametrize(
    "raw, expected",
    [("True", True), ("true", True), ("False", False), ("false", False)],
)
def test_bool_override(config, raw, expected):
    _, p = resolve_config(config, "train", [f"--use_xla_jit={raw}", f"--data_layer_params/shuffle={raw}"])
    assert p["use_xla_jit"] is expected
    assert p["data_layer_params"]["shuffle"] is expected


def test_none_override(config):
    _, p = resolve_config(config, "train", ["--max_steps=None", "--num_epochs=2"])
    assert p["max_steps"] is None and p["num_epochs"] == 2
    _, p = resolve_config(config, "train", ["--num_epochs=None"])
    assert p["num_epochs"] is None and p["max_steps"] == 50
    _, p = resolve_config(config, "train", ["--data_layer_params/spec_augment=None"])
    assert p["data_layer_params"]["spec_augment"] is None


def test_dotted_class_override_of_a_class_only_key(config):
    _, p = resolve_config(config, "train", ["--encoder=open_s2s.encoders.tdnn_encoder.TDNNEncoder"])
    assert p["encoder"] is TDNNEncoder


def test_dotted_function_override(config):
    from open_s2s.optimizers import exp_decay

    _, p = resolve_config(config, "train", ["--lr_policy=open_s2s.optimizers.exp_decay"])
    assert p["lr_policy"] is exp_decay


def test_dotted_class_override_of_optimizer(config):
    _, p = resolve_config(config, "train", ["--optimizer=open_s2s.optimizers.Adam"])
    assert p["optimizer"] is keras.optimizers.Adam


def test_optimizer_name_override_stays_a_name(config):
    _, p = resolve_config(config, "train", ["--optimizer=Adam"])
    assert p["optimizer"] == "Adam"


def test_bad_dotted_path_is_a_config_error(config):
    msg = config_error(config, argv=["--encoder=open_s2s.encoders.NoSuchEncoder"])
    assert "cannot import 'open_s2s.encoders.NoSuchEncoder'" in msg


# ----------------------------------------------------------------------------- errors


def test_unknown_top_level_key_in_file(write_config):
    msg = config_error(write_config('base_params["max_step"] = 5'))
    assert msg.startswith("tiny_cfg.py (Speech2Text): unknown key 'max_step'")
    assert 'did you mean "max_steps"' in msg


def test_unknown_encoder_key_in_file_names_the_encoder(write_config):
    msg = config_error(write_config('base_params["encoder_params"]["dropout_keep_pro"] = 0.9'))
    assert msg.startswith("TDNNEncoder (encoder_params): unknown key 'dropout_keep_pro'")
    assert 'did you mean "dropout_keep_prob"' in msg


def test_unknown_key_in_eval_section_only_fails_eval(write_config):
    cfg = write_config('eval_params = {"data_layer_params": {"shufle": False}}')
    resolve_config(cfg, "train")
    msg = config_error(cfg, "eval")
    assert "Speech2TextDataLayer (data_layer_params): unknown key 'shufle'" in msg
    assert 'did you mean "shuffle"' in msg


def test_unknown_nested_override_names_component_and_suggests(config):
    msg = config_error(config, argv=["--encoder_params/dropout_keep_pro=0.9"])
    assert "--encoder_params/dropout_keep_pro" in msg
    assert "TDNNEncoder has no key 'dropout_keep_pro'" in msg
    assert 'did you mean "dropout_keep_prob"' in msg


def test_unknown_top_level_override(config):
    msg = config_error(config, argv=["--max_step=3"])
    assert msg == "--max_step: unknown key 'max_step' (did you mean \"max_steps\"?)"
    msg = config_error(config, argv=["--encoder_parms/dropout_keep_prob=0.9"])
    assert "unknown key 'encoder_parms'" in msg and 'did you mean "encoder_params"' in msg


def test_unknown_nested_spec_override(config):
    msg = config_error(config, argv=["--data_layer_params/spec_augment/num_freq_mask=3"])
    assert "Speech2TextDataLayer has no key 'num_freq_mask'" in msg
    assert 'did you mean "num_freq_masks"' in msg


def test_malformed_override(config):
    msg = config_error(config, argv=["--max_steps"])
    assert "cannot parse argument '--max_steps'" in msg


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["--max_steps=abc"],
            "tiny_cfg.py (Speech2Text).max_steps: expected int or None, got str 'abc'",
        ),
        (
            ["--max_steps=3.5"],
            "tiny_cfg.py (Speech2Text).max_steps: expected int or None, got float 3.5",
        ),
        (
            ["--use_xla_jit=1"],
            "tiny_cfg.py (Speech2Text).use_xla_jit: expected bool, got int 1",
        ),
        (
            ["--encoder_params/dropout_keep_prob=high"],
            "TDNNEncoder (encoder_params).dropout_keep_prob: expected float, got str 'high'",
        ),
        (
            ["--encoder_params/dropout_keep_prob=1.5"],
            "TDNNEncoder (encoder_params).dropout_keep_prob: must be in (0, 1]",
        ),
        (
            ["--batch_size_per_gpu=0"],
            "tiny_cfg.py (Speech2Text).batch_size_per_gpu: must be > 0",
        ),
    ],
)
def test_wrong_value_from_command_line(config, argv, expected):
    assert config_error(config, argv=argv) == expected


def test_wrong_type_in_file(write_config):
    msg = config_error(write_config('base_params["data_layer_params"]["num_audio_features"] = "64"'))
    assert msg == "Speech2TextDataLayer (data_layer_params).num_audio_features: expected int, got str '64'"


def test_value_outside_choices(config):
    msg = config_error(config, argv=["--data_layer_params/input_type=foo"])
    assert msg.startswith("Speech2TextDataLayer (data_layer_params).input_type: 'foo' is not one of")
    assert "'logfbank'" in msg


def test_missing_required_key(write_config):
    msg = config_error(write_config('del base_params["batch_size_per_gpu"]'))
    assert msg.startswith("tiny_cfg.py (Speech2Text): missing required key 'batch_size_per_gpu'")


def test_missing_required_component_key(write_config):
    msg = config_error(write_config('del base_params["data_layer_params"]["vocab_file"]'))
    assert msg.startswith("Speech2TextDataLayer (data_layer_params): missing required key 'vocab_file'")


def test_train_needs_max_steps_or_num_epochs(write_config):
    cfg = write_config('del base_params["max_steps"]')
    assert config_error(cfg, "train") == "tiny_cfg.py (Speech2Text): give 'max_steps' or 'num_epochs'"
    _, p = resolve_config(cfg, "eval")  # only training needs a length
    assert p["max_steps"] is None
    _, p = resolve_config(cfg, "train", ["--num_epochs=1.5"])
    assert p["num_epochs"] == 1.5


def test_max_steps_and_num_epochs_together(config):
    msg = config_error(config, argv=["--num_epochs=3"])
    assert msg == "tiny_cfg.py (Speech2Text): give only one of 'max_steps' and 'num_epochs'"


def test_config_file_missing(tmp_path):
    missing = str(tmp_path / "nope.py")
    assert config_error(missing) == f"config file not found: {missing}"


def test_config_syntax_error_names_file_and_line(write_config):
    cfg = write_config("x = 1\ny = ]\n")
    msg = config_error(cfg)
    line = (BASE + "\n").count("\n") + 2  # the line with "y = ]"
    assert re.fullmatch(rf"{re.escape(cfg)}:{line}: syntax error: .+", msg), msg


def test_config_bad_import_names_file(write_config):
    msg = config_error(write_config("from open_s2s.encoders import NoSuchEncoder"))
    assert "tiny_cfg.py" in msg and "NoSuchEncoder" in msg and "check the imports" in msg


@pytest.mark.parametrize("missing", ["base_model", "base_params"])
def test_config_without_base_model_or_params(write_config, missing):
    cfg = write_config(f"del {missing}")
    assert config_error(cfg) == f"{cfg}: must define '{missing}'"


def test_base_model_must_be_a_class(write_config):
    msg = config_error(write_config("base_model = 'Speech2Text'"))
    assert "base_model must be a model class" in msg


# ----------------------------------------------------------------------------- dump


def test_dump_config(config, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run.py", f"--config_file={config}", "--max_steps=3"])
    model_cls, p = resolve_config(config, "train", ["--max_steps=3"])
    out = tmp_path / "run" / "config.json"
    out.parent.mkdir()
    dump_config(str(out), config, "train", model_cls, p)
    record = json.loads(out.read_text())
    assert not (tmp_path / "run" / "config.json.tmp").exists()
    assert record["mode"] == "train"
    assert record["config_file"] == config
    assert record["base_model"] == "open_s2s.models.speech2text.Speech2Text"
    assert record["command_line"] == [
        sys.executable,
        "run.py",
        f"--config_file={config}",
        "--max_steps=3",
    ]
    assert "git_revision" in record
    rev = record["git_revision"]
    assert rev is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", rev)
    params = record["params"]
    assert params["encoder"] == "open_s2s.encoders.tdnn_encoder.TDNNEncoder"
    assert params["optimizer"] == "open_s2s.optimizers.novograd.NovoGrad"
    assert params["lr_policy"] == "open_s2s.optimizers.lr_policies.poly_decay"
    assert params["data_layer"] == "open_s2s.data.speech2text.speech2text_data_layer.Speech2TextDataLayer"
    assert params["max_steps"] == 3
    assert params["encoder_params"]["convnet_layers"] == [{"kernel_size": [3], "num_channels": 8}]
    assert params["data_layer_params"]["dataset_files"] == ["train.csv"]
    assert set(params) == set(p)


def test_to_jsonable():
    value = {
        "fn": poly_decay,
        "cls": NovoGrad,
        "dtypes": (tf.float16, tf.float32, tf.bfloat16),
        "nested": {1: [None, True, 2, 2.5, "s"]},
    }
    out = to_jsonable(value)
    assert out == {
        "fn": "open_s2s.optimizers.lr_policies.poly_decay",
        "cls": "open_s2s.optimizers.novograd.NovoGrad",
        "dtypes": ["float16", "float32", "bfloat16"],
        "nested": {"1": [None, True, 2, 2.5, "s"]},
    }
    json.dumps(out)  # really serializable
    assert to_jsonable(object()).startswith("<object object at")


def test_dump_of_tf_dtype_config(write_config, tmp_path):
    model_cls, p = resolve_config(
        write_config('import tensorflow as tf\nbase_params["dtype"] = tf.float16'),
        "train",
    )
    dump_config(str(tmp_path / "c.json"), "x.py", "train", model_cls, p)
    assert json.loads((tmp_path / "c.json").read_text())["params"]["dtype"] == "float16"
