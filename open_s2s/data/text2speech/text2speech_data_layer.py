"""Text2SpeechDataLayer: LJSpeech-style metadata + WAVs as character ids and spectrogram frames."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive, validate
from open_s2s.data import keys
from open_s2s.data.audio import DataError, decode_audio, decode_pcm16, read_audio_info
from open_s2s.data.data_layer import DataLayer
from open_s2s.data.data_spec import DataSpec, frames, token_ids
from open_s2s.data.text2speech.metadata import Line, read_metadata, wav_path
from open_s2s.data.text2speech.spectrogram import (
    MEL_TYPES,
    OUTPUT_TYPES,
    SpectrogramParams,
    compute_features,
    num_frames,
)
from open_s2s.data.vocab import load_vocab, unknown_chars

__all__ = ["SPECIAL_SYMBOLS", "Text2SpeechDataLayer", "stop_token_targets"]

# OpenSeq2Seq's ids 0, 1, 2; the vocab file's characters follow from id 3.
SPECIAL_SYMBOLS = ("<p>", "<s>", "</s>")
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
# OpenSeq2Seq's ``dataset`` key fixes the sample rate and FFT size.
DATASETS = {"LJ": {"sampling_rate": 22050, "n_fft": 1024}, "MAILABS": {"sampling_rate": 16000, "n_fft": 800}}


def stop_token_targets(target_length: tf.Tensor, max_time) -> tf.Tensor:
    """Stop-token targets ``[batch, max_time]`` float32 from ``TARGET_LENGTH``: 1.0 at the last
    valid frame (the EOS frame with ``pad_EOS``) and at every padding frame after it, else 0.

    A loss masks the mel/magnitude terms with ``t < TARGET_LENGTH``; for the stop term,
    masking the same way gives one positive per utterance (OpenSeq2Seq without
    ``pad_EOS``), while also counting the padding frames (all equal to the EOS frame) as
    positives, as NVIDIA's PyTorch Tacotron 2 does, balances the classes.
    """
    t = tf.range(max_time, dtype=tf.int32)[None, :]
    return tf.cast(t >= tf.cast(target_length, tf.int32)[:, None] - 1, tf.float32)


def _nonempty_str_list(value: Any) -> str | None:
    if not value or not all(isinstance(v, str) for v in value):
        return "must be a non-empty list of metadata file paths"
    return None


def _non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must be >= 0"


def _num_features_check(value: Any) -> str | None:
    if isinstance(value, dict):
        ok = set(value) == {"mel", "magnitude"} and all(isinstance(v, int) and v > 0 for v in value.values())
        return None if ok else 'must be {"mel": int > 0, "magnitude": int > 0}'
    return None if value > 0 else "must be > 0"


def _data_min_check(value: Any) -> str | None:
    if isinstance(value, dict):
        ok = set(value) == {"mel", "magnitude"} and all(isinstance(v, float) and v > 0 for v in value.values())
        return None if ok else 'must be {"mel": float > 0, "magnitude": float > 0}'
    return None if value > 0 else "must be > 0"


@dataclass(frozen=True)
class _Row:
    name: str
    text: str
    ids: tuple[int, ...]
    path: str = ""
    num_samples: int = 0
    pcm_offset: int = -1
    pcm_bytes: int = 0
    channels: int = 1


class Text2SpeechDataLayer(DataLayer):
    """Text-to-speech pairs from LJSpeech-style metadata: character ids in, spectrogram frames out.

    ``dataset_files`` are LJSpeech ``metadata.csv`` files (``id|raw text|normalized text``,
    no header, no quoting); the audio of ``id`` is ``<dataset_location>/wavs/<id>.wav``.
    The normalized text, lower-cased (as OpenSeq2Seq does), is the model's input. Every line
    is checked when the layer is built (three fields, WAV present and readable, sample
    rate equal to ``sampling_rate``, text non-empty and covered by the vocab); a problem
    raises one ``DataError`` naming the file and line. In infer mode the files are text
    only: lines of OpenSeq2Seq's ``UNUSED|UNUSED|text`` form, or one sentence per line.

    Source: ``vocab_file`` characters get ids from 3; 0/1/2 are pad/start/end
    (``<p>``/``<s>``/``</s>``, OpenSeq2Seq's). With ``pad_EOS`` the ids are
    ``[1, chars..., 2]``.

    Target: frames computed in ``tf.data`` (``open_s2s.data.text2speech.spectrogram``: trim,
    STFT, mel/magnitude, log, normalization; matches librosa). With ``pad_EOS`` one EOS
    frame, equal to the padding value (each part's log floor, normalized), follows the
    last speech frame and counts in ``TARGET_LENGTH``. The stop-token target is not
    carried: it is ``stop_token_targets(TARGET_LENGTH, time)``, 1 from the last valid frame
    on (OpenSeq2Seq padded 2..pad_to+1 such frames so that each length was a multiple of
    ``pad_to``; one frame is kept here so that the target follows from the length).

    Batches (dict keyed by ``open_s2s.data.keys``): SOURCE ``[batch, chars]`` int32 (padded
    with 0), SOURCE_LENGTH ``[batch]``, TARGET ``[batch, frames, num_features]`` float32
    (``[mel | magnitude]`` for ``both``), TARGET_LENGTH ``[batch]``, INDEX ``[batch]`` int64
    (row in input order). The time axes of SOURCE and TARGET are padded to a multiple of
    ``pad_to`` in every mode, so a decoder that emits ``r`` frames per step can reshape
    TARGET when ``r`` divides ``pad_to``; every frame at or past TARGET_LENGTH equals the
    padding value. Infer batches carry only SOURCE, SOURCE_LENGTH and INDEX.

    Examples are grouped into ``num_buckets`` length buckets (quantiles of the frame counts,
    or of the text lengths in infer). Train mode shuffles, repeats, keeps full batches and
    drops utterances outside ``duration_min``..``duration_max`` frames; eval and infer keep
    every line exactly once.
    """

    PARAMS: Mapping[str, Param] = {
        "dataset_location": Param(str, doc="Directory holding wavs/<id>.wav."),
        "dataset_files": Param(
            list, doc="LJSpeech metadata files (id|raw text|normalized text).", check=_nonempty_str_list
        ),
        "dataset": Param(
            (str, type(None)),
            None,
            choices=(None, *DATASETS),
            doc="OpenSeq2Seq's dataset: LJ = 22050 Hz, n_fft 1024; MAILABS = 16000 Hz, n_fft 800.",
        ),
        "vocab_file": Param(str, doc="Characters, one per line; their ids start at 3 (0/1/2 = pad/start/end)."),
        "num_audio_features": Param(
            (int, dict),
            doc='Mel bins (mel) or magnitude bins (magnitude); {"mel": m, "magnitude": k} for both.',
            check=_num_features_check,
        ),
        "output_type": Param(str, "mel", choices=OUTPUT_TYPES, doc="Target frames: mel, magnitude or both."),
        "sampling_rate": Param(
            (int, type(None)), None, doc="Sample rate every WAV must have; None = the dataset's.", check=positive
        ),
        "n_fft": Param(
            (int, type(None)),
            None,
            doc="FFT size; None = the dataset's (LJ 1024, MAILABS 800), else 1024.",
            check=positive,
        ),
        "win_length": Param((int, type(None)), None, doc="Window length (samples); None = n_fft.", check=positive),
        "hop_length": Param((int, type(None)), None, doc="Hop (samples); None = n_fft // 4.", check=positive),
        "fmin": Param(float, 0.0, doc="Lowest mel frequency (Hz).", check=_non_negative),
        "fmax": Param((float, type(None)), None, doc="Highest mel frequency (Hz); None = Nyquist.", check=positive),
        "mel_type": Param(
            str, "htk", choices=MEL_TYPES, doc="htk (HTK scale, unnormalized) or slaney (area-normalized) mel basis."
        ),
        "mag_power": Param(
            float, 2, doc="Exponent of |STFT| before the mel basis / log (1 = magnitude).", check=positive
        ),
        "data_min": Param(
            (float, dict),
            1e-5,
            doc='Floor before the log; {"mel": a, "magnitude": b} for both.',
            check=_data_min_check,
        ),
        "exp_mag": Param(bool, None, doc="both: magnitude part linear (no log); None = True for both."),
        "feature_normalize": Param(bool, False, doc="(x - mean) / std after the log (not with both)."),
        "feature_normalize_mean": Param(float, 0.0, doc="Mean of feature_normalize."),
        "feature_normalize_std": Param(float, 1.0, doc="Std of feature_normalize.", check=positive),
        "pad_EOS": Param(bool, True, doc="Start/end ids around the text and one EOS frame after the speech."),
        "pad_to": Param(int, 8, doc="Pad SOURCE and TARGET time axes to a multiple of this.", check=positive),
        "pad_value": Param(
            (float, type(None)), None, doc="EOS/padding frame value before normalization; None = log(data_min)."
        ),
        "trim": Param(bool, False, doc="Trim leading/trailing silence (librosa.effects.trim)."),
        "trim_top_db": Param(
            float, 60.0, doc="trim: frames this many dB below the loudest are silence.", check=positive
        ),
        "duration_min": Param(int, 0, doc="Train: drop utterances of fewer frames.", check=_non_negative),
        "duration_max": Param(int, 4000, doc="Train: drop utterances of more frames.", check=positive),
        "n_samples_train": Param((int, type(None)), None, doc="Train on the N shortest texts only.", check=positive),
        "n_samples_eval": Param((int, type(None)), None, doc="Evaluate the N shortest texts only.", check=positive),
        "style_input": Param(
            (str, type(None)), None, choices=(None, "wav"), doc="OpenSeq2Seq's GST input; only None is supported."
        ),
        "max_normalization": Param(bool, False, doc="Synthesized audio is divided by its peak (OpenSeq2Seq's key)."),
        "use_cache": Param(bool, False, doc="Keep the features in memory after the first pass."),
        "num_buckets": Param(int, 8, doc="Length buckets for batching (quantiles); 1 = none.", check=positive),
    }

    def __init__(self, params: Mapping[str, Any], mode: str, batch_size: int, seed: int | None = None):
        super().__init__(params, mode, batch_size, seed)
        self.spectrogram_params = spectrogram_params(self.params, type(self).__name__)
        self.vocab = _load_symbols(self.params["vocab_file"])
        self._index = {s: i for i, s in enumerate(self.vocab)}
        lines = _read_lines(self.params["dataset_files"], mode == "infer")
        rows = [self._check_line(line) for line in _progress(lines, mode != "infer")]
        rows = self._select(rows)
        if not rows:
            raise DataError(f"{type(self).__name__}: no samples left in {self.params['dataset_files']}")
        self._rows = rows
        self._pcm = all(r.pcm_offset >= 0 for r in rows)
        self._pad_vector = self.spectrogram_params.pad_vector(self.params["pad_value"])

    # ------------------------------------------------------------------ public API

    @property
    def spec(self) -> DataSpec:
        return _spec(self.params, self.vocab, self.spectrogram_params)

    @classmethod
    def spec_from_params(cls, params: Mapping[str, Any]) -> tuple[DataSpec, SpectrogramParams]:
        """DataSpec and SpectrogramParams from the config and the vocab file alone (export)."""
        params = validate(f"{cls.__name__} (data_layer_params)", params, cls.all_params())
        spectrogram = spectrogram_params(params, cls.__name__)
        return _spec(params, _load_symbols(params["vocab_file"]), spectrogram), spectrogram

    @property
    def num_samples(self) -> int:
        return len(self._rows)

    @property
    def sample_names(self) -> list[str]:
        """The id column of each line in input order; ``line<N>`` (or ``<file stem>_line<N>``
        with several files) for lines without one (plain text, ``UNUSED``)."""
        return [r.name for r in self._rows]

    @property
    def texts(self) -> list[str]:
        """The normalized text of each line, as written in the file, in input order."""
        return [r.text for r in self._rows]

    @property
    def wav_filenames(self) -> list[str]:
        """The resolved WAV of each line (empty strings in infer mode)."""
        return [r.path for r in self._rows]

    @classmethod
    def infer_input_params(cls, paths: list[str]) -> dict[str, Any]:
        """``data_layer_params`` that make infer synthesize the lines of ``paths`` (``--infer_input``):
        text files, one sentence per line (or ``UNUSED|UNUSED|text`` lines)."""
        return {"dataset_files": list(paths)}

    @property
    def pad_vector(self) -> np.ndarray:
        """``[num_features]``: the value of EOS and padding frames."""
        return self._pad_vector

    def encode(self, text: str) -> list[int]:
        """Source ids of ``text`` (lower-cased; start/end ids with ``pad_EOS``)."""
        ids = [self._index[c] for c in text.lower()]
        return [BOS_ID, *ids, EOS_ID] if self.params["pad_EOS"] else ids

    def build_dataset(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        rows = self._rows
        columns = {
            keys.SOURCE: tf.RaggedTensor.from_row_lengths(
                np.array([i for r in rows for i in r.ids], np.int32), [len(r.ids) for r in rows]
            ),
            keys.INDEX: tf.range(len(rows), dtype=tf.int64),
        }
        if self.mode != "infer":
            columns["path"] = tf.constant([r.path for r in rows])
            if self._pcm:
                columns["pcm_offset"] = tf.constant([r.pcm_offset for r in rows], tf.int32)
                columns["pcm_bytes"] = tf.constant([r.pcm_bytes for r in rows], tf.int32)
                if any(r.channels != 1 for r in rows):
                    columns["channels"] = tf.constant([r.channels for r in rows], tf.int32)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        load = self._load_text if self.mode == "infer" else self._load_example
        cache = self.params["use_cache"] and self.mode != "infer"
        if cache:
            ds = ds.map(load, num_parallel_calls=self.num_parallel_calls).cache()
        if self.shuffle:
            ds = ds.shuffle(self.params["shuffle_buffer_size"], seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            ds = ds.repeat()
        if not cache:
            ds = ds.map(load, num_parallel_calls=self.num_parallel_calls)
        if self.mode == "train":
            lo, hi = self.params["duration_min"], self.params["duration_max"]
            ds = ds.filter(lambda ex: (ex[keys.TARGET_LENGTH] >= lo) & (ex[keys.TARGET_LENGTH] <= hi))
        ds = self._batch(ds).map(self._pad_batch)
        prefetch = self.params["prefetch"]
        return ds.prefetch(tf.data.AUTOTUNE if prefetch == -1 else prefetch)

    # ------------------------------------------------------------------ dataset pieces

    def _load_text(self, ex: dict) -> dict:
        ex[keys.SOURCE_LENGTH] = tf.size(ex[keys.SOURCE], out_type=tf.int32)
        return ex

    def _load_example(self, ex: dict) -> dict:
        """Decodes the WAV and computes the target frames (+ the EOS frame)."""
        path = ex.pop("path")
        if self._pcm:
            audio = decode_pcm16(path, ex.pop("pcm_offset"), ex.pop("pcm_bytes"), ex.pop("channels", 1))
        else:
            audio, _ = decode_audio(path, is_path=True)
        target = compute_features(audio, self.spectrogram_params)
        if self.params["pad_EOS"]:
            target = tf.concat([target, tf.constant(self._pad_vector)[None]], axis=0)
        ex[keys.TARGET] = target
        ex[keys.TARGET_LENGTH] = tf.shape(target)[0]
        return self._load_text(ex)

    def _batch(self, ds: tf.data.Dataset) -> tf.data.Dataset:
        length_key = keys.SOURCE_LENGTH if self.mode == "infer" else keys.TARGET_LENGTH
        boundaries = self._bucket_boundaries()
        drop = self.repeat  # an endless stream only ever emits full batches anyway
        if boundaries:
            return ds.bucket_by_sequence_length(
                lambda ex: ex[length_key], boundaries, [self.batch_size] * (len(boundaries) + 1), drop_remainder=drop
            )
        return ds.padded_batch(self.batch_size, drop_remainder=drop)

    def _bucket_boundaries(self) -> list[int]:
        if self.mode == "infer":
            lengths = np.array([len(r.ids) for r in self._rows])
        else:  # frames before trimming: an upper bound, good enough to group similar lengths
            lengths = num_frames(np.array([r.num_samples for r in self._rows]), self.spectrogram_params)
        quantiles = np.arange(1, self.params["num_buckets"]) / self.params["num_buckets"]
        return sorted({int(b) for b in np.quantile(lengths, quantiles) if b > 0})

    def _pad_batch(self, batch: dict) -> dict:
        """Pads time axes to a multiple of ``pad_to``; frames past TARGET_LENGTH get the pad value
        (padded_batch pads with zeros and one scalar; ``both`` has one value per part)."""
        pad_to = self.params["pad_to"]
        source = batch[keys.SOURCE]
        batch[keys.SOURCE] = tf.pad(source, [[0, 0], [0, -tf.shape(source)[1] % pad_to]])
        if keys.TARGET in batch:
            target = batch[keys.TARGET]
            target = tf.pad(target, [[0, 0], [0, -tf.shape(target)[1] % pad_to], [0, 0]])
            valid = tf.sequence_mask(batch[keys.TARGET_LENGTH], tf.shape(target)[1])[..., None]
            batch[keys.TARGET] = tf.where(valid, target, tf.constant(self._pad_vector))
        return batch

    # ------------------------------------------------------------------ load-time checks

    def _check_line(self, line: Line) -> _Row:
        text = line.text.lower()
        missing = unknown_chars(text, self.vocab[len(SPECIAL_SYMBOLS) :])
        if missing:
            raise DataError(f"{line.where}: characters {missing} of {line.text!r} are not in the vocab")
        if self.mode == "infer":
            return _Row(line.name, line.text, tuple(self.encode(text)))
        path = wav_path(self.params["dataset_location"], line.name)
        try:
            info = read_audio_info(path)
        except (DataError, OSError) as e:
            raise DataError(f"{line.where}: {e}") from e
        rate = self.spectrogram_params.sampling_rate
        if info.sample_rate != rate:
            raise DataError(
                f"{line.where}: {path} has sample rate {info.sample_rate} Hz, but sampling_rate is {rate}; "
                f"resample it, e.g. `sox in.wav -r {rate} out.wav`"
            )
        return _Row(
            line.name,
            line.text,
            tuple(self.encode(text)),
            path,
            info.num_samples,
            info.pcm_offset,
            info.pcm_bytes,
            info.channels,
        )

    def _select(self, rows: list[_Row]) -> list[_Row]:
        """OpenSeq2Seq's n_samples_train/eval (the N shortest texts, kept in file order); max_samples."""
        keep = {"train": self.params["n_samples_train"], "eval": self.params["n_samples_eval"]}.get(self.mode)
        if keep is not None and keep < len(rows):
            shortest = sorted(sorted(range(len(rows)), key=lambda i: len(rows[i].text))[:keep])
            rows = [rows[i] for i in shortest]
        if self.params["max_samples"] is not None:
            rows = rows[: self.params["max_samples"]]
        return rows


# ---------------------------------------------------------------------------- helpers


def _load_symbols(vocab_file: str) -> tuple[str, ...]:
    symbols = load_vocab(vocab_file)
    clash = sorted(set(symbols) & set(SPECIAL_SYMBOLS))
    if clash:
        raise ConfigError(f"Text2SpeechDataLayer: vocab_file {vocab_file} contains the reserved symbols {clash}")
    return SPECIAL_SYMBOLS + symbols


def _spec(params: Mapping[str, Any], vocab: Sequence[str], spectrogram: SpectrogramParams) -> DataSpec:
    eos = params["pad_EOS"]
    target = frames(spectrogram.num_features, spectrogram.sampling_rate, spectrogram.frame_seconds)
    if "audio" in {f.name for f in dataclasses.fields(target)}:
        # the transform, as plain values, for the vocoder (``SpectrogramParams(**spec.target.audio)``);
        # SideSpec.audio is newer than this module's first version
        target = dataclasses.replace(target, audio=dataclasses.asdict(spectrogram))
    source = token_ids(tuple(vocab), pad_id=PAD_ID, bos_id=BOS_ID if eos else -1, eos_id=EOS_ID if eos else -1)
    return DataSpec(source=dataclasses.replace(source, length_multiple=params["pad_to"]), target=target)


def spectrogram_params(params: Mapping[str, Any], owner: str = "Text2SpeechDataLayer") -> SpectrogramParams:
    """The feature transform of validated ``data_layer_params`` (cross-key checks here)."""
    where = f"{owner} (data_layer_params)"
    output_type, features, data_min = params["output_type"], params["num_audio_features"], params["data_min"]
    if params["style_input"] is not None:
        raise ConfigError(f"{where}.style_input: global style tokens (GST) are not supported; set it to None")
    both = output_type == "both"
    if both != isinstance(features, dict):
        raise ConfigError(
            f'{where}.num_audio_features: must be {{"mel": m, "magnitude": k}} for output_type "both" '
            f"and an int otherwise, got {features!r} for {output_type!r}"
        )
    if isinstance(data_min, dict) and not both:
        raise ConfigError(f"{where}.data_min: a dict is for output_type 'both'; give a float")
    if both and params["feature_normalize"]:
        raise ConfigError(f"{where}.feature_normalize: not supported with output_type 'both' (as in OpenSeq2Seq)")
    dataset = DATASETS.get(params["dataset"], {})
    rate = params["sampling_rate"] or dataset.get("sampling_rate")
    if rate is None:
        raise ConfigError(f"{where}.sampling_rate: give the corpus sample rate (or dataset: LJ / MAILABS)")
    n_fft = params["n_fft"] or dataset.get("n_fft", 1024)
    mins = data_min if isinstance(data_min, dict) else {"mel": data_min, "magnitude": data_min}
    num = features if both else {"mel": features if output_type == "mel" else 0, "magnitude": 0}
    if output_type == "magnitude":
        num = {"mel": 0, "magnitude": features}
    try:
        return SpectrogramParams(
            sampling_rate=rate,
            n_fft=n_fft,
            win_length=params["win_length"] or n_fft,
            hop_length=params["hop_length"] or n_fft // 4,
            output_type=output_type,
            num_mel=num["mel"],
            num_magnitude=num["magnitude"],
            mag_power=float(params["mag_power"]),
            mel_type=params["mel_type"],
            fmin=params["fmin"],
            fmax=params["fmax"],
            data_min_mel=mins["mel"],
            data_min_magnitude=mins["magnitude"],
            exp_mag=both if params["exp_mag"] is None else (params["exp_mag"] and both),
            feature_normalize=params["feature_normalize"],
            mean=params["feature_normalize_mean"],
            std=params["feature_normalize_std"],
            trim=params["trim"],
            trim_top_db=params["trim_top_db"],
        )
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from e


def _read_lines(files: Sequence[str], infer: bool) -> list[Line]:
    """Lines of every file in order; a line without an id is named ``line<N>`` (``<file
    stem>_line<N>`` when there are several files)."""
    lines = []
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        for line in read_metadata(path, allow_plain=infer):
            if not line.name:
                name = f"line{line.number}" if len(files) == 1 else f"{stem}_line{line.number}"
                line = dataclasses.replace(line, name=name)
            lines.append(line)
    return lines


def _progress(lines: list[Line], enabled: bool):
    if not enabled or len(lines) < 2000:
        return lines
    from tqdm import tqdm

    return tqdm(lines, desc="checking audio files", unit="file")
