"""SavedModel serving module for speech recognition: raw 16 kHz audio in, text out."""

from __future__ import annotations

import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.audio import FeatureParams, compute_features
from open_s2s.data.vocab import tf_ids_to_text
from open_s2s.decoding.ctc import ctc_greedy_decode_dense


class Speech2TextServing(tf.Module):
    """Wraps a trained Speech2Text model with in-graph features and greedy decoding.

    ``serving_default(audio float32 [batch, samples], audio_length int32 [batch])``
    returns ``transcript`` string [batch], greedy ``ids`` int32 [batch, max_len]
    (padded with -1), ``ids_length`` [batch], and CTC ``log_probs`` float32
    [batch, frames, vocab + 1] with ``log_probs_length`` [batch] for external decoders.

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
