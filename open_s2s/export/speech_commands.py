"""Serving for keyword spotting: a SavedModel on raw 16 kHz audio, and a TFLite model."""

from __future__ import annotations

import os

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from open_s2s.data import keys
from open_s2s.data.audio import FeatureParams, compute_features
from open_s2s.data.resample import ANY_RATE_SIGNATURE, mix_down, resample
from open_s2s.data.speech_commands.speech_commands_data_layer import fit_clip


class SpeechCommandsServing(tf.Module):
    """Wraps a trained SpeechCommands model with in-graph clip fitting and features.

    ``serving_default(audio float32 [batch, samples], audio_length int32 [batch])``: each
    clip is cropped (centred) or zero-padded to the model's clip length (1 s) exactly as
    the data layer does in eval, then returns ``label`` string [batch], ``label_id``
    int32 [batch], ``probability`` float32 [batch] and ``probabilities`` float32
    [batch, num_classes].

    ``serving_any_rate(audio [batch, samples, channels], audio_length, sample_rate int32 [])``
    mixes channels down and resamples a rate of ``open_s2s.data.resample.SUPPORTED_RATES``
    in the graph, with the same outputs.

    ``write_extras(export_dir)`` adds ``model.tflite`` (TFLite built-in ops only; input
    float32 [1, clip samples] of audio in [-1, 1]; outputs the float32 probabilities
    [1, num_classes] and the int32 label id [1]; the frozen graph names them ``Identity*``,
    so tell them apart by dtype) and ``labels.txt`` (one class name per line, by id).
    """

    def __init__(self, model, feature_params: FeatureParams):
        super().__init__(name="speech_commands_serving")
        self.model = model
        self.feature_params = feature_params
        self.clip_samples = model.data_spec.source.clip_samples
        self.labels = model.data_spec.target.vocab
        self.serve_clip = tf.function(
            self._classify, input_signature=[tf.TensorSpec([1, self.clip_samples], tf.float32, name="audio")]
        )

    def _classify(self, clips):
        """``[batch, clip_samples]`` -> probabilities and arg max."""
        lengths = tf.fill(tf.shape(clips)[:1], self.clip_samples)
        features, lengths = compute_features(clips, lengths, self.feature_params, training=False)
        generated = self.model.generate({keys.SOURCE: features, keys.SOURCE_LENGTH: lengths})
        return {"probabilities": generated["probabilities"], "label_id": generated["labels"]}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.float32, name="audio"),
            tf.TensorSpec([None], tf.int32, name="audio_length"),
        ]
    )
    def serve(self, audio, audio_length):
        out = self._classify(fit_clip(audio, audio_length, self.clip_samples))
        return {
            "label": tf.gather(tf.constant(self.labels), out["label_id"]),
            "label_id": out["label_id"],
            "probability": tf.reduce_max(out["probabilities"], axis=-1),
            "probabilities": out["probabilities"],
        }

    @tf.function(input_signature=ANY_RATE_SIGNATURE)
    def serve_any_rate(self, audio, audio_length, sample_rate):
        mono, lengths = resample(mix_down(audio), audio_length, sample_rate, self.feature_params.sample_freq)
        return self.serve(mono, lengths)

    def extra_signatures(self) -> dict:
        return {"serving_any_rate": self.serve_any_rate}

    def tflite_model(self) -> bytes:
        """The single-clip function as a TFLite flatbuffer (built-in ops only)."""
        # Freeze the weights in Python first: TF 2.16's converter cannot freeze Keras 3
        # variable reads itself ("missing attribute 'value'", tensorflow#63987).
        frozen = convert_variables_to_constants_v2(self.serve_clip.get_concrete_function())
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()

    def write_extras(self, export_dir: str) -> None:
        with open(os.path.join(export_dir, "model.tflite"), "wb") as f:
            f.write(self.tflite_model())
        with open(os.path.join(export_dir, "labels.txt"), "w") as f:
            f.writelines(f"{name}\n" for name in self.labels)
