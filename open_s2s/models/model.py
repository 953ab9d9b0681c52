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

    Two passes, two methods (the contract every family follows):

    * ``call(batch, training)``: the teacher-forced pass that the loss sees. The decoder
      gets the batch's targets when the batch has them (an autoregressive decoder is
      fed the reference prefix; CTC and classifier decoders ignore them).
    * ``generate(batch)``: the free-running pass, from the source alone (greedy CTC,
      arg max, beam search, autoregressive synthesis). Metrics, inference and exports
      all come from it, never from teacher-forced outputs.

    ``evaluate_batch`` runs both for eval with one encoder pass: the source does not
    depend on the targets, so the loss pass and the generation pass share it.

    Subclasses (one per family) add only the map/reduce hooks that turn generated
    outputs into metrics and inference output:

    * ``eval_batch(batch, generated) -> list`` (map, per batch, numpy in, records out)
    * ``finalize_eval(records) -> dict`` (reduce; metrics over the whole eval set)
    * ``eval_text(records) -> str``, ``eval_images(records) -> {name: [H, W, 3] uint8}`` and
      ``eval_audio(records) -> {name: (waveform, rate)}`` (optional reports, e.g. a confusion
      matrix or synthesized speech, logged and written to TensorBoard)
    * ``infer_batch(batch, generated) -> list[(index, row)]`` and ``write_inference``
      (CSV rows by default; a family may write files, e.g. audio)
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

    # ------------------------------------------------------------------ the two passes

    def encode(self, batch: dict[str, Any], training: bool = False) -> dict[str, Any]:
        """Encoder outputs (``outputs``, ``lengths``) plus ``source_length`` for the decoder."""
        encoded = self.encoder(
            {keys.SOURCE: batch[keys.SOURCE], keys.SOURCE_LENGTH: batch[keys.SOURCE_LENGTH]}, training=training
        )
        return {**encoded, keys.SOURCE_LENGTH: batch[keys.SOURCE_LENGTH]}

    def call(self, batch: dict[str, Any], training: bool = False) -> dict[str, Any]:
        """Teacher-forced decoder outputs (targets are used when the batch has them)."""
        return self._decode_teacher_forced(self.encode(batch, training), batch, training)

    def _decode_teacher_forced(self, encoded, batch, training):
        decoder_inputs = dict(encoded)
        for key in (keys.TARGET, keys.TARGET_LENGTH):
            if key in batch:
                decoder_inputs[key] = batch[key]
        return self.decoder(decoder_inputs, training=training)

    def generate(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Free-running predictions from the source alone (targets in ``batch`` are not read)."""
        return self.generate_from_encoded(self.encode(batch, training=False))

    def generate_from_encoded(self, encoded: dict[str, Any]) -> dict[str, Any]:
        """``generate`` after the encoder (a family may post-process, e.g. vocode spectrograms)."""
        return self.decoder.generate(encoded)

    def evaluate_batch(self, batch: dict[str, Any]) -> tuple[tf.Tensor, dict[str, Any]]:
        """``(float32 loss of the teacher-forced pass, generate(batch))`` with one encoder pass."""
        encoded = self.encode(batch, training=False)
        outputs = self._decode_teacher_forced(encoded, batch, training=False)
        if self.decoder.AUTOREGRESSIVE:
            generated = self.generate_from_encoded(encoded)
        else:  # one pass is both: its decoding reads no target
            generated = self.decoder.decode(outputs)
        return self.compute_loss_value(outputs, batch), generated

    def l2_variables(self) -> list:
        """The variables a config's L2 ``regularizer`` applies to (each component's choice)."""
        return self.encoder.l2_variables() + self.decoder.l2_variables()

    def compute_loss_value(self, outputs: dict[str, Any], batch: dict[str, Any]) -> tf.Tensor:
        """The loss in float32, averaged over the local batch."""
        return tf.cast(self.loss_fn(outputs, batch), tf.float32)

    def _default_save_signature(self):
        # Keras would trace call() on float inputs of every input's shape when a SavedModel
        # holds this model; exports define their own signatures (open_s2s/export/).
        return None

    def dummy_batch(self) -> dict[str, Any]:
        """A one-example batch shaped like the data layer's elements; calling the model on it
        creates every variable."""
        return self.data_spec.dummy_batch()

    # ------------------------------------------------------------------ family hooks

    def eval_batch(self, batch: dict[str, Any], generated: dict[str, Any]) -> list[Any]:
        return []

    def finalize_eval(self, records: list[Any]) -> dict[str, float]:
        return {}

    def eval_text(self, records: list[Any]) -> str:
        return ""

    def eval_images(self, records: list[Any]) -> dict[str, Any]:
        return {}

    def eval_audio(self, records: list[Any]) -> dict[str, tuple[Any, int]]:
        """Optional ``{name: (waveform [samples] float32, sample rate)}`` for TensorBoard."""
        return {}

    def infer_batch(self, batch: dict[str, Any], generated: dict[str, Any]) -> list[tuple[int, Any]]:
        raise NotImplementedError

    infer_header: tuple[str, ...] = ()
    # Column of infer output holding the input's reference (when the input has references).
    infer_reference_column = "reference"
    INFER_FILE = "infer.csv"  # default --infer_output_file name in the logdir

    def write_inference(
        self, path: str, names: list[str], rows: list[tuple[int, Any]], references: list[str | None] | None = None
    ) -> str:
        """Writes infer output (default: a CSV of ``infer_header`` rows, in input order; with
        ``references``, indexed like ``names``, one more column ``infer_reference_column``);
        returns a one-line description for the console."""
        from open_s2s.training.evaluation import write_infer_csv  # noqa: PLC0415

        header = self.infer_header + ((self.infer_reference_column,) if references is not None else ())
        write_infer_csv(path, header, names, rows, references)
        return f"wrote {len(rows)} predictions to {path}"

    def check_data(self, data_layer) -> None:
        """Load-time checks that need the model as well as the data (before train/eval).

        Raises ``DataError`` naming the dataset file and line of an example this model
        cannot learn from. The default checks nothing.
        """

    def score_inference(self, data_layer, rows: list[tuple[int, Any]]) -> dict[str, float]:
        """Metrics of inference output against references the data layer has (if any)."""
        return {}

    def loss_weight(self, batch: dict[str, Any]) -> tf.Tensor:
        """What the loss of ``batch`` averages over (default: its examples). The trainer weighs
        batches of one step by it, so that replicas with different batches add up to the loss
        of their union."""
        return tf.cast(tf.shape(batch[keys.SOURCE])[0], tf.float32)

    def objects_in_batch(self, batch: dict[str, Any]) -> tf.Tensor:
        """Objects processed in a batch for throughput figures (default: samples)."""
        return tf.cast(tf.shape(batch[keys.SOURCE])[0], tf.float32)

    def sample_text(self, batch: dict[str, Any], generated: dict[str, Any], limit: int = 3) -> str:
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
