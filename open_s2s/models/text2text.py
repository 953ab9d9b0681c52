"""Text2Text: machine translation (Transformer); BLEU of generated text with SacreBLEU."""

from __future__ import annotations

import csv
import logging
import math
import os
from typing import Any

import sacrebleu
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.text2text.postprocess import detokenize
from open_s2s.models.model import EncoderDecoderModel

log = logging.getLogger("open_s2s")


class Text2Text(EncoderDecoderModel):
    """Translation: source token ids in, target token ids out.

    Eval scores what ``generate`` produces (beam or greedy search, as at inference): corpus
    BLEU of the detokenized hypotheses against the reference text with SacreBLEU (its
    signature is logged). The teacher-forced pass gives the loss and, labelled as such,
    token accuracy and perplexity (no label smoothing) of the reference under the model.

    Eval records are ``(index, reference, hypothesis, correct tokens, tokens, summed NLL)``.
    """

    PRIMARY_METRIC = ("BLEU", False)
    OBJECTS_UNIT = "tokens"
    infer_header = ("source", "translation")
    INFER_FILE = "infer.txt"

    # ------------------------------------------------------------------ graph side

    def evaluate_batch(self, batch):
        encoded = self.encode(batch, training=False)
        outputs = self._decode_teacher_forced(encoded, batch, training=False)
        generated = dict(self.generate_from_encoded(encoded))
        logits = tf.cast(outputs[keys.LOGITS], tf.float32)
        labels = tf.cast(batch[keys.TARGET], tf.int32)
        mask = tf.sequence_mask(batch[keys.TARGET_LENGTH], tf.shape(labels)[1], tf.float32)
        hit = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        generated["tf_correct"] = tf.reduce_sum(hit * mask, axis=1)
        generated["tf_tokens"] = tf.reduce_sum(mask, axis=1)
        generated["tf_nll"] = tf.reduce_sum(nll * mask, axis=1)
        return self.compute_loss_value(outputs, batch), generated

    def loss_weight(self, batch):
        """The loss is a mean over valid target tokens."""
        return tf.cast(tf.reduce_sum(batch[keys.TARGET_LENGTH]), tf.float32)

    def objects_in_batch(self, batch):
        """Source and target tokens in the batch (throughput is tokens per second)."""
        total = tf.reduce_sum(batch[keys.SOURCE_LENGTH])
        if keys.TARGET_LENGTH in batch:
            total += tf.reduce_sum(batch[keys.TARGET_LENGTH])
        return tf.cast(total, tf.float32)

    # ------------------------------------------------------------------ text

    def hypotheses(self, generated) -> list[str]:
        ids, lengths = generated["ids"], generated[keys.LENGTHS]
        return [detokenize(ids[b, : int(lengths[b])], self.data_spec.target) for b in range(len(lengths))]

    def references(self, batch) -> list[str]:
        if keys.TARGET_TEXT in batch:  # the raw reference lines, as BLEU wants them
            return [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in batch[keys.TARGET_TEXT]]
        tgt, lengths = batch[keys.TARGET], batch[keys.TARGET_LENGTH]
        return [detokenize(tgt[b, : int(lengths[b])], self.data_spec.target) for b in range(len(lengths))]

    def sources(self, batch) -> list[str]:
        src, lengths = batch[keys.SOURCE], batch[keys.SOURCE_LENGTH]
        return [detokenize(src[b, : int(lengths[b])], self.data_spec.source) for b in range(len(lengths))]

    # ------------------------------------------------------------------ eval

    def eval_batch(self, batch, generated):
        return list(
            zip(
                batch[keys.INDEX].tolist(),
                self.references(batch),
                self.hypotheses(generated),
                generated["tf_correct"].tolist(),
                generated["tf_tokens"].tolist(),
                generated["tf_nll"].tolist(),
            )
        )

    def finalize_eval(self, records):
        if not records:
            return {"BLEU": float("nan"), "num_sentences": 0}
        records = sorted(records, key=lambda r: r[0])
        metrics = bleu([r[1] for r in records], [r[2] for r in records])
        tokens = sum(r[4] for r in records)
        metrics["teacher_forced_accuracy"] = 100.0 * sum(r[3] for r in records) / max(tokens, 1)
        metrics["teacher_forced_perplexity"] = math.exp(sum(r[5] for r in records) / max(tokens, 1))
        return metrics

    def eval_text(self, records) -> str:
        return "\n\n".join(f"REF: {r[1]}\nHYP: {r[2]}" for r in sorted(records, key=lambda r: r[0])[:3])

    def sample_text(self, batch, generated, limit=3):
        rows = zip(self.sources(batch), self.references(batch), self.hypotheses(generated))
        return "\n\n".join(f"SRC: {s}\nREF: {r}\nHYP: {h}" for s, r, h in list(rows)[:limit])

    # ------------------------------------------------------------------ infer

    def infer_batch(self, batch, generated):
        return [(int(i), h) for i, h in zip(batch[keys.INDEX].tolist(), self.hypotheses(generated))]

    def write_inference(self, path, names, rows, references=None):
        """One translation per input line (``.csv``: source and translation columns, and the
        reference with ``references``)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            if path.endswith(".csv"):
                writer = csv.writer(f)
                refs = references is not None
                writer.writerow(self.infer_header + (("reference",) if refs else ()))
                writer.writerows([names[i], text] + ([references[i] or ""] if refs else []) for i, text in rows)
            else:
                f.writelines(text.replace("\n", " ") + "\n" for _, text in rows)
        os.replace(tmp, path)
        return f"wrote {len(rows)} translations to {path}"

    def score_inference(self, data_layer, rows):
        """BLEU of infer output when the data layer has reference translations."""
        refs = [data_layer.target_text(i) for i, _ in rows] if hasattr(data_layer, "target_text") else []
        if not refs or any(r is None for r in refs):
            return {}
        return bleu(refs, [h for _, h in rows])

    def serving_module(self, serving_params):
        from open_s2s.export.text2text import Text2TextServing  # noqa: PLC0415

        return Text2TextServing(self, serving_params)


def bleu(references: list[str], hypotheses: list[str]) -> dict[str, Any]:
    """Corpus BLEU (SacreBLEU defaults: 13a tokenization, exp smoothing) and its signature."""
    metric = sacrebleu.BLEU()
    score = metric.corpus_score(hypotheses, [references])
    log.info("SacreBLEU %s: %s", metric.get_signature(), score)
    return {"BLEU": score.score, "num_sentences": len(references)}
