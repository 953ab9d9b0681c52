"""Toolkit overhead: transformer_tiny.py's training step vs the same Transformer written by hand.

    python scripts/keras_baseline_transformer.py --dtype=float32 [--steps 20 --rounds 3]
    python scripts/keras_baseline_transformer.py --dtype=mixed_bf16

The baseline is what a user would write without open_s2s: stock Keras layers (Embedding,
``keras.layers.MultiHeadAttention``, LayerNormalization, Dense, Dropout) in the same pre-norm
layout and sizes (d_model, layers, heads, filter size, tied target embedding/projection,
sinusoidal positions), a label-smoothed cross-entropy over the valid target tokens, the same
Adam optimizer and a plain ``tf.function`` step: tape, loss, gradients, ``optimizer.apply``.
No NaN check, no loss scaling bookkeeping.

Both read the same batches from memory (the toolkit's data layer output, cached) and are timed
in alternating rounds in one process. Prints a JSON record: tokens/s (source + target tokens)
of each and the ratio toolkit / baseline (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def baseline_model(vocab: int, d: int, layers: int, heads: int, ff: int, dropout: float, keras, tf):
    """A Transformer from stock Keras layers; ``model(src, src_len, tgt, tgt_len) -> logits``."""

    def positions(length):
        pos = tf.cast(tf.range(length), tf.float32)[:, None]
        inv = tf.exp(tf.range(d // 2, dtype=tf.float32) * -(math.log(1e4) / max(d // 2 - 1, 1)))
        return tf.concat([tf.sin(pos * inv), tf.cos(pos * inv)], axis=1)

    class Block(keras.layers.Layer):
        def __init__(self, cross):
            super().__init__()
            self.norms = [keras.layers.LayerNormalization(epsilon=1e-6) for _ in range(3 if cross else 2)]
            self.attn = keras.layers.MultiHeadAttention(heads, d // heads, dropout=dropout)
            self.cross = keras.layers.MultiHeadAttention(heads, d // heads, dropout=dropout) if cross else None
            self.ff1, self.ff2 = keras.layers.Dense(ff, activation="relu"), keras.layers.Dense(d)
            self.drop = keras.layers.Dropout(dropout)

        def call(self, x, mask, memory=None, memory_mask=None, training=False):
            h = self.norms[0](x)
            x = x + self.drop(self.attn(h, h, attention_mask=mask, training=training), training=training)
            if self.cross is not None:
                h = self.norms[1](x)
                x = x + self.drop(
                    self.cross(h, memory, attention_mask=memory_mask, training=training), training=training
                )
            h = self.norms[-1](x)
            return x + self.drop(self.ff2(self.drop(self.ff1(h), training=training)), training=training)

    class Transformer(keras.Model):
        def __init__(self):
            super().__init__()
            self.src_emb = keras.layers.Embedding(vocab, d)
            self.tgt_emb = keras.layers.Embedding(vocab, d)
            self.enc = [Block(False) for _ in range(layers)]
            self.dec = [Block(True) for _ in range(layers)]
            self.enc_norm, self.dec_norm = (
                keras.layers.LayerNormalization(epsilon=1e-6),
                keras.layers.LayerNormalization(epsilon=1e-6),
            )
            self.drop = keras.layers.Dropout(dropout)

        def call(self, src, src_len, tgt, training=False):
            s, t = tf.shape(src)[1], tf.shape(tgt)[1]
            x = self.src_emb(src) * (d**0.5) + tf.cast(positions(s), self.compute_dtype)
            src_mask = tf.sequence_mask(src_len, s)[:, None, :]
            x = self.drop(x, training=training)
            for block in self.enc:
                x = block(x, src_mask, training=training)
            memory = self.enc_norm(x)
            y = tf.pad(self.tgt_emb(tgt) * (d**0.5), [[0, 0], [1, 0], [0, 0]])[:, :-1]
            y = self.drop(y + tf.cast(positions(t), self.compute_dtype), training=training)
            causal = tf.linalg.band_part(tf.ones([t, t], tf.bool), -1, 0)[None]
            for block in self.dec:
                y = block(y, causal, memory, src_mask, training=training)
            y = self.dec_norm(y)
            # tied projection as Dense applies a kernel: ``tensordot`` folds [batch, time] into one
            # 2-D matmul (``tf.matmul`` of the 3-D ``y`` would broadcast the table into a slower
            # BatchMatMulV2 with a batch sum in its gradient)
            table = tf.cast(self.tgt_emb.embeddings, y.dtype)
            return tf.cast(tf.tensordot(y, table, [[2], [1]]), tf.float32)

    return Transformer()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2text/transformer_tiny.py")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--batches", type=int, default=24, help="distinct batches cached in memory")
    args, overrides = parser.parse_known_args()
    import keras
    import tensorflow as tf
    from keras_baseline import cached_batches, ratios, time_alternating  # this script's folder

    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.modes import build_model, make_data_layer
    from open_s2s.training.runtime import make_runtime
    from open_s2s.training.trainer import Trainer

    model_cls, params = resolve_config(args.config_file, "train", [f"--dtype={args.dtype}", *overrides])
    runtime = make_runtime(params)
    data_layer = make_data_layer(params, "train")
    dataset = cached_batches(data_layer.build_dataset(), args.batches)  # from here on both read memory

    toolkit_model = build_model(model_cls, params, data_layer.spec)
    trainer = Trainer(toolkit_model, params, runtime, os.path.join(ROOT, "logs", "bench", "overhead_t2t"), 10**9)
    toolkit_step = trainer.compiled_step()

    enc = params["encoder_params"]
    vocab = data_layer.spec.target.vocab_size
    hand = baseline_model(
        vocab, enc["hidden_size"], enc["encoder_layers"], enc["num_heads"], enc["filter_size"],
        enc["layer_postprocess_dropout"], keras, tf,
    )  # fmt: skip
    smoothing = params["loss_params"]["label_smoothing"]
    hand_opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.9, beta_2=0.997, epsilon=1e-9)

    @tf.function
    def hand_step(iterator):
        batch = next(iterator)
        with tf.GradientTape() as tape:
            logits = hand(batch[keys.SOURCE], batch[keys.SOURCE_LENGTH], batch[keys.TARGET], training=True)
            labels = tf.one_hot(batch[keys.TARGET], vocab, 1.0 - smoothing, smoothing / (vocab - 1))
            xent = tf.nn.softmax_cross_entropy_with_logits(labels, logits)
            mask = tf.sequence_mask(batch[keys.TARGET_LENGTH], tf.shape(logits)[1], tf.float32)
            loss = tf.reduce_sum(xent * mask) / tf.reduce_sum(mask)
        grads = tape.gradient(loss, hand.trainable_variables)
        hand_opt.apply(grads, hand.trainable_variables)
        return {
            "loss": loss,
            "objects": tf.cast(
                tf.reduce_sum(batch[keys.SOURCE_LENGTH]) + tf.reduce_sum(batch[keys.TARGET_LENGTH]), tf.float32
            ),
        }

    steps = {"toolkit": toolkit_step, "baseline": hand_step}
    rates = time_alternating(steps, {name: iter(dataset) for name in steps}, args.rounds, args.steps)
    tokens = {name: rates[name]["objects_per_sec"] for name in steps}
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "dtype": args.dtype,
        "tokens_per_batch": params["batch_size_per_gpu"],
        "steps_per_round": args.steps,
        "toolkit_tokens_per_sec": tokens["toolkit"],
        "baseline_tokens_per_sec": tokens["baseline"],
        **ratios(tokens["toolkit"], tokens["baseline"]),
        "toolkit_params": int(sum(v.numpy().size for v in toolkit_model.trainable_variables)),
        "baseline_params": int(sum(v.numpy().size for v in hand.trainable_variables)),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
