"""SavedModel serving for translation: raw text strings in, translated strings out.

Tokenization and detokenization run in the graph: SentencePiece models with TensorFlow
Text's ``SentencepieceTokenizer`` (a custom op: ``import tensorflow_text`` before loading
the SavedModel), OpenSeq2Seq-style token vocabularies with a string split and a lookup
table. The model's ``generate`` (beam or greedy search) runs in the same function.
"""

from __future__ import annotations

import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.data_spec import SideSpec
from open_s2s.data.text2text.postprocess import tf_detokenize
from open_s2s.data.text2text.serving_params import TextServingParams, TextSideServing


class _SideCodec(tf.Module):
    def __init__(self, side: TextSideServing, spec: SideSpec, name: str):
        super().__init__(name=name)
        self.side, self.spec = side, spec
        if side.sentencepiece_model is not None:
            import tensorflow_text  # noqa: PLC0415  (custom ops; only export needs them)

            self.tokenizer = tensorflow_text.SentencepieceTokenizer(model=side.sentencepiece_model, out_type=tf.int32)
        else:
            self.tokenizer = None
            init = tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(side.vocab)), tf.range(len(side.vocab), dtype=tf.int32)
            )
            self.table = tf.lookup.StaticHashTable(init, default_value=side.unk_id)

    def encode(self, text: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``[batch]`` strings -> padded ids ``[batch, T]`` (start token, EOS) and lengths."""
        s = self.side
        if self.tokenizer is not None:
            ragged = self.tokenizer.tokenize(text)
        else:
            tokens = tf.strings.split(text, sep=s.delimiter)
            tokens = tf.ragged.boolean_mask(tokens, tf.not_equal(tokens, ""))  # as the data layer: no empty tokens
            ragged = self.table.lookup(tokens)
        rows = tf.shape(text)[0]
        parts = [ragged, tf.fill([rows, 1], s.eos_id)]
        if s.use_start_token:
            parts.insert(0, tf.fill([rows, 1], s.bos_id))
        ragged = tf.concat(parts, axis=1)
        return ragged.to_tensor(default_value=s.pad_id), tf.cast(ragged.row_lengths(), tf.int32)

    def decode(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """Ids (EOS excluded) ``[batch, T]`` + lengths -> ``[batch]`` strings, without special ids."""
        ids = tf.where(tf.sequence_mask(lengths, tf.shape(ids)[1]), ids, self.side.eos_id)
        if self.tokenizer is not None:
            keep = tf.logical_and(tf.not_equal(ids, self.side.pad_id), tf.not_equal(ids, self.side.bos_id))
            keep &= tf.sequence_mask(lengths, tf.shape(ids)[1])
            return self.tokenizer.detokenize(tf.ragged.boolean_mask(ids, keep))
        return tf_detokenize(ids, self.spec)


class Text2TextServing(tf.Module):
    """Wraps a trained Text2Text model: ``serving_default(text string [batch])`` returns
    ``translation`` string [batch], ``ids`` int32 [batch, T] (target ids, EOS excluded),
    ``lengths`` int32 [batch] and ``scores`` float32 [batch] (the search's scores)."""

    def __init__(self, model, params: TextServingParams):
        super().__init__(name="text2text_serving")
        self.model = model
        self.source = _SideCodec(params.source, model.data_spec.source, "source")
        self.target = _SideCodec(params.target, model.data_spec.target, "target")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(self, text):
        ids, lengths = self.source.encode(text)
        generated = self.model.generate({keys.SOURCE: ids, keys.SOURCE_LENGTH: lengths})
        out_ids, out_len = generated["ids"], generated[keys.LENGTHS]
        return {
            "translation": self.target.decode(out_ids, out_len),
            "ids": out_ids,
            "lengths": out_len,
            "scores": generated["scores"],
        }
