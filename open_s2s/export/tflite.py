"""TFLite export with built-in ops only: raw 16 kHz audio in, CTC log-probs and greedy ids out.

The serving module's ``serve_tflite`` function (features, network and greedy CTC in
float32, numeric outputs only since TFLite has no string ops) is frozen and converted
with ``OpsSet.TFLITE_BUILTINS``: a model that would need Select TF ops fails to
convert instead of silently depending on the Flex delegate.

Two things stand between a TF 2.16 / Keras 3 graph and the converter:

* Converting a function that reads resource variables fails in TF 2.16 with Keras 3
  ("missing attribute 'value'", tensorflow/tensorflow#63987), so the function is frozen
  first (``convert_variables_to_constants_v2``).
* ``x[..., None]`` is a StridedSlice with ``new_axis_mask``, which the converter only
  lowers for static shapes; such slices are rewritten to ``ExpandDims`` (same values).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.eager import wrap_function
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from open_s2s.config.params import ConfigError


def float32_model(build_model: Callable[[], keras.Model], weights_from: keras.Model) -> keras.Model:
    """Builds a float32 copy of ``weights_from`` (TFLite built-ins have no bfloat16 kernels).

    Mixed-precision policies keep the variables in float32, so the copy computes the
    same function in full precision.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        model = build_model()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model.set_weights(weights_from.get_weights())
    return model


def export_tflite(model, feature_params, path: str) -> str:
    """Converts ``model.serving_module(feature_params).serve_tflite`` and writes ``path``.

    Args:
      model: a built float32 model (see ``float32_model``).
      feature_params: the FeatureParams of the data layer.
      path: the ``.tflite`` file to write (atomically).

    Returns:
      ``path``.

    Raises:
      ConfigError: when an op has no TFLite built-in kernel (the message names the ops).
    """
    module = model.serving_module(feature_params)
    concrete = module.serve_tflite.get_concrete_function()
    rewritten = rewrite_new_axis_slices(convert_variables_to_constants_v2(concrete))
    names = sorted(concrete.structured_outputs)  # tf.nest order of the rewritten outputs

    # A dict-returning tf.function around the rewritten graph names the signature's outputs.
    @tf.function(input_signature=concrete.structured_input_signature[0])
    def named(*args):
        return dict(zip(names, tf.nest.flatten(rewritten(*args))))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([named.get_concrete_function()], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        flatbuffer = converter.convert()
    except Exception as e:  # tf.lite's ConverterError; its module path is private
        raise _builtins_error(e) from e
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(flatbuffer)
    os.replace(path + ".tmp", path)
    return path


def _builtins_error(error: Exception) -> ConfigError:
    """A ConfigError naming the ops that have no TFLite built-in kernel and what to do."""
    text = str(error)
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op", text)))
    message = "TFLite export with built-in ops only failed"
    message += f"; ops without a built-in kernel: {', '.join(ops)}" if ops else f": {text.strip()[:300]}"
    if "TensorList" in text:
        message += (
            ". The Keras GRU/LSTM layers (DeepSpeech2's recurrent stack) keep their per-frame outputs in "
            "TensorLists, which TFLite runs only with Select TF ops (the Flex delegate); serve the SavedModel "
            "instead, or convert it yourself with OpsSet.SELECT_TF_OPS (docs/benchmarks.md, 'DeepSpeech2 and "
            "TFLite built-ins')"
        )
    return ConfigError(message)


def rewrite_new_axis_slices(function):
    """Returns ``function`` (frozen) with pure new-axis StridedSlices replaced by ExpandDims."""
    graph_def = function.graph.as_graph_def()
    constants = {n.name: tf.make_ndarray(n.attr["value"].tensor) for n in graph_def.node if n.op == "Const"}
    for node in graph_def.node:
        axes = _new_axes(node, constants)
        if axes is None:
            continue
        source = node.input[0]
        node.ClearField("input")
        for k, axis in enumerate(axes):
            const_name = f"{node.name}/new_axis_{k}"
            const = graph_def.node.add(name=const_name, op="Const")
            const.attr["dtype"].type = tf.int32.as_datatype_enum
            const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.int32(axis)))
            if k < len(axes) - 1:
                expand = graph_def.node.add(name=f"{node.name}/expand_{k}", op="ExpandDims")
                expand.input.extend([source, const_name])
                expand.attr["T"].CopyFrom(node.attr["T"])
                expand.attr["Tdim"].type = tf.int32.as_datatype_enum
                source = expand.name
            else:
                dtype = node.attr["T"]
                node.op = "ExpandDims"
                node.input.extend([source, const_name])
                for attr in list(node.attr):
                    del node.attr[attr]
                node.attr["T"].CopyFrom(dtype)
                node.attr["Tdim"].type = tf.int32.as_datatype_enum
    inputs = [t.name for t in function.inputs]
    outputs = [t.name for t in tf.nest.flatten(function.structured_outputs)]
    return wrap_function.function_from_graph_def(graph_def, inputs, outputs)


def _new_axes(node, constants) -> list[int] | None:
    """Axes that a StridedSlice only inserts (everything else ``:`` or ``...``), else None.

    Axes before an ellipsis are counted from the front, axes after it from the back
    (negative), in the order in which successive ExpandDims must insert them.
    """
    if node.op != "StridedSlice" or not node.attr["new_axis_mask"].i or node.attr["shrink_axis_mask"].i:
        return None
    strides = constants.get(node.input[3].split(":")[0])
    if strides is None or np.any(strides != 1):
        return None
    new, begin, end, ellipsis = (node.attr[k].i for k in ("new_axis_mask", "begin_mask", "end_mask", "ellipsis_mask"))
    n = len(strides)
    after = n
    if ellipsis:
        after = ellipsis.bit_length() - 1
        if ellipsis != 1 << after:
            return None
    front, back = [], []
    for i in range(n):
        bit = 1 << i
        if i == after:
            continue
        if new & bit:
            (front if i < after else back).append(i if i < after else i - n)
        elif not (begin & bit and end & bit):
            return None
    return front + sorted(back, reverse=True)


class TFLiteSpeech2Text:
    """Runs an exported speech model with the TFLite interpreter, one utterance at a time.

    Args:
      path: an export directory written with ``--export_tflite`` (its ``model.tflite`` and
        the vocabulary in ``assets/data_spec.json``), or a ``.tflite`` file (inside such a
        directory, or with ``vocab``).
      vocab: the characters of the model's vocab (the blank is the last class); None = the export's.
      num_threads: interpreter threads.

    ``sample_rate`` is the rate the model takes (mono float32 in [-1, 1]); ``transcribe``
    does not resample (``open_s2s.data.audio_io.prepare_audio`` does).
    """

    def __init__(self, path: str, vocab=None, num_threads: int = 1):
        model_path, export_dir = _tflite_paths(path)
        self.sample_rate = None
        if export_dir is not None:
            from open_s2s.data.data_spec import DataSpec  # noqa: PLC0415
            from open_s2s.export.assets import read_asset_json  # noqa: PLC0415

            spec = DataSpec.from_dict(read_asset_json(export_dir, "data_spec.json"))
            vocab = spec.target.vocab if vocab is None else vocab
            self.sample_rate = spec.source.sample_rate
        if vocab is None:
            raise ConfigError(f"{path}: not in an open_s2s export directory; pass vocab= (the model's characters)")
        self.interpreter = tf.lite.Interpreter(model_path=model_path, num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner("serving_default")
        self.vocab = tuple(vocab)

    def __call__(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """``audio`` float32 [samples] -> the model's outputs for a batch of one."""
        audio = np.asarray(audio, np.float32)[None]
        return self.runner(audio=audio, audio_length=np.array([audio.shape[1]], np.int32))

    def transcribe(self, audio: np.ndarray) -> tuple[str, np.ndarray]:
        """Greedy transcript and the valid ``[frames, vocab + 1]`` log-probs of one utterance."""
        out = self(audio)
        ids = out["ids"][0, : int(out["ids_length"][0])]
        text = "".join(self.vocab[int(i)] for i in ids)
        return text, out["log_probs"][0, : int(out["log_probs_length"][0])]


def _tflite_paths(path: str) -> tuple[str, str | None]:
    """``(the .tflite file, its export directory or None)`` for an export directory or a file."""
    from open_s2s.export.saved_model import read_manifest  # noqa: PLC0415

    if os.path.isdir(path):
        manifest = read_manifest(path)
        name = (manifest or {}).get("tflite")
        if not name:
            raise ConfigError(
                f"{path}: no TFLite model in this directory (export with --export_tflite=FILE to add model.tflite)"
            )
        return os.path.join(path, name), path
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such TFLite model or export directory")
    directory = os.path.dirname(os.path.abspath(path))
    return path, directory if read_manifest(directory) is not None else None
