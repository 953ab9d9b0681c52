"""SpeechCommandsDataLayer: keyword spotting on the Google Speech Commands folder layout."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from open_s2s.config.params import Param, positive, validate
from open_s2s.data import keys
from open_s2s.data.audio import (
    AudioInfo,
    DataError,
    FeatureParams,
    compute_features,
    decode_pcm16,
    frequency_warp,
    read_audio_info,
)
from open_s2s.data.augmentation import SPEC_AUGMENT_PARAMS, spec_augment
from open_s2s.data.data_layer import DataLayer
from open_s2s.data.data_spec import DataSpec, audio_features, class_id
from open_s2s.data.speech_commands import labels, layout, os2s_compat

logger = logging.getLogger(__name__)
_PROGRESS_MIN_FILES = 2000
UNLABELED = -1  # label of an audio_files clip without one (infer)


def _non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must be >= 0"


def _percentage(value: Any) -> str | None:
    return None if 0 <= value <= 100 else "must be in [0, 100]"


def _speed_range(value: Any) -> str | None:
    if value is None:
        return None
    ok = len(value) == 2 and all(isinstance(v, (int, float)) for v in value) and 0 < value[0] <= value[1]
    return None if ok else "must be [min, max] with 0 < min <= max, e.g. [0.9, 1.1]"


class SpeechCommandsDataLayer(DataLayer):
    """Fixed-length log-mel "images" of 1 s keyword clips, with class labels.

    Reads the dataset's own layout (see ``layout``): one folder per word,
    ``validation_list.txt``, ``testing_list.txt`` and ``_background_noise_/``. The split
    follows the mode unless ``split`` is set: train -> ``train``, eval -> ``validation``,
    infer -> ``test``. Label sets: ``v1-12`` (``_silence_``, ``_unknown_`` and the ten
    commands, silence cut from the background noise), ``v1-30`` and ``v2-35`` (one class
    per word). Every file of the split is checked when the layer is built (readable,
    ``sample_freq``); problems raise ``DataError`` naming the file.

    Each clip is cropped (centred) or zero-padded (at the end) to ``clip_duration``.
    Features are not normalized per clip by default: the absolute level is what tells
    quiet ``_silence_`` from speech, and per-feature normalization of a stationary noise
    (a hum has almost constant mel bins) divides by a near-zero deviation, which makes
    the features ill-conditioned (TFLite and TensorFlow then disagree visibly).
    In train mode only: silence clips get a fresh random offset and level, and words get
    speed perturbation (resampling by a random factor, which shifts pitch too, as
    ``sox speed`` does), a random time shift of up to ``time_shift_ms`` and, with
    probability ``background_frequency``, a random background-noise excerpt mixed in at a
    uniform random level in [0, ``background_volume``]; with ``vtlp``, a random warp of
    the mel axis (vocal-tract-length perturbation, as in Speech2TextDataLayer); with
    ``spec_augment``, SpecAugment frequency and time masks. ``subtract_mean_per_feature``
    removes each mel bin's per-clip mean (in every mode and in the exported models), the
    cepstral-mean-normalization habit that takes out the average spectral envelope of
    voice and channel.

    OpenSeq2Seq's keys are accepted with its meaning: ``dataset_files`` names its list
    files (``os2s_compat``: ``v1-12-train.txt``... written by its preprocessing script into
    ``dataset_location``), which then replace the split; ``num_labels`` (12, 30, 35) picks
    the label set; ``audio_length`` is the number of frames every clip is cropped or padded
    to; ``augment_data: False`` turns off the train-mode waveform augmentations;
    ``model_format`` (``jasper``/``resnet``, its encoders' input layouts) changes nothing,
    since both encoders here take ``[batch, frames, features]``.

    Batches (dict keyed by ``open_s2s.data.keys``): SOURCE ``[batch, frames,
    num_audio_features]`` float32 (frames is the same for every clip), SOURCE_LENGTH
    ``[batch]`` int32, TARGET ``[batch]`` int32 class ids, INDEX ``[batch]`` int64
    (position in ``sample_names``).
    """

    PARAMS: Mapping[str, Param] = {
        "dataset_location": Param(str, doc="Root of the Speech Commands layout (word folders, list files)."),
        "label_set": Param(
            (str, type(None)),
            None,
            choices=(None, *labels.LABEL_SETS),
            doc="Classes: v1-12, v1-30 or v2-35; None = the one of num_labels, else v1-12.",
        ),
        "num_labels": Param(
            (int, type(None)),
            None,
            choices=(None, *os2s_compat.LABEL_SET_OF_NUM_LABELS),
            doc="OpenSeq2Seq's key: 12, 30 or 35 classes = label set v1-12, v1-30, v2-35.",
        ),
        "split": Param(
            (str, type(None)), None, choices=(None, *layout.SPLITS), doc="None: train/validation/test by mode."
        ),
        "dataset_files": Param(
            (list, type(None)),
            None,
            doc="OpenSeq2Seq's list files ('<class id>,<word>/<file>.wav' lines, e.g. v1-12-train.txt) "
            "relative to dataset_location; they replace split. None = Google's layout and lists.",
        ),
        "audio_files": Param(
            (list, type(None)),
            None,
            doc="Clips to use instead of a split of dataset_location: CSVs (wav_filename, optional label), JSON-lines "
            "manifests (audio_filepath, optional label), directories, glob patterns or text files of paths. Labels "
            "are class names, required outside infer; infer resamples clips at other rates. None = the split.",
        ),
        "num_audio_features": Param(int, 64, doc="Mel bins.", check=positive),
        "input_type": Param(str, "logfbank", choices=("spectrogram", "mfcc", "logfbank"), doc="Feature type."),
        "sample_freq": Param(int, 16000, doc="Sample rate (Hz) every file must have.", check=positive),
        "clip_duration": Param(
            (float, type(None)), None, doc="Seconds every clip is cropped or padded to; None = 1 s.", check=positive
        ),
        "audio_length": Param(
            (int, type(None)),
            None,
            doc="OpenSeq2Seq's key: frames every clip is cropped or padded to (instead of clip_duration).",
            check=positive,
        ),
        "window_size": Param(float, 0.025, doc="Analysis window length (s).", check=positive),
        "window_stride": Param(float, 0.01, doc="Hop between frames (s).", check=positive),
        "window": Param(str, "hanning", choices=("hanning", "hamming", "none"), doc="Window function."),
        "num_fft": Param(
            (int, type(None)),
            None,
            doc="FFT length; None = the window length for spectrogram (as OpenSeq2Seq), else its next power of 2.",
        ),
        "dither": Param(
            float, 1e-5, doc="Std of the dither noise (uniform, zero mean) added in train mode.", check=_non_negative
        ),
        "preemph": Param((float, type(None)), 0.97, doc="Pre-emphasis coefficient; None = off."),
        "norm_per_feature": Param(
            bool, False, doc="Per-clip mean/std normalisation of each feature (off: keeps the level, see above)."
        ),
        "subtract_mean_per_feature": Param(
            bool,
            False,
            doc="Subtract each feature's per-clip mean (no division: safe on stationary noise); "
            "removes the clip's average spectral envelope (voice, channel).",
        ),
        "unknown_percentage": Param(
            float, 10.0, doc="v1-12: _unknown_ clips, % of the command clips.", check=_percentage
        ),
        "silence_percentage": Param(
            float, 10.0, doc="v1-12: _silence_ clips, % of the command clips.", check=_percentage
        ),
        "time_shift_ms": Param(float, 100.0, doc="Train: max random time shift (ms); 0 = off.", check=_non_negative),
        "background_frequency": Param(float, 0.8, doc="Train: probability of mixing in noise.", check=_non_negative),
        "background_volume": Param(float, 0.1, doc="Train: max level of mixed-in noise.", check=_non_negative),
        "speed_perturbation": Param(
            (list, type(None)), [0.9, 1.1], doc="Train: [min, max] speed factor; None = off.", check=_speed_range
        ),
        "vtlp": Param(
            (list, type(None)),
            None,
            doc="Train: [min, max] of the random frequency-warp factor (VTLP); None = off.",
            check=_speed_range,
        ),
        "spec_augment": Param(
            (dict, type(None)),
            None,
            doc="Train: SpecAugment masks (filled with the clip's mean); None = off.",
            spec=SPEC_AUGMENT_PARAMS,
        ),
        "cache_data": Param(bool, True, doc="Keep decoded clips in memory after the first epoch."),
        "augment_data": Param(
            bool, True, doc="Train: False turns off speed perturbation, time shift and background noise."
        ),
        "model_format": Param(
            (str, type(None)),
            None,
            choices=(None, "jasper", "resnet"),
            doc="Accepted for porting (OpenSeq2Seq's input layouts); encoders here take [batch, frames, features].",
        ),
    }

    def __init__(self, params: Mapping[str, Any], mode: str, batch_size: int, seed: int | None = None):
        super().__init__(params, mode, batch_size, seed)
        p = self.params
        self.feature_params = FeatureParams.from_params(p)
        os2s_compat.check_keys(p)
        self.clip_samples = os2s_compat.clip_samples(p)
        self.label_set = os2s_compat.label_set(p)
        self.labels = labels.labels_for(self.label_set)
        self._noise_paths = layout.noise_files(p["dataset_location"])
        self._noise = [self._load_noise(path) for path in self._noise_paths]
        if p["audio_files"] is not None:
            self.split = "audio_files"
            examples = self._read_audio_files(p["audio_files"])
        elif p["dataset_files"] is not None:
            self.split = "+".join(p["dataset_files"])
            examples = [
                layout.Example(path, label)
                for path, label in os2s_compat.read_lists(p["dataset_location"], p["dataset_files"], self.label_set)
            ]
        else:
            self.split = p["split"] or {"train": "train", "eval": "validation", "infer": "test"}[mode]
            examples = layout.build_examples(
                p["dataset_location"],
                self.label_set,
                self.split,
                p["unknown_percentage"],
                p["silence_percentage"],
                [len(n) for n in self._noise],
                self.clip_samples,
            )
        if p["max_samples"] is not None:
            examples = examples[: p["max_samples"]]
        infos = self._check_files([e.path for e in examples if e.noise_index < 0])
        self._examples = examples
        # infer reads clips at other rates too, all through one numpy reader (soxr)
        self._resample = any(i.sample_rate != p["sample_freq"] for i in infos.values())
        # where each word clip's samples are (silence clips: nothing to read)
        self._pcm = [infos[e.path] if e.noise_index < 0 else None for e in examples]
        if self._mixes_background and not self._noise:
            raise DataError(
                f"{p['dataset_location']}/{labels.BACKGROUND_NOISE_DIR}: no noise files for background mixing "
                f"(set background_frequency to 0)"
            )

    # ------------------------------------------------------------------ public API

    @property
    def spec(self) -> DataSpec:
        return self._spec_from(self.params)

    @classmethod
    def spec_from_params(cls, params: Mapping[str, Any]) -> tuple[DataSpec, FeatureParams]:
        """DataSpec and FeatureParams from the config alone, reading no dataset file (export)."""
        params = validate(f"{cls.__name__} (data_layer_params)", params, cls.all_params())
        return cls._spec_from(params), FeatureParams.from_params(params)

    @staticmethod
    def _spec_from(params: Mapping[str, Any]) -> DataSpec:
        os2s_compat.check_keys(params)
        names = labels.labels_for(os2s_compat.label_set(params))
        return DataSpec(
            source=audio_features(
                params["num_audio_features"],
                params["sample_freq"],
                params["window_stride"],
                os2s_compat.clip_samples(params),
            ),
            target=class_id(tuple(names)),
        )

    @property
    def num_samples(self) -> int:
        return len(self._examples)

    @property
    def examples(self) -> list[layout.Example]:
        return list(self._examples)

    @property
    def sample_names(self) -> list[str]:
        """Infer output names: the file path, or ``<noise file>@<s>s*<gain>`` for silence clips."""
        return [e.name(self.params["sample_freq"]) for e in self._examples]

    def label_of(self, index: int) -> int:
        """Class id of example ``index``; ``UNLABELED`` (-1) for a clip of ``audio_files`` without one."""
        return self._examples[index].label

    @classmethod
    def infer_input_params(cls, paths: list[str]) -> dict[str, Any]:
        """``data_layer_params`` that make infer classify ``paths`` (``run.py --infer_input``)."""
        return {"audio_files": list(paths)}

    def reference(self, index: int) -> str | None:
        """The label name of example ``index``, or None without one."""
        label = self._examples[index].label
        return None if label == UNLABELED else self.labels[label]

    def describe(self) -> dict[str, Any]:
        """What data this layer reads (printed by eval/infer and kept in their metrics JSON)."""
        p = self.params
        where = (
            {"audio_files": p["audio_files"]}
            if p["audio_files"] is not None
            else {"dataset_location": p["dataset_location"], "split": self.split}
        )
        return {**where, "num_samples": self.num_samples}

    def _read_audio_files(self, specs: list[str]) -> list[layout.Example]:
        from open_s2s.config.params import suggest  # noqa: PLC0415
        from open_s2s.data.speech2text.manifests import read_dataset_file  # noqa: PLC0415

        examples = []
        for spec in specs:
            for entry in read_dataset_file(spec, reference_column="label", manifest_key="label"):
                name = entry.transcript.strip()
                if not name and self.mode != "infer":
                    raise DataError(f"{entry.where}: no label for {entry.path} (needed outside infer mode)")
                if name and name not in self.labels:
                    raise DataError(
                        f"{entry.where}: label {name!r} is not a class of {self.label_set}"
                        f"{suggest(name, self.labels)}; classes: {', '.join(self.labels)}"
                    )
                examples.append(layout.Example(entry.path, self.labels.index(name) if name else UNLABELED))
        if not examples:
            raise DataError(f"audio_files {specs}: no clips")
        return examples

    def build_dataset(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        ex = self._examples
        ds = tf.data.Dataset.from_tensor_slices(
            {
                "path": tf.constant([e.path for e in ex]),
                "noise_index": tf.constant([e.noise_index for e in ex], tf.int32),
                "offset": tf.constant([e.offset for e in ex], tf.int32),
                "gain": tf.constant([e.gain for e in ex], tf.float32),
                "pcm_offset": tf.constant([i.pcm_offset if i else 0 for i in self._pcm], tf.int32),
                "pcm_bytes": tf.constant([i.pcm_bytes if i else 0 for i in self._pcm], tf.int32),
                "channels": tf.constant([i.channels if i else 1 for i in self._pcm], tf.int32),
                keys.TARGET: tf.constant([e.label for e in ex], tf.int32),
                keys.INDEX: tf.range(len(ex), dtype=tf.int64),
            }
        )
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        self._noise_t = self._noise_tensor()  # one copy, captured by the map functions
        ds = ds.map(self._decode, num_parallel_calls=self.num_parallel_calls)
        if self.params["cache_data"]:
            ds = ds.cache()
        if self.shuffle:
            ds = ds.shuffle(self.params["shuffle_buffer_size"], seed=self.seed, reshuffle_each_iteration=True)
        if self.repeat:
            ds = ds.repeat()
        ds = ds.map(self._features, num_parallel_calls=self.num_parallel_calls)
        ds = ds.batch(self.batch_size, drop_remainder=self.repeat)
        prefetch = self.params["prefetch"]
        return ds.prefetch(tf.data.AUTOTUNE if prefetch == -1 else prefetch)

    # ------------------------------------------------------------------ dataset pieces

    def _noise_tensor(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """All noise recordings concatenated, with each one's start and length."""
        lengths = np.array([len(n) for n in self._noise], np.int32)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
        flat = np.concatenate(self._noise) if self._noise else np.zeros([self.clip_samples], np.float32)
        return tf.constant(flat), tf.constant(starts), tf.constant(lengths)

    def _decode(self, ex: dict) -> dict:
        """Word clips decoded to float samples; silence clips keep their noise reference."""
        is_word = ex["noise_index"] < 0
        path, offset, nbytes, channels = (ex.pop(k) for k in ("path", "pcm_offset", "pcm_bytes", "channels"))
        if self._resample:  # only user clips (audio_files in infer), no silence clips
            audio = tf.numpy_function(self._read_resampled, [path], tf.float32, stateful=False)
            audio.set_shape([None])
            ex["audio"] = audio
            return ex
        ex["audio"] = tf.cond(
            is_word, lambda: decode_pcm16(path, offset, nbytes, channels), lambda: tf.zeros([0], tf.float32)
        )
        return ex

    def _read_resampled(self, path: bytes) -> np.ndarray:
        from open_s2s.data.audio_io import read_audio  # noqa: PLC0415

        return read_audio(path.decode(), self.params["sample_freq"])

    def _features(self, ex: dict) -> dict:
        training = self.mode == "train"
        audio = tf.cond(
            ex["noise_index"] < 0, lambda: self._word(ex["audio"], training), lambda: self._silence(ex, training)
        )
        if self._mixes_background and self._noise:
            audio = self._mix_background(audio)
        features, length = compute_features(audio[None], [self.clip_samples], self.feature_params, training)
        vtlp = self.params["vtlp"]
        if training and vtlp is not None:
            features = frequency_warp(features, tf.random.uniform([], vtlp[0], vtlp[1]))
        masks = self.params["spec_augment"]
        if training and masks is not None:
            mean = tf.reduce_mean(features)  # masked cells take the clip's mean, not 0 (features are not normalized)
            features = spec_augment(features - mean, length, **masks) + mean
        return {
            keys.SOURCE: features[0],
            keys.SOURCE_LENGTH: length[0],
            keys.TARGET: ex[keys.TARGET],
            keys.INDEX: ex[keys.INDEX],
        }

    @property
    def _mixes_background(self) -> bool:
        p = self.params
        mixing = p["background_frequency"] > 0 and p["background_volume"] > 0
        return self.mode == "train" and p["augment_data"] and mixing

    def _word(self, audio: tf.Tensor, training: bool) -> tf.Tensor:
        if not training or not self.params["augment_data"]:
            return fit_clip(audio[None], tf.shape(audio)[:1], self.clip_samples)[0]
        speed = self.params["speed_perturbation"]
        if speed is not None and speed != [1.0, 1.0]:
            audio = change_speed(audio, tf.random.uniform([], speed[0], speed[1]))
        n = tf.shape(audio)[0]
        start = tf.random.uniform([], 0, tf.maximum(n - self.clip_samples, 0) + 1, tf.int32)
        shift = round(self.params["time_shift_ms"] / 1000 * self.params["sample_freq"])
        if shift > 0:
            start += tf.random.uniform([], -shift, shift + 1, tf.int32)
        return crop(audio, start, self.clip_samples)

    def _silence(self, ex: dict, training: bool) -> tf.Tensor:
        flat, starts, lengths = self._noise_t
        i = tf.maximum(ex["noise_index"], 0)
        offset, gain = ex["offset"], ex["gain"]
        if training:
            offset = tf.random.uniform([], 0, lengths[i] - self.clip_samples + 1, tf.int32)
            gain = tf.random.uniform([])
        return flat[starts[i] + offset : starts[i] + offset + self.clip_samples] * gain

    def _mix_background(self, audio: tf.Tensor) -> tf.Tensor:
        flat, starts, lengths = self._noise_t
        i = tf.random.uniform([], 0, len(self._noise), tf.int32)
        offset = tf.random.uniform([], 0, lengths[i] - self.clip_samples + 1, tf.int32)
        noise = flat[starts[i] + offset : starts[i] + offset + self.clip_samples]
        mix = tf.cast(tf.random.uniform([]) < self.params["background_frequency"], tf.float32)
        volume = tf.random.uniform([], 0.0, self.params["background_volume"]) * mix
        return tf.clip_by_value(audio + volume * noise, -1.0, 1.0)

    # ------------------------------------------------------------------ load-time checks

    def _load_noise(self, path: str) -> np.ndarray:
        import soundfile  # load-time only

        info = read_audio_info(path)
        if info.sample_rate != self.params["sample_freq"]:
            raise DataError(f"{path}: sample rate {info.sample_rate} Hz, expected {self.params['sample_freq']}")
        if info.num_samples < self.clip_samples:
            raise DataError(f"{path}: noise recording shorter than one clip ({info.duration:.2f} s)")
        audio, _ = soundfile.read(path, dtype="float32", always_2d=True)
        return audio.mean(axis=1)

    def _check_files(self, paths: list[str]) -> dict[str, AudioInfo]:
        """Each file's header facts (sample rate checked), by path."""
        infos = {}
        it = paths
        if len(paths) > _PROGRESS_MIN_FILES:
            from tqdm import tqdm

            it = tqdm(paths, desc=f"checking {self.split} audio files", unit="file")
        rate = self.params["sample_freq"]
        for path in it:
            info = read_audio_info(path)  # raises DataError naming the file
            if info.sample_rate != rate and not (self.mode == "infer" and self.split == "audio_files"):
                raise DataError(
                    f"{path} has sample rate {info.sample_rate} Hz, but sample_freq is {rate}; "
                    f"resample it, e.g. `sox in.wav -r {rate} out.wav` (infer resamples the clips of audio_files)"
                )
            infos[path] = info
        return infos


def crop(audio: tf.Tensor, start, size: int) -> tf.Tensor:
    """``audio[start : start + size]`` with zeros wherever that range leaves the audio."""
    n = tf.shape(audio)[0]
    start = tf.clip_by_value(tf.cast(start, tf.int32), -size, n)
    padded = tf.pad(audio, [[size, size]])
    return padded[start + size : start + 2 * size]


def fit_clip(audio: tf.Tensor, lengths: tf.Tensor, size: int) -> tf.Tensor:
    """Eval-mode crop/pad of a batch: centred crop of longer clips, zero padding at the end.

    Args:
      audio: ``[batch, samples]`` (zero-padded), lengths ``[batch]`` valid samples.
      size: clip samples.

    Returns:
      ``[batch, size]`` float32.
    """
    audio = tf.convert_to_tensor(audio, tf.float32)
    lengths = tf.cast(lengths, tf.int32)
    start = tf.maximum(lengths - size, 0) // 2
    index = start[:, None] + tf.range(size)[None, :]
    valid = index < lengths[:, None]
    audio = tf.pad(audio, [[0, 0], [0, tf.maximum(size - tf.shape(audio)[1], 0)]])
    gathered = tf.gather(audio, tf.minimum(index, tf.shape(audio)[1] - 1), batch_dims=1)
    return tf.where(valid, gathered, tf.zeros_like(gathered))


def change_speed(audio: tf.Tensor, factor) -> tf.Tensor:
    """Plays ``audio`` ``factor`` times faster by linear-interpolation resampling."""
    n = tf.shape(audio)[0]
    factor = tf.cast(factor, tf.float32)
    new_n = tf.maximum(tf.cast(tf.math.floor(tf.cast(n - 1, tf.float32) / factor), tf.int32) + 1, 1)
    pos = tf.range(new_n, dtype=tf.float32) * factor
    lo = tf.minimum(tf.cast(tf.floor(pos), tf.int32), n - 1)
    hi = tf.minimum(lo + 1, n - 1)
    w = pos - tf.cast(lo, tf.float32)
    return tf.gather(audio, lo) * (1 - w) + tf.gather(audio, hi) * w
