"""SavedModel serving module for speech recognition: raw audio in, text out."""

from __future__ import annotations

import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.audio import FeatureParams, compute_features
from open_s2s.data.resample import ANY_RATE_SIGNATURE, mix_down, resample
from open_s2s.data.vocab import tf_ids_to_text
from open_s2s.decoding.ctc import ctc_greedy_decode_dense


class Speech2TextServing(tf.Module):
    """Wraps a trained Speech2Text model with in-graph features and greedy decoding.

    ``serving_default(audio float32 [batch, samples], audio_length int32 [batch])``
    returns ``transcript`` string [batch], greedy ``ids`` int32 [batch, max_len]
    (padded with -1), ``ids_length`` [batch], and CTC ``log_probs`` float32
    [batch, frames, vocab + 1] with ``log_probs_length`` [batch] for external decoders.

    ``audio`` is mono at the model's rate (``feature_params.sample_freq``, in the export's
    manifest and ``assets/``). ``serving_any_rate(audio float32 [batch, samples, channels],
    audio_length int32 [batch], sample_rate int32 [])`` takes any channel count (mixed down)
    and a rate of ``open_s2s.data.resample.SUPPORTED_RATES`` (resampled in the graph; another
    rate fails naming them), with the same outputs.

    ``serve_tflite`` (same inputs) returns the numeric outputs only (``ids``, ``ids_length``,
    ``log_probs``, ``log_probs_length``) through TFLite built-in ops (see export/tflite.py).
    """

    _SIGNATURE = (
        tf.TensorSpec([None, None], tf.float32, name="audio"),
        tf.TensorSpec([None], tf.int32, name="audio_length"),
    )

    def __init__(self, model, feature_params: FeatureParams):
        super().__init__(name="speech2text_serving")
        self.model = model
        self.feature_params = feature_params
        self.symbols = model.data_spec.target.vocab + ("",)

    @tf.function(input_signature=_SIGNATURE)
    def serve(self, audio, audio_length):
        features, lengths = compute_features(audio, audio_length, self.feature_params, training=False)
        generated = self.model.generate({keys.SOURCE: features, keys.SOURCE_LENGTH: lengths})
        ids = generated["ids"]
        padding = len(self.symbols) - 1  # the "" entry: padding ids (-1) map to it
        return {
            "transcript": tf_ids_to_text(tf.where(ids >= 0, ids, padding), self.symbols),
            "ids": ids,
            "ids_length": generated[keys.LENGTHS],
            "log_probs": generated["log_probs"],
            "log_probs_length": generated["log_probs_length"],
        }

    @tf.function(input_signature=ANY_RATE_SIGNATURE)
    def serve_any_rate(self, audio, audio_length, sample_rate):
        mono, lengths = resample(mix_down(audio), audio_length, sample_rate, self.feature_params.sample_freq)
        return self.serve(mono, lengths)

    def extra_signatures(self) -> dict:
        return {"serving_any_rate": self.serve_any_rate}

    @tf.function(input_signature=_SIGNATURE)
    def serve_tflite(self, audio, audio_length):
        features, lengths = compute_features(audio, audio_length, self.feature_params, training=False)
        outputs = self.model({keys.SOURCE: features, keys.SOURCE_LENGTH: lengths}, training=False)
        logits = tf.cast(outputs[keys.LOGITS], tf.float32)
        ids, ids_length = ctc_greedy_decode_dense(logits, outputs[keys.LENGTHS], len(self.symbols) - 1)
        return {
            "ids": ids,
            "ids_length": ids_length,
            "log_probs": tf.nn.log_softmax(logits),
            "log_probs_length": outputs[keys.LENGTHS],
        }
