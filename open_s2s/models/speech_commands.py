"""SpeechCommands: keyword classification (ResNet or Jasper encoders); accuracy and confusion."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.models.model import EncoderDecoderModel


class SpeechCommands(EncoderDecoderModel):
    """Clip classification: a fixed-length spectrogram in, one of ``num_classes`` labels out.

    OpenSeq2Seq's ``Image2Label`` for speech commands. Eval records are
    ``(index, reference id, predicted id)``; ``finalize_eval`` reports accuracy (%) over the
    whole set, and ``eval_text`` / ``eval_images`` the confusion matrix (rows: reference,
    columns: prediction) as text and as a TensorBoard image.
    """

    PRIMARY_METRIC = ("accuracy", False)
    OBJECTS_UNIT = "clips"
    infer_header = ("wav_filename", "predicted_label", "probability")
    infer_reference_column = "label"

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        self.config_params = params  # for the float32 twin built at export

    @property
    def labels(self) -> tuple[str, ...]:
        return self.data_spec.target.vocab

    def eval_batch(self, batch, decoded):
        return list(zip(batch[keys.INDEX].tolist(), batch[keys.TARGET].tolist(), decoded["labels"].tolist()))

    def confusion(self, records) -> np.ndarray:
        """``[num_classes, num_classes]`` counts; row = reference, column = prediction."""
        n = self.data_spec.target.vocab_size
        matrix = np.zeros([n, n], np.int64)
        for _, ref, hyp in records:
            matrix[ref, hyp] += 1
        return matrix

    def finalize_eval(self, records):
        if not records:
            return {"accuracy": float("nan"), "num_clips": 0}
        correct = sum(ref == hyp for _, ref, hyp in records)
        return {"accuracy": 100.0 * correct / len(records), "num_clips": len(records)}

    def eval_text(self, records) -> str:
        return confusion_text(self.confusion(records), self.labels) if records else ""

    def eval_images(self, records) -> dict[str, np.ndarray]:
        return {"confusion_matrix": confusion_image(self.confusion(records))} if records else {}

    def infer_batch(self, batch, decoded):
        rows = []
        for i, label, prob in zip(batch[keys.INDEX].tolist(), decoded["labels"].tolist(), decoded["probability"]):
            rows.append((int(i), [self.labels[label], f"{float(prob):.4f}"]))
        return rows

    def score_inference(self, data_layer, rows):
        """Accuracy of infer output against the data layer's labels (clips without one are skipped)."""
        names = list(self.labels)
        records = [(i, data_layer.label_of(i), names.index(row[0])) for i, row in rows]
        records = [r for r in records if r[1] >= 0]
        return self.finalize_eval(records) if records else {}

    def objects_in_batch(self, batch):
        return tf.cast(tf.shape(batch[keys.TARGET])[0], tf.float32)

    def sample_text(self, batch, decoded, limit=3):
        lines = []
        for ref, hyp, prob in list(zip(batch[keys.TARGET], decoded["labels"], decoded["probability"]))[:limit]:
            lines.append(f"REF: {self.labels[ref]}  HYP: {self.labels[hyp]} ({float(prob):.2f})")
        return "\n".join(lines)

    def serving_module(self, feature_params):
        from open_s2s.export.speech_commands import SpeechCommandsServing  # noqa: PLC0415

        return SpeechCommandsServing(self.float32_twin(), feature_params)

    def float32_twin(self) -> SpeechCommands:
        """This model, or a float32 copy of it when trained under a mixed policy (for export)."""
        if self.compute_dtype == "float32":
            return self
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            twin = type(self)(self.config_params, self.data_spec)
            twin(twin.dummy_batch(), training=False)
        finally:
            keras.mixed_precision.set_global_policy(previous)
        twin.set_weights(self.get_weights())
        return twin


def confusion_text(matrix: np.ndarray, labels) -> str:
    """A fixed-width table: rows are references, columns predictions (label abbreviations)."""
    width = max(5, len(str(int(matrix.max()))) + 1)
    head = " " * 12 + "".join(f"{name[: width - 1]:>{width}}" for name in labels)
    rows = [f"{name[:11]:<12}" + "".join(f"{int(v):>{width}}" for v in row) for name, row in zip(labels, matrix)]
    return "\n".join(["confusion matrix (rows: reference, columns: prediction)", head, *rows])


def confusion_image(matrix: np.ndarray, cell: int = 12) -> np.ndarray:
    """Row-normalized confusion matrix as an RGB heat map ``[n*cell, n*cell, 3]`` uint8.

    White is 0, dark blue is 1 (a whole reference row predicted as that column).
    """
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    low, high = np.array([255, 255, 255]), np.array([8, 48, 107])
    colors = (low + rates[..., None] * (high - low)).astype(np.uint8)
    return np.repeat(np.repeat(colors, cell, axis=0), cell, axis=1)
