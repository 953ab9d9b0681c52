"""SavedModel serving for translation: raw text strings in, translated strings out.

Tokenization and detokenization run in the graph: SentencePiece models with TensorFlow
Text's ``SentencepieceTokenizer`` (a custom op: ``import tensorflow_text`` before loading
the SavedModel), OpenSeq2Seq-style token vocabularies with a string split and a lookup
table. The model's ``generate`` (beam or greedy search) runs in the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from open_s2s.data import keys


@dataclass(frozen=True)
class TextSideServing:
    """How one side's text becomes ids and back.

    Attributes:
      sentencepiece_model: serialized SentencePiece model (bytes), or None for a token vocab.
      vocab: tokens by id (token vocabularies; the pieces for SentencePiece).
      delimiter: token separator of a token vocabulary.
      pad_id / bos_id / eos_id / unk_id: special ids.
      use_start_token: whether sentences begin with ``bos_id`` (OpenSeq2Seq's key).
    """

    sentencepiece_model: bytes | None
    vocab: tuple[str, ...]
    delimiter: str
    pad_id: int
    bos_id: int
    eos_id: int
    unk_id: int
    use_start_token: bool


@dataclass(frozen=True)
class TextServingParams:
    source: TextSideServing
    target: TextSideServing


class _SideCodec(tf.Module):
    def __init__(self, side: TextSideServing, name: str):
        super().__init__(name=name)
        self.side = side
        if side.sentencepiece_model is not None:
            import tensorflow_text  # noqa: PLC0415  (custom ops; only export needs them)

            self.tokenizer = tensorflow_text.SentencepieceTokenizer(model=side.sentencepiece_model, out_type=tf.int32)
        else:
            self.tokenizer = None
            init = tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(side.vocab)), tf.range(len(side.vocab), dtype=tf.int32)
            )
            self.table = tf.lookup.StaticHashTable(init, default_value=side.unk_id)
            self.symbols = tf.constant(list(side.vocab))

    def encode(self, text: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``[batch]`` strings -> padded ids ``[batch, T]`` (start token, EOS) and lengths."""
        s = self.side
        if self.tokenizer is not None:
            ragged = self.tokenizer.tokenize(text)
        else:
            ragged = self.table.lookup(tf.strings.split(text, sep=s.delimiter))
        rows = tf.shape(text)[0]
        parts = [ragged, tf.fill([rows, 1], s.eos_id)]
        if s.use_start_token:
            parts.insert(0, tf.fill([rows, 1], s.bos_id))
        ragged = tf.concat(parts, axis=1)
        return ragged.to_tensor(default_value=s.pad_id), tf.cast(ragged.row_lengths(), tf.int32)

    def decode(self, ids: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """Ids (EOS excluded) ``[batch, T]`` + lengths -> ``[batch]`` strings, without special ids."""
        s = self.side
        ragged = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
        keep = tf.logical_and(tf.not_equal(ragged, s.pad_id), tf.not_equal(ragged, s.bos_id))
        ragged = tf.ragged.boolean_mask(ragged, keep)
        if self.tokenizer is not None:
            return self.tokenizer.detokenize(ragged)
        return tf.strings.reduce_join(tf.gather(self.symbols, ragged), axis=1, separator=s.delimiter)


class Text2TextServing(tf.Module):
    """Wraps a trained Text2Text model: ``serving_default(text string [batch])`` returns
    ``translation`` string [batch], ``ids`` int32 [batch, T] (target ids, EOS excluded),
    ``lengths`` int32 [batch] and ``scores`` float32 [batch] (the search's scores)."""

    def __init__(self, model, params: TextServingParams):
        super().__init__(name="text2text_serving")
        self.model = model
        self.source = _SideCodec(params.source, "source")
        self.target = _SideCodec(params.target, "target")

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
