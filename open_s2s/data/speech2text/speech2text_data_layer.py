"""Speech2TextDataLayer: audio files and transcripts (OpenSeq2Seq CSVs, JSON-lines manifests)."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive, validate
from open_s2s.data import keys
from open_s2s.data.audio import (
    DataError,
    FeatureParams,
    compute_features,
    compute_features_single,
    decode_audio,
    decode_pcm16,
    frame_lengths,
    read_audio_info,
)
from open_s2s.data.augmentation import (
    AUGMENTATION_PARAMS,
    SPEC_AUGMENT_PARAMS,
    augment_audio,
    check_noise_levels,
    frequency_warp,
    spec_augment,
)
from open_s2s.data.data_layer import DataLayer
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.data.speech2text.manifests import CSV_HEADER, Entry, read_dataset_file
from open_s2s.data.subword import SentencePieceVocab
from open_s2s.data.vocab import CharVocab, ids_to_text, load_vocab

logger = logging.getLogger(__name__)

__all__ = ["CSV_HEADER", "Speech2TextDataLayer", "Utterance"]

_PROGRESS_MIN_FILES = 2000
# A manifest's stated duration may differ from the audio header by this much (s).
_DURATION_TOLERANCE = 0.1


def _nonempty_str_list(value: Any) -> str | None:
    if not value or not all(isinstance(v, str) for v in value):
        return "must be a non-empty list of dataset file paths"
    return None


def _warp_range(value: Any) -> str | None:
    if value is None:
        return None
    ok = len(value) == 2 and all(isinstance(v, (int, float)) for v in value) and 0 < value[0] <= value[1]
    return None if ok else "must be [min, max] with 0 < min <= max, e.g. [0.9, 1.1]"


def _non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must be >= 0"


def _load_targets(params: Mapping[str, Any]) -> CharVocab | SentencePieceVocab:
    if params["bpe"]:
        return SentencePieceVocab(params["vocab_file"])
    return CharVocab(load_vocab(params["vocab_file"]))


@dataclass(frozen=True)
class _Row:
    path: str
    ids: tuple[int, ...]
    num_samples: int
    duration: float
    pcm_offset: int = -1  # 16-bit WAV: where the samples are (AudioInfo), else -1
    pcm_bytes: int = 0
    channels: int = 1
    where: str = ""  # dataset file and line, for messages
    sample_rate: int = 0  # of the file; infer resamples files whose rate is not sample_freq


@dataclass(frozen=True)
class Utterance:
    """What a load-time check that needs the model sees of a row (``utterances()``)."""

    where: str  # "dataset_file:line"
    path: str
    frames: int  # feature frames (SOURCE_LENGTH), before any augmentation
    ids: tuple[int, ...]


class Speech2TextDataLayer(DataLayer):
    """Audio + transcript pairs from OpenSeq2Seq CSVs or JSON-lines manifests, as feature batches.

    ``dataset_files`` are read by kind (``open_s2s.data.speech2text.manifests``):
    ``.json``/``.jsonl`` manifests (``audio_filepath``, ``duration``, ``text``), CSVs with a
    header (OpenSeq2Seq's ``wav_filename,wav_filesize,transcript``, or ``wav_filename``
    alone), and for inference directories, glob patterns and text files of audio paths;
    several are concatenated in order. A relative audio path is looked up first against
    the current directory, then against the dataset file's directory. Every row is
    checked when the layer is constructed (file exists, readable audio, sample rate equal
    to ``sample_freq``, manifest duration equal to the header's, transcript non-empty
    outside infer mode, characters covered by the vocab); problems raise ``DataError``
    naming the dataset file and line. Train and eval refuse audio at another sample rate
    (convert it once with ``sox in.wav -r 16000 out.wav``); infer resamples it with soxr
    (``open_s2s.data.audio_io``, as the Python API does). LibriSpeech's folder layout is
    converted to a CSV by ``python -m open_s2s.data.speech2text.librispeech``.

    Targets are characters of ``vocab_file`` or, with ``bpe: True``, the SentencePiece
    subwords of the model ``vocab_file`` (OpenSeq2Seq's keys; train one with
    ``python -m open_s2s.data.subword``).

    Batches (dict keyed by ``open_s2s.data.keys``):
      SOURCE ``[batch, frames, num_audio_features]`` float32 (frames padded to a multiple
      of ``pad_to`` in every mode), SOURCE_LENGTH ``[batch]`` int32, TARGET ``[batch, tokens]``
      int32 (padded with 0), TARGET_LENGTH ``[batch]`` int32, INDEX ``[batch]`` int64 (row
      number after filtering, see ``wav_filenames``), AUDIO_DURATION ``[batch]`` float32.

    Examples are grouped into ``num_buckets`` length buckets whose boundaries are
    quantiles of the utterance lengths. Train mode shuffles, repeats, augments
    (``augmentation`` on the waveform: speed perturbation then noise; dither; ``vtlp`` and
    ``spec_augment`` on the features) and keeps only full batches; eval/infer never
    augment and keep every row exactly once.

    ``cache_features: True`` keeps the features of every utterance in memory after the
    first pass (before ``vtlp``/``spec_augment``, which stay random per epoch): for small
    corpora whose features fit in RAM. Waveform augmentation cannot be cached and is
    refused with it; dither is then drawn once per utterance.
    """

    PARAMS: Mapping[str, Param] = {
        "num_audio_features": Param(int, doc="Feature dimension.", check=positive),
        "input_type": Param(str, "logfbank", choices=("spectrogram", "mfcc", "logfbank"), doc="Feature type."),
        "vocab_file": Param(
            str, doc="Character vocab (one symbol per line, first line a space); with bpe: True a SentencePiece .model."
        ),
        "bpe": Param(bool, False, doc="Targets are SentencePiece subwords of the model in vocab_file."),
        "dataset_files": Param(
            list,
            doc="CSVs (wav_filename,wav_filesize,transcript) or .json/.jsonl manifests (audio_filepath,duration,text); "
            "infer also reads unlabeled data: CSVs without transcripts, directories, globs, text files of paths.",
            check=_nonempty_str_list,
        ),
        "sample_freq": Param(int, 16000, doc="Sample rate (Hz) every audio file must have.", check=positive),
        "window_size": Param(float, 0.02, doc="Analysis window length (s).", check=positive),
        "window_stride": Param(float, 0.01, doc="Hop between frames (s).", check=positive),
        "window": Param(str, "hanning", choices=("hanning", "hamming", "none"), doc="Window function."),
        "num_fft": Param(
            (int, type(None)),
            None,
            doc="FFT length; None = the window length for spectrogram (as OpenSeq2Seq), else its next power of 2.",
        ),
        "dither": Param(
            float,
            1e-5,
            doc="Std of the dither noise (uniform, zero mean) added to samples in train mode.",
            check=_non_negative,
        ),
        "preemph": Param((float, type(None)), 0.97, doc="Pre-emphasis coefficient; None = off."),
        "norm_per_feature": Param(bool, True, doc="Per-utterance mean/std normalisation of each feature."),
        "pad_to": Param(int, 8, doc="Pad batch frames to a multiple of this; 0 = off.", check=_non_negative),
        "min_duration": Param(float, 0.0, doc="Train: drop shorter utterances (s).", check=_non_negative),
        "max_duration": Param((float, type(None)), None, doc="Train: drop longer utterances (s).", check=positive),
        "num_buckets": Param(int, 8, doc="Length buckets for batching (quantiles); 1 = none.", check=positive),
        "augmentation": Param(
            (dict, type(None)),
            None,
            doc="Waveform augmentation in train mode (speed_perturbation_ratio, noise_level_min/max dB); None = off.",
            spec=AUGMENTATION_PARAMS,
            check=check_noise_levels,
        ),
        "vtlp": Param(
            (list, type(None)),
            None,
            doc="[min, max] range of the random frequency-warp factor (VTLP), train only; None = off.",
            check=_warp_range,
        ),
        "spec_augment": Param(
            (dict, type(None)), None, doc="SpecAugment masks in train mode; None = off.", spec=SPEC_AUGMENT_PARAMS
        ),
        "cache_features": Param(
            bool, False, doc="Keep features in memory after the first pass (small corpora; no waveform augmentation)."
        ),
    }

    def __init__(self, params: Mapping[str, Any], mode: str, batch_size: int, seed: int | None = None):
        super().__init__(params, mode, batch_size, seed)
        if self.params["cache_features"] and self._waveform_augmentation:
            raise ConfigError(
                f"{type(self).__name__} (data_layer_params): cache_features cannot keep the waveform augmentation "
                "random; set augmentation to None or cache_features to False"
            )
        self.targets = _load_targets(self.params)
        self.vocab = self.targets.symbols
        self.feature_params = FeatureParams.from_params(self.params)
        rows = self._filter(self._read_rows())
        if self.params["max_samples"] is not None:
            rows = rows[: self.params["max_samples"]]
        if not rows:
            raise DataError(f"{type(self).__name__}: no samples left in {self.params['dataset_files']}")
        self._rows = rows
        self._formats = sorted({os.path.splitext(r.path)[1].lower() for r in rows})
        # infer reads files at other rates too: all through one numpy reader (soxr), so that a
        # file gives the same samples whatever else the dataset holds
        self._resample = any(r.sample_rate != self.params["sample_freq"] for r in rows)
        # every file a 16-bit WAV located at load time: decode without parsing headers in the graph
        self._pcm = not self._resample and all(r.pcm_offset >= 0 for r in rows)

    # ------------------------------------------------------------------ public API

    @property
    def spec(self) -> DataSpec:
        return self._spec_from(self.params, self.vocab)

    @classmethod
    def spec_from_params(cls, params: Mapping[str, Any]) -> tuple[DataSpec, FeatureParams]:
        """DataSpec and FeatureParams from the config alone, reading no dataset file (export)."""
        params = validate(f"{cls.__name__} (data_layer_params)", params, cls.all_params())
        return cls._spec_from(params, _load_targets(params).symbols), FeatureParams.from_params(params)

    @staticmethod
    def _spec_from(params: Mapping[str, Any], vocab) -> DataSpec:
        return DataSpec(
            source=audio_features(params["num_audio_features"], params["sample_freq"], params["window_stride"]),
            target=token_ids(tuple(vocab)),
        )

    @property
    def num_samples(self) -> int:
        return len(self._rows)

    @property
    def wav_filenames(self) -> list[str]:
        """Resolved audio paths in row order (``keys.INDEX`` indexes this list)."""
        return [r.path for r in self._rows]

    @property
    def sample_names(self) -> list[str]:
        """Infer output names samples by their resolved audio path."""
        return self.wav_filenames

    @property
    def durations(self) -> list[float]:
        """Durations in seconds, in row order."""
        return [r.duration for r in self._rows]

    def utterances(self) -> list[Utterance]:
        """Per row: where it is, its audio file, feature frames and target ids (row order).

        For checks that need the model too, such as ``Speech2Text.check_data`` (can CTC
        align each transcript in the encoder's output frames?).
        """
        frames = frame_lengths(np.array([r.num_samples for r in self._rows], np.int64), self.feature_params)
        return [Utterance(r.where, r.path, int(n), r.ids) for r, n in zip(self._rows, frames)]

    def transcript(self, index: int) -> str:
        return ids_to_text(self._rows[index].ids, self.vocab)

    def reference(self, index: int) -> str | None:
        """The transcript of row ``index``, or None when the input has none."""
        return self.transcript(index) if self._rows[index].ids else None

    @classmethod
    def infer_input_params(cls, paths: list[str]) -> dict[str, Any]:
        """``data_layer_params`` that make infer transcribe ``paths`` (``run.py --infer_input``)."""
        return {"dataset_files": list(paths)}

    def ids_to_text(self, ids: Sequence[int]) -> str:
        return ids_to_text(ids, self.vocab)

    def features_fn(self, training: bool = False):
        """``(audio [batch, samples], audio_length [batch]) -> (features, lengths)``."""
        return functools.partial(compute_features, params=self.feature_params, training=training)

    def build_dataset(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        """Examples are decoded one by one, batched as waveforms (bucketed by length) and
        turned into features a batch at a time, which amortises the per-op cost over the
        batch; with ``cache_features`` the features are computed per example and cached."""
        rows = self._rows
        ds = tf.data.Dataset.from_tensor_slices(
            {
                "path": tf.constant([r.path for r in rows]),
                keys.TARGET: tf.RaggedTensor.from_row_lengths(
                    np.array([i for r in rows for i in r.ids], np.int32), [len(r.ids) for r in rows]
                ),
                keys.INDEX: tf.range(len(rows), dtype=tf.int64),
                keys.AUDIO_DURATION: tf.constant([r.duration for r in rows], tf.float32),
                **(self._pcm_columns() if self._pcm else {}),
            }
        )
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        cache = self.params["cache_features"]
        if cache:
            ds = ds.map(self._load_features, num_parallel_calls=self.num_parallel_calls).cache()
        if self.shuffle:
            ds = ds.shuffle(self.params["shuffle_buffer_size"], seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            ds = ds.repeat()
        augment = self.mode == "train" and (self.params["vtlp"] is not None or self.params["spec_augment"] is not None)
        if cache:
            ds = self._batch(ds, keys.SOURCE_LENGTH)
            if augment:
                ds = ds.map(self._augment_features, num_parallel_calls=self.num_parallel_calls)
        else:
            ds = ds.map(self._load_audio, num_parallel_calls=self.num_parallel_calls)
            ds = self._batch(ds, keys.AUDIO_LENGTH)
            # features and their augmentation in one map: one tf.data stage (and hand-off) less
            features = (lambda b: self._augment_features(self._batch_features(b))) if augment else self._batch_features
            ds = ds.map(features, num_parallel_calls=self.num_parallel_calls)
        if self.params["pad_to"] > 1:
            ds = ds.map(self._pad_frames)
        prefetch = self.params["prefetch"]
        return ds.prefetch(tf.data.AUTOTUNE if prefetch == -1 else prefetch)

    # ------------------------------------------------------------------ dataset pieces

    @property
    def _waveform_augmentation(self) -> bool:
        augmentation = self.params["augmentation"]
        return augmentation is not None and any(v is not None for v in augmentation.values())

    def _pcm_columns(self) -> dict[str, tf.Tensor]:
        """Where each WAV's samples are; ``channels`` only when some file is not mono."""
        rows = self._rows
        columns = {
            "pcm_offset": tf.constant([r.pcm_offset for r in rows], tf.int32),
            "pcm_bytes": tf.constant([r.pcm_bytes for r in rows], tf.int32),
        }
        if any(r.channels != 1 for r in rows):
            columns["channels"] = tf.constant([r.channels for r in rows], tf.int32)
        return columns

    def _load_audio(self, ex: dict) -> dict:
        """Decodes the audio and applies waveform augmentation (train mode only)."""
        if self._resample:
            for key in ("pcm_offset", "pcm_bytes", "channels"):
                ex.pop(key, None)
            audio = tf.numpy_function(self._read_resampled, [ex.pop("path")], tf.float32, stateful=False)
            audio.set_shape([None])
        elif self._pcm:
            audio = decode_pcm16(ex.pop("path"), ex.pop("pcm_offset"), ex.pop("pcm_bytes"), ex.pop("channels", 1))
        else:
            file_format = self._formats[0][1:] if len(self._formats) == 1 else None
            audio, _ = decode_audio(ex.pop("path"), file_format, is_path=True)
        if self.mode == "train" and self._waveform_augmentation:
            audio = augment_audio(audio, self.params["augmentation"], self.params["sample_freq"])
        ex[keys.AUDIO] = audio
        ex[keys.AUDIO_LENGTH] = tf.shape(audio)[0]
        ex[keys.TARGET_LENGTH] = tf.size(ex[keys.TARGET], out_type=tf.int32)
        return ex

    def _read_resampled(self, path: bytes) -> np.ndarray:
        from open_s2s.data.audio_io import read_audio  # noqa: PLC0415

        return read_audio(path.decode(), self.params["sample_freq"])

    def _batch_features(self, batch: dict) -> dict:
        """``AUDIO [batch, samples]`` -> ``SOURCE [batch, frames, features]`` (dither in train)."""
        audio, lengths = batch.pop(keys.AUDIO), batch.pop(keys.AUDIO_LENGTH)
        features, frames = compute_features(audio, lengths, self.feature_params, training=self.mode == "train")
        batch[keys.SOURCE], batch[keys.SOURCE_LENGTH] = features, frames
        return batch

    def _load_features(self, ex: dict) -> dict:
        """One example's features (the cached path; waveform augmentation is refused there)."""
        ex = self._load_audio(ex)
        audio = ex.pop(keys.AUDIO)
        del ex[keys.AUDIO_LENGTH]
        ex[keys.SOURCE], ex[keys.SOURCE_LENGTH] = compute_features_single(
            audio, self.feature_params, training=self.mode == "train"
        )
        return ex

    def _augment_features(self, batch: dict) -> dict:
        """VTLP and SpecAugment on a batch of features, drawn per example (train mode)."""
        features, lengths = batch[keys.SOURCE], batch[keys.SOURCE_LENGTH]
        vtlp = self.params["vtlp"]
        if vtlp is not None:
            features = frequency_warp(features, tf.random.uniform(tf.shape(lengths), vtlp[0], vtlp[1]))
        augment = self.params["spec_augment"]
        if augment is not None:
            features = spec_augment(features, lengths, **augment)
        batch[keys.SOURCE] = features
        return batch

    def _bucket_boundaries(self, in_samples: bool) -> list[int]:
        lengths = np.array([r.num_samples for r in self._rows])
        if not in_samples:
            lengths = frame_lengths(lengths, self.feature_params)
        quantiles = np.arange(1, self.params["num_buckets"]) / self.params["num_buckets"]
        return sorted({int(b) for b in np.quantile(lengths, quantiles) if b > 0})

    def _batch(self, ds: tf.data.Dataset, length_key: str) -> tf.data.Dataset:
        """Bucketed (by ``length_key``: audio samples or feature frames) padded batches."""
        drop = self.repeat  # an endless stream only ever emits full batches anyway
        boundaries = self._bucket_boundaries(in_samples=length_key == keys.AUDIO_LENGTH)
        if boundaries:
            return ds.bucket_by_sequence_length(
                lambda ex: ex[length_key],
                boundaries,
                [self.batch_size] * (len(boundaries) + 1),
                drop_remainder=drop,
            )
        return ds.padded_batch(self.batch_size, drop_remainder=drop)

    def _pad_frames(self, batch: dict) -> dict:
        frames = tf.shape(batch[keys.SOURCE])[1]
        batch[keys.SOURCE] = tf.pad(batch[keys.SOURCE], [[0, 0], [0, -frames % self.params["pad_to"]], [0, 0]])
        return batch

    # ------------------------------------------------------------------ load-time checks

    def _read_rows(self) -> list[_Row]:
        entries = [e for path in self.params["dataset_files"] for e in read_dataset_file(path)]
        entries_iter = entries
        if len(entries) > _PROGRESS_MIN_FILES:
            from tqdm import tqdm

            entries_iter = tqdm(entries, desc="checking audio files", unit="file")
        return [self._check_row(entry) for entry in entries_iter]

    def _check_row(self, entry: Entry) -> _Row:
        where, path, transcript = entry.where, entry.path, entry.transcript
        try:
            info = read_audio_info(path)
        except DataError as e:
            raise DataError(f"{where}: {e}") from e
        rate = self.params["sample_freq"]
        if info.sample_rate != rate and self.mode != "infer":
            raise DataError(
                f"{where}: {path} has sample rate {info.sample_rate} Hz, but sample_freq is {rate}; resample it, "
                f"e.g. `sox in.wav -r {rate} out.wav` (infer resamples such files itself)"
            )
        if entry.duration is not None and abs(entry.duration - info.duration) > _DURATION_TOLERANCE:
            raise DataError(
                f"{where}: duration {entry.duration} s differs from the {info.duration:.3f} s of {path}: "
                "wrong audio file or stale manifest?"
            )
        if not transcript.strip() and self.mode != "infer":
            raise DataError(f"{where}: empty transcript for {path} (allowed only in infer mode)")
        missing = self.targets.unknown(transcript)
        if missing:
            raise DataError(f"{where}: characters {missing} of transcript {transcript!r} are not in the vocab")
        ids = self.targets.encode(transcript)
        # Whether CTC can align the ids depends on the encoder's strides: checked with the
        # model (Speech2Text.check_data, run before training and evaluation).
        return _Row(
            path,
            tuple(ids),
            round(info.num_samples * rate / info.sample_rate),  # at sample_freq (infer resamples)
            info.duration,
            info.pcm_offset,
            info.pcm_bytes,
            info.channels,
            str(where),
            info.sample_rate,
        )

    def _filter(self, rows: list[_Row]) -> list[_Row]:
        if self.mode != "train":
            return rows
        lo, hi = self.params["min_duration"], self.params["max_duration"]
        kept = [r for r in rows if r.duration >= lo and (hi is None or r.duration <= hi)]
        if len(kept) < len(rows):
            logger.warning(
                "%s: dropped %d of %d utterances outside min_duration=%s / max_duration=%s s",
                type(self).__name__,
                len(rows) - len(kept),
                len(rows),
                lo,
                hi,
            )
        return kept
