"""The objects ``open_s2s.load`` returns, one per family.

Each batches its inputs (sorted by length within a window, so that a batch pads little;
results come back in input order) and calls the model's serving function, the one an
export saves: features, network and decoding run in one graph, exactly as in a
SavedModel. Audio inputs are files or arrays at any sample rate and channel count
(``open_s2s.data.audio_io.prepare_audio``: mixed down, resampled with soxr).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from open_s2s.api.loading import Loaded

# Inputs read ahead and sorted by length before batching (bounds memory for long lists).
_WINDOW_BATCHES = 16


def _as_list(items: Any) -> tuple[list[Any], bool]:
    """``(inputs, whether a single input was given)``."""
    single = isinstance(items, (str, bytes, os.PathLike, tuple)) or (isinstance(items, np.ndarray) and items.ndim <= 2)
    return ([items] if single else list(items)), single


def _batched(
    items: Sequence[Any], batch_size: int, prepare: Callable[[Any], Any], length: Callable[[Any], int]
) -> Iterator[tuple[list[int], list[Any]]]:
    """``(input indices, prepared inputs)`` per batch, similar lengths together."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    window = batch_size * _WINDOW_BATCHES
    for start in range(0, len(items), window):
        prepared = {i: prepare(items[i]) for i in range(start, min(start + window, len(items)))}
        order = sorted(prepared, key=lambda i: length(prepared[i]))
        for b in range(0, len(order), batch_size):
            indices = order[b : b + batch_size]
            yield indices, [prepared[i] for i in indices]


def _pad(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(a) for a in arrays], np.int32)
    out = np.zeros([len(arrays), max(1, int(lengths.max()))], np.float32)
    for row, a in enumerate(arrays):
        out[row, : len(a)] = a
    return out, lengths


class _Model:
    """Common to the family objects: what was loaded, from where."""

    def __init__(self, loaded: Loaded):
        self._loaded = loaded
        self.data_spec = loaded.data_spec
        self.source = loaded.source  # "export" or "checkpoint"
        self.path = loaded.path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source} {self.path})"


class _AudioModel(_Model):
    @property
    def sample_rate(self) -> int:
        """The rate the model runs at (inputs at other rates are resampled to it)."""
        return self.data_spec.source.sample_rate

    def _audio_batches(self, audio, batch_size):
        from open_s2s.data.audio_io import prepare_audio  # noqa: PLC0415

        items, single = _as_list(audio)
        batches = _batched(items, batch_size, lambda x: prepare_audio(x, self.sample_rate), len)
        return items, single, batches

    def _serve_audio(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        padded, lengths = _pad(arrays)
        out = self._loaded.serve(audio=padded, audio_length=lengths)
        return {k: v.numpy() for k, v in out.items()}


class SpeechRecognizer(_AudioModel):
    """Speech recognition (``open_s2s.load`` of a Speech2Text run or export).

    ``vocab``: the characters (or subwords) of the CTC output; the blank is the last class.
    """

    def __init__(self, loaded: Loaded):
        super().__init__(loaded)
        self.vocab = self.data_spec.target.vocab
        self.decoding = dict(loaded.settings.get("decoding", {}))
        self._beam_searches: dict[str, Any] = {}

    def transcribe(
        self,
        audio,
        batch_size: int = 8,
        language_model: Any = None,
        alpha: float | None = None,
        beta: float | None = None,
        beam_width: int | None = None,
    ) -> list[str] | str:
        """Transcripts of ``audio``, in input order.

        Args:
          audio: a list of paths (WAV, FLAC, OGG, MP3) and/or arrays; an array is
            ``[samples]`` or ``[samples, channels]`` at the model's rate, or a
            ``(array, sample_rate)`` pair. Any rate and channel count: mixed down, resampled.
            A single input gives a single transcript.
          batch_size: utterances per forward pass.
          language_model: None for greedy CTC decoding (in the graph, as ``--mode=infer``
            without an LM); a path to an ARPA or kenlm binary word LM for CTC beam search
            with it (as ``--decoder_params/use_language_model=True``), or a
            ``CTCBeamSearchDecoder``.
          alpha, beta, beam_width: LM weight, word bonus and beam; None = the run's
            ``decoder_params`` (or their defaults).
        """
        search = self._beam_search(language_model, alpha, beta, beam_width)
        items, single, batches = self._audio_batches(audio, batch_size)
        texts: list[str] = [""] * len(items)
        for indices, arrays in batches:
            out = self._serve_audio(arrays)
            if search is None:
                batch_texts = [t.decode("utf-8") for t in out["transcript"]]
            else:
                batch_texts = search.decode_batch(out["log_probs"], out["log_probs_length"])
            for i, text in zip(indices, batch_texts):
                texts[i] = text
        return texts[0] if single else texts

    def log_probs(self, audio, batch_size: int = 8) -> list[np.ndarray] | np.ndarray:
        """CTC log-probabilities ``[frames, len(vocab) + 1]`` of each input (for your own decoders)."""
        items, single, batches = self._audio_batches(audio, batch_size)
        result: list[np.ndarray] = [np.zeros([0, len(self.vocab) + 1], np.float32)] * len(items)
        for indices, arrays in batches:
            out = self._serve_audio(arrays)
            for row, i in enumerate(indices):
                result[i] = out["log_probs"][row, : int(out["log_probs_length"][row])]
        return result[0] if single else result

    def _beam_search(self, language_model, alpha, beta, beam_width):
        if language_model is None:
            return None
        from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder  # noqa: PLC0415

        d = self.decoding
        alpha = d.get("alpha", 0.5) if alpha is None else alpha
        beta = d.get("beta", 1.0) if beta is None else beta
        if isinstance(language_model, CTCBeamSearchDecoder):
            search = language_model
        else:
            path = os.fspath(language_model)
            if path not in self._beam_searches:  # kenlm reads a large LM slowly: once per path
                width = d.get("beam_width", 64) if beam_width is None else beam_width
                self._beam_searches[path] = CTCBeamSearchDecoder(self.vocab, path, alpha, beta, width)
            search = self._beam_searches[path]
        search.set_weights(alpha, beta)
        if beam_width is not None:
            search.beam_width = beam_width
        return search


@dataclass(frozen=True)
class Classification:
    """One clip's class: ``label``, its ``probability`` and every class's (``probabilities``)."""

    label: str
    probability: float
    probabilities: dict[str, float]


class KeywordSpotter(_AudioModel):
    """Keyword spotting (``open_s2s.load`` of a SpeechCommands run or export); ``labels``: the classes."""

    def __init__(self, loaded: Loaded):
        super().__init__(loaded)
        self.labels = self.data_spec.target.vocab

    def classify(self, audio, batch_size: int = 32) -> list[Classification] | Classification:
        """The class of each clip, in input order (clips are cropped or padded to the model's
        length as in eval; any rate and channel count, as ``SpeechRecognizer.transcribe``)."""
        items, single, batches = self._audio_batches(audio, batch_size)
        result: list[Any] = [None] * len(items)
        for indices, arrays in batches:
            out = self._serve_audio(arrays)
            for row, i in enumerate(indices):
                probs = out["probabilities"][row]
                label = int(out["label_id"][row])
                result[i] = Classification(
                    self.labels[label], float(probs[label]), {n: float(p) for n, p in zip(self.labels, probs)}
                )
        return result[0] if single else result


class Translator(_Model):
    """Translation (``open_s2s.load`` of a Text2Text run or export)."""

    def translate(self, texts, batch_size: int = 32, return_scores: bool = False):
        """Translations of ``texts`` (a string or a list), in input order; with ``return_scores``,
        ``(translation, search score)`` pairs."""
        items, single = ([texts], True) if isinstance(texts, str) else (list(texts), False)
        result: list[Any] = [None] * len(items)
        for indices, batch in _batched(items, batch_size, str, len):
            out = self._loaded.serve(text=np.array(batch, dtype=object))
            for row, i in enumerate(indices):
                text = out["translation"].numpy()[row].decode("utf-8")
                result[i] = (text, float(out["scores"].numpy()[row])) if return_scores else text
        return result[0] if single else result


class Synthesizer(_Model):
    """Speech synthesis (``open_s2s.load`` of a Text2SpeechTacotron run or export)."""

    @property
    def sample_rate(self) -> int:
        return self.data_spec.target.sample_rate

    def synthesize(self, texts, batch_size: int = 8) -> tuple[list[np.ndarray] | np.ndarray, int]:
        """``(waveforms, sample_rate)``: float32 audio of each text (a string or a list), in input order."""
        items, single = ([texts], True) if isinstance(texts, str) else (list(texts), False)
        waves: list[Any] = [None] * len(items)
        for indices, batch in _batched(items, batch_size, str, len):
            out = self._loaded.serve(text=np.array(batch, dtype=object))
            audio, lengths = out["audio"].numpy(), out["audio_length"].numpy()
            for row, i in enumerate(indices):
                waves[i] = audio[row, : int(lengths[row])]
        return (waves[0] if single else waves), self.sample_rate


FAMILY_CLASSES = {
    "speech2text": SpeechRecognizer,
    "speech_commands": KeywordSpotter,
    "text2text": Translator,
    "text2speech": Synthesizer,
}
