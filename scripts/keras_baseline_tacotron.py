"""Toolkit overhead: tacotron_tiny.py's training step vs a Tacotron-like step written by hand.

    python scripts/keras_baseline_tacotron.py --dtype=float32 [--steps 10 --rounds 3]
    python scripts/keras_baseline_tacotron.py --dtype=mixed_bf16

The baseline is what a user would write with stock Keras 3 and TensorFlow, same sizes as the
config: Embedding, Conv1D + BatchNormalization + ReLU + Dropout stack, Bidirectional LSTM; a
decoder loop in ``tf.while_loop`` over ``keras.layers.LSTMCell``s with a Dense prenet and
location-sensitive attention (Conv1D on the cumulative weights, Dense projections, softmax),
Dense frame and stop projections, a Conv1D + BatchNormalization + tanh postnet; MSE on the
frames before and after the postnet, sigmoid cross-entropy on the stop tokens, the same Adam,
and a plain ``tf.function`` step (no masking of padded frames in the convolutions or batch
norm, no guided attention, no clipping, no NaN check).

Both read the same batches from memory (the toolkit's data layer output, cached) and are timed
in alternating rounds in one process. Prints a JSON record: steps/s and target frames/s of each
and the ratio toolkit / baseline (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def baseline_model(p_enc, p_dec, vocab: int, mel: int, keras, tf):
    """A Tacotron-like model from stock Keras layers; ``model(batch) -> (frames, post, stop)``."""
    r, units = p_dec["reduction_factor"], p_dec["decoder_cell_units"]

    class Baseline(keras.Model):
        def __init__(self):
            super().__init__()
            self.emb = keras.layers.Embedding(vocab, p_enc["src_emb_size"])
            self.convs = [
                (keras.layers.Conv1D(c["num_channels"], c["kernel_size"][0], padding="same", use_bias=False),
                 keras.layers.BatchNormalization())
                for c in p_enc["conv_layers"]
            ]  # fmt: skip
            self.enc_drop = keras.layers.Dropout(p_enc["cnn_dropout_prob"])
            self.bilstm = keras.layers.Bidirectional(keras.layers.LSTM(p_enc["rnn_cell_dim"], return_sequences=True))
            self.prenet = [
                keras.layers.Dense(p_dec["prenet_units"], activation="relu") for _ in range(p_dec["prenet_layers"])
            ]
            self.pre_drop = keras.layers.Dropout(p_dec["prenet_dropout"])
            self.cells = [keras.layers.LSTMCell(units) for _ in range(p_dec["decoder_layers"])]
            a = p_dec["attention_layer_size"]
            self.mem = keras.layers.Dense(a, use_bias=False)
            self.query = keras.layers.Dense(a, use_bias=False)
            self.loc_conv = keras.layers.Conv1D(
                p_dec["attention_location_filters"], p_dec["attention_location_kernel"], padding="same", use_bias=False
            )
            self.loc = keras.layers.Dense(a, use_bias=False)
            self.v = keras.layers.Dense(1)
            self.frame = keras.layers.Dense(r * mel)
            self.stop = keras.layers.Dense(1)
            self.post = []
            for c in p_dec["postnet_conv_layers"]:
                ch = mel if c["num_channels"] == -1 else c["num_channels"]
                self.post.append((keras.layers.Conv1D(ch, c["kernel_size"][0], padding="same", use_bias=False),
                                  keras.layers.BatchNormalization(), c.get("activation_fn")))  # fmt: skip
            self.post_drop = keras.layers.Dropout(1.0 - p_dec["postnet_keep_dropout_prob"])

        def call(self, text, text_len, target, training=False):
            x = self.emb(text)
            for conv, bn in self.convs:
                x = self.enc_drop(tf.nn.relu(bn(conv(x), training=training)), training=training)
            mask = tf.sequence_mask(text_len, tf.shape(text)[1])
            memory = self.bilstm(x, mask=mask, training=training)
            processed = self.mem(memory)
            batch, time_ = tf.shape(target)[0], tf.shape(target)[1]
            steps = time_ // r
            grouped = tf.reshape(target[:, : steps * r], [batch, steps, r * mel])
            previous = tf.pad(grouped[:, :-1, -mel:], [[0, 0], [1, 0], [0, 0]])
            pre = previous
            for dense in self.prenet:
                pre = self.pre_drop(dense(pre), training=True)
            dim = memory.shape[-1]

            def body(i, states, context, cumulative, frames_ta, stops_ta):
                h, states0 = self.cells[0](tf.concat([pre[:, i], context], -1), states[0], training=training)
                loc = self.loc(self.loc_conv(cumulative[:, :, None]))
                e = self.v(tf.tanh(self.query(h)[:, None] + processed + loc))[:, :, 0]
                w = tf.nn.softmax(tf.where(mask, tf.cast(e, tf.float32), -1e9))
                context = tf.einsum("bl,bld->bd", tf.cast(w, memory.dtype), memory)
                new_states = [states0]
                out = h
                for cell, st in zip(self.cells[1:], states[1:]):
                    out, st = cell(tf.concat([out, context], -1), st, training=training)
                    new_states.append(st)
                both = tf.concat([out, context], -1)
                return (i + 1, new_states, context, cumulative + w,
                        frames_ta.write(i, self.frame(both)), stops_ta.write(i, self.stop(both)[:, 0]))  # fmt: skip

            zeros = lambda n: tf.zeros([batch, n], self.compute_dtype)  # noqa: E731
            arrays = [tf.TensorArray(self.compute_dtype, size=steps) for _ in range(2)]
            states = [[zeros(units), zeros(units)] for _ in self.cells]
            init = (0, states, zeros(dim), tf.zeros(tf.shape(memory)[:2]), *arrays)
            _, _, _, _, frames_ta, stops_ta = tf.while_loop(lambda i, *_: i < steps, body, init)
            frames = tf.reshape(tf.transpose(frames_ta.stack(), [1, 0, 2]), [batch, steps * r, mel])
            post = frames
            for conv, bn, act in self.post:
                post = bn(conv(post), training=training)
                post = self.post_drop(tf.tanh(post) if act == "tanh" else post, training=training)
            return (
                tf.cast(frames, tf.float32),
                tf.cast(frames + post, tf.float32),
                tf.cast(tf.transpose(stops_ta.stack()), tf.float32),
            )

    return Baseline()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2speech/tacotron_tiny.py")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--batches", type=int, default=12, help="distinct batches cached in memory")
    args, overrides = parser.parse_known_args()
    import keras
    import tensorflow as tf
    from keras_baseline import cached_batches, ratios, time_alternating  # this script's folder

    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.modes import build_model, make_data_layer
    from open_s2s.training.runtime import make_runtime
    from open_s2s.training.trainer import Trainer

    model_cls, params = resolve_config(
        args.config_file, "train", [f"--dtype={args.dtype}", "--data_layer_params/use_cache=False", *overrides]
    )
    runtime = make_runtime(params)
    data_layer = make_data_layer(params, "train")
    dataset = cached_batches(data_layer.build_dataset(), args.batches)  # from here on both read memory

    toolkit_model = build_model(model_cls, params, data_layer.spec)
    trainer = Trainer(toolkit_model, params, runtime, os.path.join(ROOT, "logs", "bench", "overhead_tts"), 10**9)
    toolkit_step = trainer.compiled_step()

    mel = data_layer.spec.target.num_features
    hand = baseline_model(
        params["encoder_params"], params["decoder_params"], data_layer.spec.source.vocab_size, mel, keras, tf
    )
    hand_opt = keras.optimizers.Adam(learning_rate=1e-3)

    @tf.function
    def hand_step(iterator):
        batch = next(iterator)
        with tf.GradientTape() as tape:
            frames, post, stop = hand(batch[keys.SOURCE], batch[keys.SOURCE_LENGTH], batch[keys.TARGET], training=True)
            t = tf.shape(frames)[1]
            target = batch[keys.TARGET][:, :t]
            mask = tf.sequence_mask(batch[keys.TARGET_LENGTH], t, tf.float32)[:, :, None]
            mse = lambda p: tf.reduce_sum(tf.square(p - target) * mask) / (tf.reduce_sum(mask) * mel)  # noqa: E731
            steps = tf.shape(stop)[1]
            r = t // steps
            labels = tf.cast(tf.range(steps)[None] >= (batch[keys.TARGET_LENGTH][:, None] + r - 1) // r - 1, tf.float32)
            loss = mse(frames) + mse(post) + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, stop))
        grads = tape.gradient(loss, hand.trainable_variables)
        hand_opt.apply(grads, hand.trainable_variables)
        return {"loss": loss, "objects": tf.cast(tf.reduce_sum(batch[keys.TARGET_LENGTH]), tf.float32)}

    steps = {"toolkit": toolkit_step, "baseline": hand_step}
    rates = time_alternating(steps, {name: iter(dataset) for name in steps}, args.rounds, args.steps)
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "dtype": args.dtype,
        "batch_size": params["batch_size_per_gpu"],
        "steps_per_round": args.steps,
        "toolkit_steps_per_sec": rates["toolkit"]["steps_per_sec"],
        "baseline_steps_per_sec": rates["baseline"]["steps_per_sec"],
        "toolkit_frames_per_sec": rates["toolkit"]["objects_per_sec"],
        "baseline_frames_per_sec": rates["baseline"]["objects_per_sec"],
        **ratios(rates["toolkit"]["steps_per_sec"], rates["baseline"]["steps_per_sec"]),
        "toolkit_params": int(sum(v.numpy().size for v in toolkit_model.trainable_variables)),
        "baseline_params": int(sum(v.numpy().size for v in hand.trainable_variables)),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
