"""EncoderDecoderModel: composes encoder, decoder and loss; family hooks for metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import Param
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec
from open_s2s.layers.initializers import INITIALIZER_PARAMS, check_initializer_name


class EncoderDecoderModel(keras.Model):
    """An encoder, a decoder and a loss, built from a config.

    The network part is a Keras model (``call(batch, training) -> decoder outputs``).
    Subclasses (one per family) add only the map/reduce hooks that turn decoded
    outputs into metrics and inference rows:

    * ``eval_batch(batch, decoded) -> list`` (map, per batch, numpy in, records out)
    * ``finalize_eval(records) -> dict`` (reduce; metrics over the whole eval set)
    * ``eval_text(records) -> str`` and ``eval_images(records) -> {name: [H, W, 3] uint8}``
      (optional reports, e.g. a confusion matrix, logged and written to TensorBoard)
    * ``infer_batch(batch, decoded) -> list[(index, row)]`` and ``infer_header``
    * ``objects_in_batch(batch)`` for throughput (audio seconds, tokens, ...)

    Precision and distribution are not known here: the trainer sets the Keras dtype
    policy and the strategy before building the model.
    """

    PARAMS: Mapping[str, Param] = {
        "encoder": Param(type, doc="Encoder class, e.g. TDNNEncoder."),
        "encoder_params": Param(dict, {}, doc="Encoder parameters."),
        "decoder": Param(type, doc="Decoder class, e.g. FullyConnectedCTCDecoder."),
        "decoder_params": Param(dict, {}, doc="Decoder parameters."),
        "loss": Param(type, doc="Loss class, e.g. CTCLoss."),
        "loss_params": Param(dict, {}, doc="Loss parameters."),
        "data_layer": Param(type, doc="Data layer class, e.g. Speech2TextDataLayer."),
        "data_layer_params": Param(dict, doc="Data layer parameters."),
        "initializer": Param(
            (str, type(None)),
            None,
            doc="Keras initializer of every kernel whose component sets none (OpenSeq2Seq's model-wide "
            "default); None = each component's own default.",
            check=check_initializer_name,
        ),
        "initializer_params": INITIALIZER_PARAMS,
    }
    # Metric used to keep the best checkpoints, and whether lower is better.
    PRIMARY_METRIC: tuple[str, bool] = ("loss", True)
    # What ``objects_in_batch`` counts, for throughput figures.
    OBJECTS_UNIT: str = "samples"

    def __init__(self, params: Mapping[str, Any], data_spec: DataSpec, **kwargs):
        kwargs.setdefault("name", "s2s")
        super().__init__(**kwargs)
        self.data_spec = data_spec
        self.encoder = params["encoder"](component_params(params, "encoder"), data_spec, name="encoder")
        self.decoder = params["decoder"](component_params(params, "decoder"), data_spec, name="decoder")
        self.loss_fn = params["loss"](params["loss_params"], data_spec)

    def call(self, batch: dict[str, Any], training: bool = False) -> dict[str, Any]:
        encoded = self.encoder(
            {keys.SOURCE: batch[keys.SOURCE], keys.SOURCE_LENGTH: batch[keys.SOURCE_LENGTH]}, training=training
        )
        decoder_inputs = dict(encoded)
        for key in (keys.TARGET, keys.TARGET_LENGTH):
            if key in batch:
                decoder_inputs[key] = batch[key]
        return self.decoder(decoder_inputs, training=training)

    def l2_variables(self) -> list:
        """The variables a config's L2 ``regularizer`` applies to (each component's choice)."""
        return self.encoder.l2_variables() + self.decoder.l2_variables()

    def compute_loss_value(self, outputs: dict[str, Any], batch: dict[str, Any]) -> tf.Tensor:
        """The loss in float32, averaged over the local batch."""
        return tf.cast(self.loss_fn(outputs, batch), tf.float32)

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        return self.decoder.decode(outputs)

    # ------------------------------------------------------------------ family hooks

    def eval_batch(self, batch: dict[str, Any], decoded: dict[str, Any]) -> list[Any]:
        return []

    def finalize_eval(self, records: list[Any]) -> dict[str, float]:
        return {}

    def eval_text(self, records: list[Any]) -> str:
        return ""

    def eval_images(self, records: list[Any]) -> dict[str, Any]:
        return {}

    def infer_batch(self, batch: dict[str, Any], decoded: dict[str, Any]) -> list[tuple[int, list[str]]]:
        raise NotImplementedError

    infer_header: tuple[str, ...] = ()

    def dummy_batch(self) -> dict[str, Any]:
        """A tiny batch that creates every variable when called (feature-input default)."""
        frames = 16
        return {
            keys.SOURCE: tf.zeros([1, frames, self.data_spec.num_features]),
            keys.SOURCE_LENGTH: tf.constant([frames], tf.int32),
            keys.TARGET: tf.zeros([1, 1], tf.int32),
            keys.TARGET_LENGTH: tf.constant([1], tf.int32),
        }

    def check_data(self, data_layer) -> None:
        """Load-time checks that need the model as well as the data (before train/eval).

        Raises ``DataError`` naming the dataset file and line of an example this model
        cannot learn from. The default checks nothing.
        """

    def score_inference(self, data_layer, rows: list[tuple[int, Any]]) -> dict[str, float]:
        """Metrics of inference output against references the data layer has (if any)."""
        return {}

    def objects_in_batch(self, batch: dict[str, Any]) -> tf.Tensor:
        """Objects processed in a batch for throughput figures (default: samples)."""
        return tf.cast(tf.shape(batch[keys.SOURCE])[0], tf.float32)

    def sample_text(self, batch: dict[str, Any], decoded: dict[str, Any], limit: int = 3) -> str:
        """A few predictions next to their references, for logs and TensorBoard."""
        return ""


def component_params(params: Mapping[str, Any], selector: str) -> dict[str, Any]:
    """``<selector>_params`` with the config's top-level ``initializer`` filled in.

    OpenSeq2Seq set its model ``initializer`` as the default of every variable, and a
    component's own ``initializer`` won; Keras layers take initializers explicitly, so the
    top-level pair reaches every component that has an ``initializer`` param and sets
    neither ``initializer`` nor ``initializer_params`` itself.
    """
    own = dict(params[f"{selector}_params"])
    model_default = params.get("initializer")  # absent in hand-built params of unit tests
    spec = params[selector].all_params() if hasattr(params[selector], "all_params") else {}
    if model_default is not None and "initializer" in spec and not {"initializer", "initializer_params"} & set(own):
        own["initializer"] = model_default
        own["initializer_params"] = dict(params["initializer_params"])
    return own
