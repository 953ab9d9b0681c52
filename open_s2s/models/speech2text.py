"""Speech2Text: speech recognition models (Jasper, Wav2Letter+, DeepSpeech2)."""

from __future__ import annotations

from typing import Any

import jiwer
import numpy as np
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.vocab import ids_to_text
from open_s2s.losses.ctc_loss import ctc_min_frames
from open_s2s.models.model import EncoderDecoderModel


class Speech2Text(EncoderDecoderModel):
    """Speech recognition: audio features in, characters out; WER/CER metrics.

    Eval records are ``(index, reference, hypothesis)``; WER and CER are computed over
    the whole eval set with jiwer (total edits / total reference words or characters).
    """

    PRIMARY_METRIC = ("WER", True)
    OBJECTS_UNIT = "audio seconds"
    infer_header = ("wav_filename", "predicted_transcript")
    infer_reference_column = "transcript"

    def ids_to_text(self, ids: np.ndarray, length: int) -> str:
        return ids_to_text(ids[:length], self.data_spec.target.vocab)

    def _texts(self, decoded: dict[str, Any]) -> list[str]:
        beam_search = self.decoder.text_decoder()
        if beam_search is not None:  # e.g. CTC beam search with an n-gram LM, on the log-probs
            return beam_search.decode_batch(decoded["log_probs"], decoded["log_probs_length"])
        ids, lengths = decoded["ids"], decoded[keys.LENGTHS]
        return [self.ids_to_text(ids[b], int(lengths[b])) for b in range(len(lengths))]

    def _references(self, batch: dict[str, Any]) -> list[str]:
        tgt, lengths = batch[keys.TARGET], batch[keys.TARGET_LENGTH]
        return [self.ids_to_text(tgt[b], int(lengths[b])) for b in range(len(lengths))]

    def eval_batch(self, batch, decoded):
        hyps = self._texts(decoded)
        refs = self._references(batch)
        return list(zip(batch[keys.INDEX].tolist(), refs, hyps))

    def finalize_eval(self, records):
        records = sorted(records)
        refs = [normalize(r) for _, r, _ in records]
        hyps = [normalize(h) for _, _, h in records]
        pairs = [(r, h) for r, h in zip(refs, hyps) if r]
        if not pairs:
            return {"WER": float("nan"), "CER": float("nan"), "num_utterances": 0}
        refs, hyps = zip(*pairs)
        return {
            "WER": 100.0 * jiwer.wer(list(refs), list(hyps)),
            "CER": 100.0 * jiwer.cer(list(refs), list(hyps)),
            "num_utterances": len(refs),
        }

    def infer_batch(self, batch, decoded):
        return [(int(i), h) for i, h in zip(batch[keys.INDEX].tolist(), self._texts(decoded))]

    def check_data(self, data_layer) -> None:
        """Every transcript must fit the frames the CTC loss sees.

        CTC aligns ``n`` labels with ``r`` equal neighbours in no fewer than ``n + r``
        frames (``ctc_min_frames``) of the *encoder's output*, i.e. after its strides.
        Such a row has an infinite loss (masked by ``CTCLoss``'s ``mask_nan``, but never
        learnt from), and usually means a wrong audio file or transcript.

        Raises:
          DataError: naming the first such row's dataset file and line, audio file and counts.
        """
        try:
            rows = data_layer.utterances()
        except AttributeError:  # a data layer without per-row frames and targets
            return
        if not rows:
            return
        try:
            out = np.asarray(self.encoder.output_length(np.array([r.frames for r in rows], np.int64)))
        except NotImplementedError:
            return
        for row, frames_out in zip(rows, out.tolist()):
            need = ctc_min_frames(row.ids)
            if need > frames_out:
                repeats = need - len(row.ids)
                raise DataError(
                    f"{row.where}: transcript of {len(row.ids)} labels ({repeats} repeated) needs at least "
                    f"{need} CTC frames, but {type(self.encoder).__name__} turns the {row.frames} feature frames "
                    f"of {row.path} into {frames_out}: wrong audio file or transcript?"
                )

    def score_inference(self, data_layer, rows):
        """WER/CER of infer output when the input CSV has transcripts."""
        refs = [data_layer.transcript(i) for i, _ in rows]
        if not any(refs):
            return {}
        return self.finalize_eval([(i, ref, hyp) for (i, hyp), ref in zip(rows, refs)])

    def serving_module(self, feature_params):
        from open_s2s.export.speech2text import Speech2TextServing  # noqa: PLC0415

        return Speech2TextServing(self, feature_params)

    def objects_in_batch(self, batch):
        """Seconds of audio in the batch (throughput is audio seconds per second)."""
        return tf.reduce_sum(tf.cast(batch[keys.AUDIO_DURATION], tf.float32))

    def sample_text(self, batch, decoded, limit=3):
        lines = []
        for ref, hyp in list(zip(self._references(batch), self._texts(decoded)))[:limit]:
            lines.append(f"REF: {ref}\nHYP: {hyp}")
        return "\n\n".join(lines)


def normalize(text: str) -> str:
    """Collapses whitespace (jiwer counts an empty hypothesis as all deletions)."""
    return " ".join(text.split())
