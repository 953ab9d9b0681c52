"""ParallelTextDataLayer: line-aligned source/target text files (OpenSeq2Seq's format)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive, validate
from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.data_layer import DataLayer
from open_s2s.data.data_spec import DataSpec, token_ids
from open_s2s.data.text2text.serving_params import TextServingParams, TextSideServing
from open_s2s.data.text2text.special_tokens import EOS_ID, PAD_ID, S_ID, UNK_ID
from open_s2s.data.text2text.text_files import (
    SentencePieceEncoder,
    TokenEncoder,
    load_token_vocab,
    pad_vocab_to_eight,
    read_lines,
)

logger = logging.getLogger(__name__)

TARGET_TEXT = keys.TARGET_TEXT

# Length buckets as OpenSeq2Seq's Transformer pipeline (t2t.py): boundaries from 8 growing
# by 10%, so a batch's padded length is at most ~10% above its shortest example's.
_MIN_BOUNDARY = 8
_BOUNDARY_SCALE = 1.1
_UNKNOWN_EXAMPLES = 10  # most frequent unknown tokens named in the log


def _optional_path(doc: str) -> Param:
    return Param((str, type(None)), None, doc=doc)


class ParallelTextDataLayer(DataLayer):
    """Sentence pairs from two line-aligned text files, as padded batches of token ids.

    OpenSeq2Seq's ``ParallelTextDataLayer`` keys and format: line ``i`` of ``source_file``
    translates to line ``i`` of ``target_file``. Each side is either

    * tokens separated by ``delimiter`` with a vocab file (``src_vocab_file`` /
      ``tgt_vocab_file``: one token per line, an optional tab-separated count is ignored;
      with ``special_tokens_already_in_vocab`` its first four lines are PAD, EOS, S, UNK,
      e.g. a SentencePiece ``.vocab``), or
    * raw text split by a SentencePiece model (``src_sentencepiece_model`` /
      ``tgt_sentencepiece_model``, or ``sentencepiece_model`` for both sides), trained with
      ids pad 0, eos 1, bos 2, unk 3 by ``python -m open_s2s.data.text2text.sentencepiece``.

    Every line becomes ``[<S>] + token ids + [</S>]`` (``<S>`` only with ``use_start_token``)
    with OpenSeq2Seq's ids PAD 0, EOS 1, S 2, UNK 3; tokens not in the vocab map to UNK and
    are counted in the log. Lines are read and tokenized when the layer is built; bad input
    raises ``DataError`` naming the file and line (missing file, different line counts,
    empty line, non-UTF-8 line).

    ``max_length`` counts tokens including ``<S>``/``</S>``. In train mode pairs with a
    longer side are dropped (the count is logged). Eval and infer keep every line, however
    long, because infer writes one translation per input line. (OpenSeq2Seq truncated
    lines to ``max_length - 2`` tokens in every mode, so its length filter never fired.)

    In infer mode targets are optional: without ``target_file``, with ``use_targets:
    False``, or with ``target_file`` equal to ``source_file`` (OpenSeq2Seq's infer configs
    do that as a placeholder) only the source file is read and ``TARGET`` is empty.

    Batches (dict keyed by ``open_s2s.data.keys``), padded with PAD (0):
      SOURCE ``[batch, time]`` int32, SOURCE_LENGTH ``[batch]`` int32, TARGET
      ``[batch, time']`` int32, TARGET_LENGTH ``[batch]`` int32 (lengths include the special
      tokens, exclude padding), INDEX ``[batch]`` int64 (the 0-based line number), and in
      eval/infer with targets TARGET_TEXT ``[batch]`` string (``target_text``: the reference
      as text, for BLEU).

    Pairs are grouped into length buckets (by ``max(source length, target length)``,
    boundaries from 8 growing by 10%) before batching. ``batch_size`` counts sentence
    pairs, or with ``batch_in_tokens`` tokens: a bucket whose longest pair has ``L``
    tokens (rounded up to a multiple of 8 with ``pad_lengths_to_eight``) makes batches of
    ``batch_size // L`` pairs, so ``batch * time`` of SOURCE and of TARGET each stay within
    ``batch_size`` (OpenSeq2Seq's Transformer rule; a single pair longer than
    ``batch_size`` is a batch of one). ``pad_lengths_to_eight`` pads the time axes to a
    multiple of 8; unlike OpenSeq2Seq the lengths stay the real ones.
    """

    PARAMS: Mapping[str, Param] = {
        "source_file": Param(str, doc="Source sentences, one per line (UTF-8)."),
        "target_file": _optional_path("Target sentences, line-aligned with source_file (optional in infer mode)."),
        "src_vocab_file": _optional_path("Source vocab: one token per line, optional tab + count."),
        "tgt_vocab_file": _optional_path("Target vocab: one token per line, optional tab + count."),
        "sentencepiece_model": _optional_path("One SentencePiece .model for both sides (files hold raw text)."),
        "src_sentencepiece_model": _optional_path("SentencePiece .model of the source side (raw text)."),
        "tgt_sentencepiece_model": _optional_path("SentencePiece .model of the target side (raw text)."),
        "delimiter": Param(str, " ", doc="Separates tokens in lines of vocab-file sides."),
        "max_length": Param(
            (int, type(None)),
            None,
            doc="Train: drop pairs with a side longer than this many tokens (incl. `<S>`, `</S>`); None = keep all.",
            check=positive,
        ),
        "use_targets": Param(bool, True, doc="Read target_file (False: infer from sources alone)."),
        "special_tokens_already_in_vocab": Param(
            bool, True, doc="Vocab files start with PAD, EOS, S, UNK (else they get ids 0..3 and file tokens follow)."
        ),
        "use_start_token": Param(bool, True, doc="Begin every sequence with `<S>` (id 2)."),
        "pad_lengths_to_eight": Param(bool, False, doc="Pad batch time axes to a multiple of 8."),
        "pad_vocab_to_eight": Param(bool, False, doc="Append `<$i$>` tokens until each vocab size is a multiple of 8."),
        "batch_in_tokens": Param(bool, False, doc="batch_size counts tokens per side (batch * time), not pairs."),
        "shuffle_buffer_size": Param(int, -1, doc="Elements in the shuffle buffer; -1 = the whole dataset."),
        "num_parallel_calls": Param(
            int,
            -1,
            doc="Parallel map calls; -1 = tf.data.AUTOTUNE (OpenSeq2Seq: map_parallel_calls).",
            aliases=("map_parallel_calls",),
        ),
        "prefetch": Param(
            int,
            -1,
            doc="Batches to prefetch; -1 = tf.data.AUTOTUNE (OpenSeq2Seq: prefetch_buffer_size).",
            aliases=("prefetch_buffer_size",),
        ),
    }

    def __init__(self, params: Mapping[str, Any], mode: str, batch_size: int, seed: int | None = None):
        super().__init__(params, mode, batch_size, seed)
        params = self.params
        self.src_encoder, self.tgt_encoder = _encoders(type(self).__name__, params)
        self.target_file = self._target_file()
        self._source_lines = read_lines(params["source_file"])
        target_lines = None
        if self.target_file is not None:
            target_lines = read_lines(self.target_file)
            if len(target_lines) != len(self._source_lines):
                raise DataError(
                    f"{params['source_file']} has {len(self._source_lines)} lines but {self.target_file} has "
                    f"{len(target_lines)}: source and target files must be line-aligned"
                )
        if params["max_samples"] is not None:
            self._source_lines = self._source_lines[: params["max_samples"]]
            target_lines = None if target_lines is None else target_lines[: params["max_samples"]]
        if not self._source_lines:
            raise DataError(f"{params['source_file']}: no lines")
        self._target_lines = target_lines
        src = self._encode(self.src_encoder, self._source_lines, params["source_file"])
        tgt = None if target_lines is None else self._encode(self.tgt_encoder, target_lines, self.target_file)
        self._rows = self._filter(src, tgt)

    # ------------------------------------------------------------------ public API

    @property
    def spec(self) -> DataSpec:
        return self._spec_from(self.params, self.src_encoder, self.tgt_encoder)

    @classmethod
    def spec_from_params(cls, params: Mapping[str, Any]) -> tuple[DataSpec, TextServingParams]:
        """DataSpec and serving params from the config, reading only vocab/SentencePiece files (export)."""
        params = validate(f"{cls.__name__} (data_layer_params)", params, cls.all_params())
        src, tgt = _encoders(cls.__name__, params)
        spec = cls._spec_from(params, src, tgt)

        def serving(side, model_key: str) -> TextSideServing:
            model = params[model_key] or params["sentencepiece_model"]
            if model is not None:
                with open(model, "rb") as f:
                    model = f.read()
            return TextSideServing(
                model, side.vocab, params["delimiter"], PAD_ID, S_ID, EOS_ID, UNK_ID, params["use_start_token"]
            )

        sides = serving(spec.source, "src_sentencepiece_model"), serving(spec.target, "tgt_sentencepiece_model")
        return spec, TextServingParams(*sides)

    @staticmethod
    def _spec_from(params: Mapping[str, Any], src, tgt) -> DataSpec:
        def side(encoder) -> Any:
            vocab = pad_vocab_to_eight(encoder.vocab) if params["pad_vocab_to_eight"] else encoder.vocab
            bos = S_ID if params["use_start_token"] else -1
            return token_ids(vocab, PAD_ID, bos, EOS_ID, UNK_ID, delimiter=encoder.delimiter)

        return DataSpec(source=side(src), target=side(tgt))

    @property
    def num_samples(self) -> int:
        return len(self._rows[keys.INDEX])

    @property
    def has_targets(self) -> bool:
        return self._target_lines is not None

    @property
    def sample_names(self) -> list[str]:
        """The source lines as read, indexed by ``keys.INDEX`` (the line number)."""
        return list(self._source_lines)

    def source_text(self, index: int) -> str:
        """The text of source line ``index`` (tokens joined as ids are detokenized)."""
        return self.src_encoder.detokenize_line(self._source_lines[index])

    def target_text(self, index: int) -> str | None:
        """The reference translation of line ``index`` as text (None without targets), for BLEU."""
        if self._target_lines is None:
            return None
        return self.tgt_encoder.detokenize_line(self._target_lines[index])

    def reference(self, index: int) -> str | None:
        """The reference translation of line ``index``, or None without targets (infer output)."""
        return self.target_text(index)

    @classmethod
    def infer_input_params(cls, paths: list[str]) -> dict[str, Any]:
        """``data_layer_params`` that make infer translate the lines of ``paths[0]`` (``--infer_input``)."""
        if len(paths) != 1:
            raise ConfigError(f"--infer_input: {cls.__name__} translates one text file, got {len(paths)}: {paths}")
        return {"source_file": paths[0], "target_file": None}

    def build_dataset(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        rows = self._rows
        columns = {
            keys.SOURCE: _ragged(rows[keys.SOURCE]),
            keys.SOURCE_LENGTH: np.array([len(r) for r in rows[keys.SOURCE]], np.int32),
            keys.TARGET: _ragged(rows[keys.TARGET]),
            keys.TARGET_LENGTH: np.array([len(r) for r in rows[keys.TARGET]], np.int32),
            keys.INDEX: np.array(rows[keys.INDEX], np.int64),
        }
        if self.mode != "train" and self.has_targets:  # references for BLEU, as text (no UNK, no normalization)
            columns[TARGET_TEXT] = tf.constant([self.target_text(i) for i in rows[keys.INDEX]], tf.string)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        shards = 1
        if input_context is not None and input_context.num_input_pipelines > 1:
            shards = input_context.num_input_pipelines
            ds = ds.shard(shards, input_context.input_pipeline_id)
        # Slices of a ragged tensor are ragged specs, which padded_batch refuses; a map makes them dense.
        ds = ds.map(lambda ex: ex, num_parallel_calls=self.num_parallel_calls)
        if self.shuffle:
            buffer = self.params["shuffle_buffer_size"]
            buffer = -(-self.num_samples // shards) if buffer == -1 else buffer
            ds = ds.shuffle(buffer, seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            ds = ds.repeat()
        ds = self._batch(ds)
        if self.params["pad_lengths_to_eight"]:
            ds = ds.map(_pad_time_to_eight, num_parallel_calls=self.num_parallel_calls)
        prefetch = self.params["prefetch"]
        return ds.prefetch(tf.data.AUTOTUNE if prefetch == -1 else prefetch)

    # ------------------------------------------------------------------ batching

    def bucket_boundaries(self) -> list[int]:
        """Length boundaries of the buckets: 8, then +10% (at least +1) until past the longest pair."""
        longest = max(self._pair_lengths(), default=1)
        boundaries, x = [], _MIN_BOUNDARY
        while True:
            boundaries.append(x)
            if x > longest:
                return boundaries
            x = max(x + 1, int(x * _BOUNDARY_SCALE))

    def bucket_batch_sizes(self, boundaries: Sequence[int]) -> list[int]:
        """Pairs per batch in each bucket (``len(boundaries) + 1`` buckets; the last one is empty)."""
        if not self.params["batch_in_tokens"]:
            return [self.batch_size] * (len(boundaries) + 1)
        sizes = []
        for upper in boundaries:
            longest = upper - 1  # bucket i holds lengths in [boundaries[i-1], boundaries[i])
            if self.params["pad_lengths_to_eight"]:
                longest += -longest % 8
            sizes.append(max(1, self.batch_size // max(longest, 1)))
        return sizes + [1]

    def _batch(self, ds: tf.data.Dataset) -> tf.data.Dataset:
        boundaries = self.bucket_boundaries()
        return ds.bucket_by_sequence_length(
            lambda ex: tf.maximum(ex[keys.SOURCE_LENGTH], ex[keys.TARGET_LENGTH]),
            boundaries,
            self.bucket_batch_sizes(boundaries),
            drop_remainder=self.repeat,  # an endless stream only ever emits full batches anyway
        )

    def _pair_lengths(self) -> list[int]:
        return [max(len(s), len(t)) for s, t in zip(self._rows[keys.SOURCE], self._rows[keys.TARGET])]

    # ------------------------------------------------------------------ load time

    def _target_file(self) -> str | None:
        params, owner = self.params, f"{type(self).__name__} (data_layer_params)"
        target_file = params["target_file"]
        if not params["use_targets"]:
            if self.mode != "infer":
                raise ConfigError(f"{owner}: use_targets: False is for infer mode; {self.mode} needs target_file")
            if target_file is not None:
                logger.warning("%s: use_targets is False, so target_file %s is not read", owner, target_file)
            return None
        if target_file is None:
            if self.mode != "infer":
                raise ConfigError(f"{owner}: {self.mode} mode needs target_file")
            return None
        if self.mode == "infer" and target_file == params["source_file"]:
            logger.info("%s: target_file is source_file: inferring from sources alone", owner)
            return None
        return target_file

    def _encode(self, encoder, lines: list[str], path: str) -> list[list[int]]:
        """Token ids with the special tokens; logs the tokens that mapped to UNK."""
        ids, unknown = encoder.encode_lines(lines)
        if unknown:
            total = sum(len(r) for r in ids)
            common = ", ".join(f"{t!r} ({n})" for t, n in unknown.most_common(_UNKNOWN_EXAMPLES))
            logger.warning(
                "%s: %d of %d tokens (%.3f%%) are not in the vocab and map to <UNK>; most frequent: %s",
                path,
                sum(unknown.values()),
                total,
                100.0 * sum(unknown.values()) / max(total, 1),
                common,
            )
        start = [S_ID] if self.params["use_start_token"] else []
        return [start + row + [EOS_ID] for row in ids]

    def _filter(self, src: list[list[int]], tgt: list[list[int]] | None) -> dict[str, list]:
        """Rows kept in this mode: in train, pairs within ``max_length``; otherwise all."""
        tgt = tgt if tgt is not None else [[] for _ in src]
        index = list(range(len(src)))
        limit = self.params["max_length"]
        if self.mode == "train" and limit is not None:
            index = [i for i in index if len(src[i]) <= limit and len(tgt[i]) <= limit]
            dropped = len(src) - len(index)
            if dropped:
                logger.warning(
                    "%s: dropped %d of %d pairs with a side longer than max_length=%d tokens (incl. <S>/</S>)",
                    type(self).__name__,
                    dropped,
                    len(src),
                    limit,
                )
            if not index:
                raise DataError(f"{self.params['source_file']}: no pair within max_length={limit}")
        return {keys.SOURCE: [src[i] for i in index], keys.TARGET: [tgt[i] for i in index], keys.INDEX: index}


def _encoders(owner: str, params: Mapping[str, Any]) -> tuple[Any, Any]:
    """The source and target encoders; exactly one vocabulary source per side."""
    joint = params["sentencepiece_model"]
    encoders = []
    for side, vocab_key, model_key in (
        ("src", "src_vocab_file", "src_sentencepiece_model"),
        ("tgt", "tgt_vocab_file", "tgt_sentencepiece_model"),
    ):
        given = [k for k in (vocab_key, model_key, "sentencepiece_model") if params[k] is not None]
        if len(given) != 1:
            what = "none" if not given else " and ".join(given)
            raise ConfigError(
                f"{owner} (data_layer_params): the {side} side needs exactly one of {vocab_key}, {model_key} "
                f"or sentencepiece_model; got {what}"
            )
        if params[vocab_key] is not None:
            vocab = load_token_vocab(params[vocab_key], params["special_tokens_already_in_vocab"])
            encoders.append(TokenEncoder(vocab, params["delimiter"]))
        else:
            encoders.append(SentencePieceEncoder(params[model_key] or joint))
    return encoders[0], encoders[1]


def _ragged(rows: list[list[int]]) -> tf.RaggedTensor:
    flat = np.fromiter((i for r in rows for i in r), np.int32, count=sum(len(r) for r in rows))
    return tf.RaggedTensor.from_row_lengths(flat, np.array([len(r) for r in rows], np.int64))


def _pad_time_to_eight(batch: dict) -> dict:
    for name in (keys.SOURCE, keys.TARGET):
        time = tf.shape(batch[name])[1]
        batch[name] = tf.pad(batch[name], [[0, 0], [0, -time % 8]], constant_values=PAD_ID)
    return batch


__all__ = ["ParallelTextDataLayer", "TextServingParams"]
