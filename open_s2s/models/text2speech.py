"""Text2SpeechTacotron: speech synthesis (Tacotron 2 + Griffin-Lim), judged on free-running output."""

from __future__ import annotations

import csv
import logging
import os

import numpy as np
import tensorflow as tf

from open_s2s.config.params import Param
from open_s2s.data import keys
from open_s2s.data.vocab import ids_to_text
from open_s2s.decoders.tacotron2_decoder import ALIGNMENTS, DECODER_STEPS, MAGNITUDE, POSTNET
from open_s2s.models.model import EncoderDecoderModel

log = logging.getLogger("open_s2s")

GRIFFIN_LIM_PARAMS = {
    "n_iter": Param(int, 60, doc="Griffin-Lim iterations."),
    "power": Param(
        float, 1.0, doc="Magnitude exponent before the phase search (1.0: best judge WER; OpenSeq2Seq used 1.5)."
    ),
    "momentum": Param(float, 0.99, doc="Fast Griffin-Lim momentum."),
    "init": Param(str, "zeros", choices=("zeros", "random"), doc="Starting phases (zeros: reproducible)."),
    "seed": Param(int, 0, doc="Seed of random starting phases."),
}
JUDGE_PARAMS = {
    "lm_text": Param(str, doc="Text (metadata csv or one sentence per line) for the judge's domain n-gram LM."),
    "num_sentences": Param(int, 50, doc="Eval sentences the judge transcribes."),
}
DIAGONAL_BAND = 0.1  # |char/chars - step/steps| under this counts as on the diagonal


def alignment_stats(alignment: np.ndarray, text_len: int, steps: int) -> tuple[float, float]:
    """``(focus, diagonality)`` of one ``[steps, chars]`` alignment: the mean of each step's
    largest weight (1 = one character at a time), and the share of attention within
    ``DIAGONAL_BAND`` of the straight line from the first character to the last."""
    a = alignment[:steps, :text_len]
    if steps == 0 or text_len == 0:
        return 0.0, 0.0
    focus = float(a.max(axis=1).mean())
    t = np.arange(steps)[:, None] / max(steps - 1, 1)
    n = np.arange(text_len)[None, :] / max(text_len - 1, 1)
    diagonal = float((a * (np.abs(n - t) <= DIAGONAL_BAND)).sum() / steps)
    return focus, diagonal


def heat_image(matrix: np.ndarray, height: int | None = None) -> np.ndarray:
    """A ``[rows, cols]`` matrix as an RGB ``uint8`` image (rows upward, white = 0, dark = max)."""
    m = np.asarray(matrix, np.float32)
    m = (m - m.min()) / max(float(m.max() - m.min()), 1e-9)
    low, high = np.array([255, 255, 255], np.float32), np.array([8, 48, 107], np.float32)
    image = (low + m[..., None] * (high - low)).astype(np.uint8)[::-1]
    if height and image.shape[0] < height:
        image = np.repeat(image, max(1, height // image.shape[0]), axis=0)
    return image


class Text2SpeechTacotron(EncoderDecoderModel):
    """Tacotron 2: characters in, spectrogram frames out, waveforms by Griffin-Lim in the graph.

    ``generate`` runs the decoder free from the text (stop token or length limit) and turns
    the postnet spectrogram into audio with Griffin-Lim (``griffin_lim`` params) using the
    data layer's feature transform (``data_spec.target.audio``). Eval scores that free
    output, never the teacher-forced one (a model whose attention never aligned still
    sounds fine teacher-forced): attention focus and diagonality, the generated/reference
    length ratio (and the share of sentences within 0.8-1.25 of the reference length), the
    sentences that hit the length limit, and with ``judge`` the WER of an independent
    recognizer (pocketsphinx with a domain LM) on the synthesized speech.

    ``--mode=infer`` writes ``<index>.wav`` (16-bit, the corpus rate) and
    ``<index>_alignment.png`` per input line plus an index CSV.
    """

    PARAMS = {
        **EncoderDecoderModel.PARAMS,
        "griffin_lim": Param(dict, {}, doc="Griffin-Lim settings.", spec=GRIFFIN_LIM_PARAMS),
        "judge": Param((dict, type(None)), None, doc="Intelligibility judge in eval; None = off.", spec=JUDGE_PARAMS),
        "save_to_tensorboard": Param(bool, True, doc="Eval audio and images in TensorBoard (OpenSeq2Seq's key)."),
    }
    PRIMARY_METRIC = ("loss", True)
    OBJECTS_UNIT = "frames"
    infer_header = ("text", "wav_file", "frames", "hit_max_length")

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        from open_s2s.config.params import validate  # noqa: PLC0415

        self.gl_params = dict(validate("griffin_lim", params.get("griffin_lim", {}), GRIFFIN_LIM_PARAMS))
        self.judge_params = params.get("judge")
        self.save_to_tensorboard = params.get("save_to_tensorboard", True)
        self._judge = None
        if params.get("judge"):
            self.PRIMARY_METRIC = ("judge_WER", True)

    # ------------------------------------------------------------------ graph side

    def encode(self, batch, training=False):
        encoded = super().encode(batch, training)
        ids = tf.cast(batch[keys.SOURCE], tf.int64)
        weights = tf.range(1, tf.shape(ids)[1] + 1, dtype=tf.int64) * 7919 + 104729
        # a seed from the text alone (padding ids are 0): same prenet masks alone or in a batch
        encoded["text_seed"] = tf.cast(tf.math.floormod(tf.reduce_sum(ids * weights, axis=1), 2**31 - 1), tf.int32)
        return encoded

    def generate_from_encoded(self, encoded):
        generated = dict(self.decoder.generate(encoded))
        features = generated[POSTNET]
        if MAGNITUDE in generated:  # output_type "both": the frames are [mel | magnitude], as in the data
            features = tf.concat([tf.cast(features, tf.float32), tf.cast(generated[MAGNITUDE], tf.float32)], -1)
        audio, audio_length = self.vocode(features, generated[keys.LENGTHS])
        generated[keys.AUDIO], generated[keys.AUDIO_LENGTH] = audio, audio_length
        return generated

    def vocode(self, features, lengths):
        """Frames ``[batch, frames, features]`` -> ``(audio [batch, samples], lengths)`` by Griffin-Lim."""
        from open_s2s.data.text2speech.spectrogram import SpectrogramParams  # noqa: PLC0415
        from open_s2s.decoding.griffin_lim import GriffinLimParams, features_to_audio  # noqa: PLC0415

        spectrogram = SpectrogramParams(**self.data_spec.target.audio)
        source = "magnitude" if spectrogram.output_type != "mel" else "mel"
        gl = GriffinLimParams(**self.gl_params, source=source)
        return features_to_audio(tf.cast(features, tf.float32), lengths, spectrogram, gl)

    def loss_weight(self, batch):
        """Target frames: every term of ``Text2SpeechLoss`` is a sum over valid frames or steps
        divided by them, so replicas weighed by frames add up to the loss of their union."""
        return tf.cast(tf.reduce_sum(batch[keys.TARGET_LENGTH]), tf.float32)

    def objects_in_batch(self, batch):
        """Target frames in the batch (throughput is frames per second)."""
        return tf.cast(tf.reduce_sum(batch[keys.TARGET_LENGTH]), tf.float32)

    # ------------------------------------------------------------------ text

    def texts(self, batch) -> list[str]:
        side = self.data_spec.source
        specials = {side.pad_id, side.bos_id, side.eos_id}
        ids, lengths = batch[keys.SOURCE], batch[keys.SOURCE_LENGTH]
        return [
            ids_to_text([i for i in ids[b, : int(lengths[b])].tolist() if i not in specials], side.vocab)
            for b in range(len(lengths))
        ]

    # ------------------------------------------------------------------ eval

    def eval_batch(self, batch, generated):
        records = []
        texts = self.texts(batch)
        for b, index in enumerate(batch[keys.INDEX].tolist()):
            steps, frames = int(generated[DECODER_STEPS][b]), int(generated[keys.LENGTHS][b])
            text_len = int(batch[keys.SOURCE_LENGTH][b])
            focus, diagonal = alignment_stats(generated[ALIGNMENTS][b], text_len, steps)
            ref_frames = int(batch[keys.TARGET_LENGTH][b]) if keys.TARGET_LENGTH in batch else 0
            records.append(
                {
                    "index": int(index),
                    "text": texts[b],
                    "focus": focus,
                    "diagonality": diagonal,
                    "frames": frames,
                    "reference_frames": ref_frames,
                    "hit_max_length": bool(generated["hit_max_length"][b]),
                    "audio": generated[keys.AUDIO][b, : int(generated[keys.AUDIO_LENGTH][b])],
                    "alignment": generated[ALIGNMENTS][b, :steps, :text_len],
                    "spectrogram": generated[POSTNET][b, :frames],
                }
            )
        return records

    def finalize_eval(self, records):
        if not records:
            return {"num_sentences": 0}
        records = sorted(records, key=lambda r: r["index"])
        ratios = np.array([r["frames"] / r["reference_frames"] for r in records if r["reference_frames"]])
        metrics = {
            "alignment_focus": float(np.mean([r["focus"] for r in records])),
            "alignment_diagonality": float(np.mean([r["diagonality"] for r in records])),
            "hit_max_length": int(sum(r["hit_max_length"] for r in records)),
            "num_sentences": len(records),
        }
        if len(ratios):
            metrics["length_ratio"] = float(np.median(ratios))
            metrics["length_ratio_in_0.8_1.25"] = float(np.mean((ratios >= 0.8) & (ratios <= 1.25)) * 100.0)
        if self.judge_params:
            metrics.update(self.judge(records[: self.judge_params["num_sentences"]]))
        return metrics

    def judge(self, records) -> dict[str, float]:
        """WER (%) of the independent recognizer on synthesized audio against the input text."""
        from open_s2s.decoding.intelligibility import Judge  # noqa: PLC0415

        if self._judge is None:
            self._judge = Judge(lm_text=self.judge_params["lm_text"])
        rate = self.data_spec.target.sample_rate
        result = self._judge.score([r["audio"] for r in records], [r["text"] for r in records], rate)
        return {"judge_WER": 100.0 * result["wer"], "judge_sentences": len(records)}

    def eval_text(self, records) -> str:
        lines = ["text | frames / reference | focus | diagonality"]
        for r in sorted(records, key=lambda r: r["index"])[:5]:
            lines.append(
                f"{r['text']} | {r['frames']} / {r['reference_frames']} | {r['focus']:.2f} | {r['diagonality']:.2f}"
            )
        return "\n".join(lines)

    def eval_images(self, records):
        if not self.save_to_tensorboard:
            return {}
        images = {}
        for r in sorted(records, key=lambda r: r["index"])[:3]:
            images[f"alignment_{r['index']}"] = heat_image(r["alignment"].T, height=120)
            images[f"spectrogram_{r['index']}"] = heat_image(r["spectrogram"].T, height=160)
        return images

    def eval_audio(self, records):
        if not self.save_to_tensorboard:
            return {}
        rate = self.data_spec.target.sample_rate
        return {f"audio_{r['index']}": (r["audio"], rate) for r in sorted(records, key=lambda r: r["index"])[:3]}

    # ------------------------------------------------------------------ infer

    INFER_FILE = "infer"  # a directory of WAV files

    def infer_batch(self, batch, generated):
        rows = []
        texts = self.texts(batch)
        for b, index in enumerate(batch[keys.INDEX].tolist()):
            steps = int(generated[DECODER_STEPS][b])
            text_len = int(batch[keys.SOURCE_LENGTH][b])
            rows.append(
                (
                    int(index),
                    {
                        "text": texts[b],
                        "audio": generated[keys.AUDIO][b, : int(generated[keys.AUDIO_LENGTH][b])],
                        "alignment": generated[ALIGNMENTS][b, :steps, :text_len],
                        "frames": int(generated[keys.LENGTHS][b]),
                        "hit_max_length": bool(generated["hit_max_length"][b]),
                    },
                )
            )
        return rows

    def write_inference(self, path, names, rows):
        """``path`` is a directory: ``<line>.wav`` (16-bit PCM), ``<line>_alignment.png`` and
        ``index.csv`` (text, file, frames, whether the length limit was hit), in input order."""
        import soundfile  # noqa: PLC0415

        out_dir = path[:-4] if path.endswith(".csv") else path
        os.makedirs(out_dir, exist_ok=True)
        rate = self.data_spec.target.sample_rate
        width = max(4, len(str(len(rows))))
        table = []
        for index, row in rows:
            stem = f"{index:0{width}d}"
            wav = os.path.join(out_dir, stem + ".wav")
            soundfile.write(wav + ".tmp", np.clip(row["audio"], -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
            os.replace(wav + ".tmp", wav)
            png = tf.io.encode_png(heat_image(row["alignment"].T, height=120)).numpy()
            with open(os.path.join(out_dir, stem + "_alignment.png"), "wb") as f:
                f.write(png)
            table.append([row["text"], stem + ".wav", row["frames"], row["hit_max_length"]])
        with open(os.path.join(out_dir, "index.csv.tmp"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(self.infer_header)
            writer.writerows(table)
        os.replace(os.path.join(out_dir, "index.csv.tmp"), os.path.join(out_dir, "index.csv"))
        return f"wrote {len(rows)} WAV files and alignments to {out_dir}"

    def serving_module(self, serving_params):
        from open_s2s.export.text2speech import Text2SpeechServing  # noqa: PLC0415

        return Text2SpeechServing(self, serving_params)

    def sample_text(self, batch, generated, limit=3):
        texts = self.texts(batch)
        lines = []
        for b in range(min(limit, len(texts))):
            ref = int(batch[keys.TARGET_LENGTH][b]) if keys.TARGET_LENGTH in batch else 0
            lines.append(f"{texts[b]}: {int(generated[keys.LENGTHS][b])} frames (reference {ref})")
        return "\n".join(lines)
