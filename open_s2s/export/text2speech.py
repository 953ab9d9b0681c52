"""SavedModel serving for speech synthesis: text strings in, waveforms out (Griffin-Lim in the graph)."""

from __future__ import annotations

import tensorflow as tf

from open_s2s.data import keys


class Text2SpeechServing(tf.Module):
    """Wraps a trained Text2SpeechTacotron: ``serving_default(text string [batch])`` returns
    ``audio`` float32 [batch, samples] at ``sample_rate`` (zero past each length),
    ``audio_length`` int32 [batch], ``frames`` int32 [batch] (spectrogram frames generated)
    and ``hit_max_length`` bool [batch].

    The text is lower-cased and split into characters as the data layer does; characters
    outside the vocabulary are dropped (the data layer refuses them at load time, a server
    should not), and the start/end ids are added when the model was trained with them.
    """

    def __init__(self, model, spectrogram_params):
        super().__init__(name="text2speech_serving")
        self.model = model
        self.spectrogram_params = spectrogram_params
        side = model.data_spec.source
        self.bos_id, self.eos_id = side.bos_id, side.eos_id
        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(side.vocab)), tf.range(len(side.vocab), dtype=tf.int32)
        )
        self.table = tf.lookup.StaticHashTable(init, default_value=-1)
        self.sample_rate = tf.constant(model.data_spec.target.sample_rate, tf.int32)
        self.length_multiple, self.pad_id = side.length_multiple, max(side.pad_id, 0)

    def encode(self, text):
        chars = tf.strings.unicode_split(tf.strings.lower(text), "UTF-8")
        ids = self.table.lookup(chars)
        ids = tf.ragged.boolean_mask(ids, ids >= 0)
        rows = tf.shape(text)[0]
        parts = [ids]
        if self.bos_id >= 0:
            parts.insert(0, tf.fill([rows, 1], self.bos_id))
        if self.eos_id >= 0:
            parts.append(tf.fill([rows, 1], self.eos_id))
        ids = tf.concat(parts, axis=1)
        dense = ids.to_tensor(default_value=self.pad_id)
        # padded as the data layer pads (pad_to): infer and this server then run the same shapes
        extra = -tf.shape(dense)[1] % self.length_multiple
        dense = tf.pad(dense, [[0, 0], [0, extra]], constant_values=self.pad_id)
        return dense, tf.cast(ids.row_lengths(), tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        ids, lengths = self.encode(text)
        generated = self.model.generate({keys.SOURCE: ids, keys.SOURCE_LENGTH: lengths})
        return {
            "audio": generated[keys.AUDIO],
            "audio_length": generated[keys.AUDIO_LENGTH],
            "frames": generated[keys.LENGTHS],
            "hit_max_length": generated["hit_max_length"],
            "sample_rate": tf.fill(tf.shape(lengths), self.sample_rate),
        }
