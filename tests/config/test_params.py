"""Tests of open_s2s.config.params: Param specs, validate() and params_table()."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from open_s2s.config.params import (
    REQUIRED,
    ConfigError,
    Param,
    in_unit_interval,
    params_table,
    positive,
    suggest,
    validate,
)

NoneType = type(None)

SPEC = {
    "convnet_layers": Param(list, doc="Block list."),
    "dropout_keep_prob": Param(float, 1.0, check=in_unit_interval, doc="1 - dropout rate."),
    "activation_fn": Param((str, Callable), "relu"),
    "normalization": Param((str, NoneType), "batch_norm", choices=("batch_norm", "layer_norm", None)),
    "repeat": Param(int, 1, check=positive),
    "use_conv_mask": Param(bool, True),
    "initializer": Param(str, "glorot_uniform"),
}
GIVEN = {"convnet_layers": [{"kernel_size": [3]}]}


def test_unknown_key_names_owner_key_and_nearest_known_key():
    with pytest.raises(ConfigError) as e:
        validate("TDNNEncoder", {**GIVEN, "dropout_keep_pro": 0.9}, SPEC)
    msg = str(e.value)
    assert msg.startswith("TDNNEncoder: unknown key 'dropout_keep_pro'")
    assert 'did you mean "dropout_keep_prob"' in msg


def test_unknown_key_without_close_match_has_no_suggestion():
    with pytest.raises(ConfigError, match="unknown key 'zzz'") as e:
        validate("TDNNEncoder", {**GIVEN, "zzz": 1}, SPEC)
    assert "did you mean" not in str(e.value)


def test_suggest():
    assert suggest("max_step", ["max_steps", "num_epochs"]) == ' (did you mean "max_steps"?)'
    assert suggest("qqqq", ["max_steps", "num_epochs"]) == ""


def test_missing_required_key_names_owner_key_and_doc():
    with pytest.raises(ConfigError) as e:
        validate("TDNNEncoder", {"repeat": 2}, SPEC)
    msg = str(e.value)
    assert msg.startswith("TDNNEncoder: missing required key 'convnet_layers'")
    assert "Block list." in msg


def test_given_none_means_all_defaults_and_fails_only_on_required():
    with pytest.raises(ConfigError, match="missing required key 'convnet_layers'"):
        validate("Enc", None, SPEC)
    out = validate("Enc", None, {"a": Param(int, 3)})
    assert dict(out) == {"a": 3}


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("initializer", 123, "expected str, got int 123"),
        ("repeat", True, "expected int, got bool True"),
        ("repeat", 2.0, "expected int, got float 2.0"),
        ("dropout_keep_prob", True, "expected float, got bool True"),
        ("dropout_keep_prob", "0.5", "expected float, got str '0.5'"),
        ("use_conv_mask", 1, "expected bool, got int 1"),
        ("convnet_layers", "abc", "expected list, got str 'abc'"),
        ("repeat", None, "expected int, got NoneType None"),
    ],
)
def test_wrong_type_names_owner_key_and_types(key, value, expected):
    with pytest.raises(ConfigError) as e:
        validate("TDNNEncoder", {**GIVEN, key: value}, SPEC)
    assert str(e.value) == f"TDNNEncoder.{key}: {expected}"


def test_int_accepted_as_float_and_kept_as_given():
    out = validate("Enc", {**GIVEN, "dropout_keep_prob": 1}, SPEC)
    assert out["dropout_keep_prob"] == 1


def test_tuple_accepted_as_list():
    out = validate("Enc", {"convnet_layers": ({"kernel_size": [3]},)}, SPEC)
    assert out["convnet_layers"] == ({"kernel_size": [3]},)


def test_union_types_and_none():
    out = validate("Enc", {**GIVEN, "normalization": None}, SPEC)
    assert out["normalization"] is None
    with pytest.raises(ConfigError, match=r"expected str or None, got int 3"):
        validate("Enc", {**GIVEN, "normalization": 3}, SPEC)


def test_class_and_callable_types():
    spec = {"cls": Param(type), "fn": Param(Callable, None), "any": Param(None, 0)}
    out = validate("M", {"cls": dict, "fn": len, "any": object()}, spec)
    assert out["cls"] is dict and out["fn"] is len
    with pytest.raises(ConfigError, match=r"M\.cls: expected type, got dict \{\}"):
        validate("M", {"cls": {}}, spec)
    with pytest.raises(ConfigError, match=r"M\.fn: expected Callable, got int 3"):
        validate("M", {"cls": dict, "fn": 3}, spec)
    # a function given as str-or-callable
    assert validate("E", {**GIVEN, "activation_fn": abs}, SPEC)["activation_fn"] is abs


def test_choices():
    assert validate("E", {**GIVEN, "normalization": "layer_norm"}, SPEC)["normalization"] == "layer_norm"
    with pytest.raises(ConfigError) as e:
        validate("TDNNEncoder", {**GIVEN, "normalization": "group_norm"}, SPEC)
    assert str(e.value) == "TDNNEncoder.normalization: 'group_norm' is not one of ['batch_norm', 'layer_norm', None]"


def test_type_is_checked_before_choices():
    spec = {"k": Param(str, "a", choices=("a", "b"))}
    with pytest.raises(ConfigError, match="expected str"):
        validate("X", {"k": 1}, spec)


def test_check_callbacks():
    with pytest.raises(ConfigError) as e:
        validate("TDNNEncoder", {**GIVEN, "dropout_keep_prob": 0.0}, SPEC)
    assert str(e.value) == "TDNNEncoder.dropout_keep_prob: must be in (0, 1]"
    with pytest.raises(ConfigError, match=r"TDNNEncoder\.repeat: must be > 0"):
        validate("TDNNEncoder", {**GIVEN, "repeat": 0}, SPEC)
    assert validate("E", {**GIVEN, "dropout_keep_prob": 1.0, "repeat": 3}, SPEC)["repeat"] == 3


def test_custom_check_sees_the_value_and_is_not_run_on_defaults():
    seen = []

    def even(value):
        seen.append(value)
        return None if value % 2 == 0 else f"{value} is odd"

    spec = {"n": Param(int, 7, check=even)}
    assert validate("X", {}, spec)["n"] == 7  # the default is trusted, not checked
    assert seen == []
    with pytest.raises(ConfigError, match=r"^X\.n: 3 is odd$"):
        validate("X", {"n": 3}, spec)
    assert validate("X", {"n": 4}, spec)["n"] == 4
    assert seen == [3, 4]


def test_builtin_checks():
    assert positive(1) is None and positive(None) is None and positive(0) == "must be > 0"
    assert in_unit_interval(1.0) is None and in_unit_interval(1.01) and in_unit_interval(0.0)


INNER = {
    "num_masks": Param(int, 2, check=positive),
    "max_width": Param(int, doc="Mask width."),
}
OUTER = {
    "spec_augment": Param((dict, NoneType), None, spec=INNER),
    "name": Param(str, "x"),
}


def test_nested_spec_is_validated_and_completed():
    out = validate("DataLayer", {"spec_augment": {"max_width": 8}}, OUTER)
    assert dict(out["spec_augment"]) == {"num_masks": 2, "max_width": 8}
    with pytest.raises(TypeError):
        out["spec_augment"]["num_masks"] = 5  # nested mapping is read-only too
    assert validate("DataLayer", {}, OUTER)["spec_augment"] is None


@pytest.mark.parametrize(
    "inner, message",
    [
        (
            {"max_width": 8, "num_mask": 1},
            "DataLayer.spec_augment: unknown key 'num_mask' (did you mean \"num_masks\"?)",
        ),
        ({}, "DataLayer.spec_augment: missing required key 'max_width' (Mask width.)"),
        (
            {"max_width": 8, "num_masks": 0},
            "DataLayer.spec_augment.num_masks: must be > 0",
        ),
        (
            {"max_width": "8"},
            "DataLayer.spec_augment.max_width: expected int, got str '8'",
        ),
    ],
)
def test_nested_spec_errors_name_the_path(inner, message):
    with pytest.raises(ConfigError) as e:
        validate("DataLayer", {"spec_augment": inner}, OUTER)
    assert str(e.value) == message


def test_result_is_read_only_complete_and_independent_of_input():
    given = dict(GIVEN)
    out = validate("Enc", given, SPEC)
    assert set(out) == set(SPEC)
    assert out["dropout_keep_prob"] == 1.0 and out["initializer"] == "glorot_uniform"
    assert out["normalization"] == "batch_norm" and out["use_conv_mask"] is True
    with pytest.raises(TypeError):
        out["repeat"] = 5
    with pytest.raises(TypeError):
        del out["repeat"]
    given["repeat"] = 9
    assert out["repeat"] == 1


def test_required_sentinel():
    assert Param(int).required and Param(int).default is REQUIRED
    assert not Param(int, None).required


def test_params_table():
    table = params_table(SPEC).splitlines()
    assert table[0] == "| key | type | default | doc |"
    assert table[1] == "|---|---|---|---|"
    assert len(table) == 2 + len(SPEC)
    rows = {line.split("|")[1].strip(): line for line in table[2:]}
    assert list(rows) == [f"`{k}`" for k in SPEC]
    assert rows["`convnet_layers`"] == "| `convnet_layers` | list | **required** | Block list. |"
    assert rows["`dropout_keep_prob`"] == "| `dropout_keep_prob` | float | 1.0 | 1 - dropout rate. |"
    assert rows["`initializer`"] == "| `initializer` | str | 'glorot_uniform' |  |"
    assert rows["`normalization`"] == (
        "| `normalization` | str or None | 'batch_norm' |  One of ['batch_norm', 'layer_norm', None]. |"
    )


def test_base_params_table_covers_every_key():
    from open_s2s.config.schema import BASE_PARAMS

    table = params_table(BASE_PARAMS)
    for key in BASE_PARAMS:
        assert f"| `{key}` |" in table
    assert "| `batch_size_per_gpu` | int | **required** |" in table


def test_config_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import open_s2s.config.params, open_s2s.config.schema, open_s2s.config.loader, open_s2s.runner\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"


def test_generated_params_docs_are_current():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(root / "scripts" / "gen_param_docs.py"), "--check"], cwd=root)
    assert result.returncode == 0, "docs/params.md is stale: run python scripts/gen_param_docs.py"


def test_alias_is_renamed_to_its_key_and_both_names_are_an_error():
    spec = {"speed_perturbation_ratio": Param((float, NoneType), None, aliases=("time_stretch_ratio",))}
    assert validate("augmentation", {"time_stretch_ratio": 0.05}, spec)["speed_perturbation_ratio"] == 0.05
    assert validate("augmentation", {"speed_perturbation_ratio": 0.1}, spec)["speed_perturbation_ratio"] == 0.1
    assert "time_stretch_ratio" not in validate("augmentation", {"time_stretch_ratio": 0.05}, spec)
    with pytest.raises(ConfigError, match="'time_stretch_ratio' and 'speed_perturbation_ratio' are the same key"):
        validate("augmentation", {"time_stretch_ratio": 0.05, "speed_perturbation_ratio": 0.1}, spec)
    with pytest.raises(ConfigError, match=r"augmentation\.speed_perturbation_ratio: expected"):
        validate("augmentation", {"time_stretch_ratio": "fast"}, spec)
