"""Toolkit overhead: example_configs/jasper.py's training step vs the same network written by hand.

    python scripts/keras_baseline.py --dtype=mixed_bf16 [--steps 30 --rounds 3]

The baseline is what a user would write without open_s2s: stock Keras layers (Conv1D with
"same" padding, BatchNormalization, ReLU, Dropout, 1x1-conv residual projections) in the
layer plan of jasper.py, a float32 Dense output, ``tf.nn.ctc_loss`` with sparse labels (the
fast CPU kernel, as the toolkit uses), the same NovoGrad optimizer, and a plain
``tf.function`` step: tape, loss, gradients, ``optimizer.apply``. No masking of padded
frames, no gradient clipping, no NaN check.

Both are fed the same batches from memory (the toolkit's data layer output, cached), and
timed in alternating rounds in one process, so machine noise hits both alike. Prints a
JSON record: steps/s of each and the ratio toolkit / baseline (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def time_alternating(steps: dict, iterators: dict, rounds: int, steps_per_round: int, warmup: int = 3) -> dict:
    """Rates of compiled training steps ``steps[name](iterators[name])`` (each returns ``loss``
    and optionally ``objects``: tokens, frames), timed in alternating rounds in one process so
    that machine noise hits every one alike. Returns ``{name: {"steps_per_sec": [per round],
    "objects_per_sec": [per round]}}`` (objects only when the steps return them)."""
    rates = {name: {"steps_per_sec": [], "objects_per_sec": []} for name in steps}
    for name, fn in steps.items():  # trace and warm up
        for _ in range(warmup):
            float(fn(iterators[name])["loss"])
    for _ in range(rounds):
        for name, fn in steps.items():
            objects, start = 0.0, time.perf_counter()
            for _ in range(steps_per_round):
                out = fn(iterators[name])
                if "objects" in out:
                    objects += float(out["objects"])
            float(out["loss"])
            elapsed = time.perf_counter() - start
            rates[name]["steps_per_sec"].append(steps_per_round / elapsed)
            if objects:
                rates[name]["objects_per_sec"].append(objects / elapsed)
    return rates


def cached_batches(dataset, n: int):
    """The first ``n`` batches of ``dataset``, repeated from memory.

    One full pass over ``take(n).cache()`` completes the cache; only then do later iterators
    read memory. Reading exactly ``n`` batches from ``take(n).cache().repeat()`` leaves it
    incomplete: every new iterator then ran the whole input pipeline (file reads, features)
    for its first ``n`` batches, in the background of whichever step was being timed.
    """
    cached = dataset.take(n).cache()
    for _ in cached:
        pass
    return cached.repeat()


def ratios(toolkit: list[float], baseline: list[float]) -> dict:
    """``ratio_best`` (best round of each) and ``ratio_per_round`` of toolkit / baseline rates."""
    return {"ratio_best": max(toolkit) / max(baseline), "ratio_per_round": [t / b for t, b in zip(toolkit, baseline)]}


def baseline_model(layer_plan: list[dict], num_features: int, vocab: int, keras):
    """The jasper.py network from stock Keras layers (functional API)."""
    x = inputs = keras.Input([None, num_features])
    for i, spec in enumerate(layer_plan):
        block_in = x
        for j in range(spec.get("repeat", 1)):
            x = keras.layers.Conv1D(
                spec["num_channels"],
                spec["kernel_size"][0],
                strides=spec.get("stride", [1])[0],
                dilation_rate=spec.get("dilation", [1])[0],
                padding="same",
                use_bias=False,
                name=f"b{i}c{j}",
            )(x)
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name=f"b{i}n{j}")(x)
            if spec.get("residual") and j == spec.get("repeat", 1) - 1:
                res = keras.layers.Conv1D(spec["num_channels"], 1, use_bias=False, name=f"b{i}r")(block_in)
                x = x + keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name=f"b{i}rn")(res)
            x = keras.layers.ReLU()(x)
            x = keras.layers.Dropout(1.0 - spec.get("dropout_keep_prob", 0.9))(x)
    logits = keras.layers.Dense(vocab + 1, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/jasper.py")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--steps", type=int, default=30, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--batches", type=int, default=24, help="distinct batches cached in memory")
    args, overrides = parser.parse_known_args()  # extra --key=value: config overrides for the toolkit side

    import keras
    import tensorflow as tf

    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.losses.ctc_loss import dense_to_sparse
    from open_s2s.modes import build_model, make_data_layer
    from open_s2s.optimizers import NovoGrad
    from open_s2s.training.runtime import make_runtime
    from open_s2s.training.trainer import Trainer

    model_cls, params = resolve_config(args.config_file, "train", [f"--dtype={args.dtype}", *overrides])
    runtime = make_runtime(params)
    data_layer = make_data_layer(params, "train")
    dataset = cached_batches(data_layer.build_dataset(), args.batches)  # from here on both read memory

    toolkit_model = build_model(model_cls, params, data_layer.spec)
    trainer = Trainer(toolkit_model, params, runtime, os.path.join(ROOT, "logs", "bench", "overhead"), 10**9)
    toolkit_step = trainer.compiled_step()

    spec = data_layer.spec
    hand = baseline_model(
        params["encoder_params"]["convnet_layers"], spec.source.num_features, spec.target.vocab_size, keras
    )
    opt_params = {k: v for k, v in params["optimizer_params"].items()}
    hand_opt = NovoGrad(
        learning_rate=0.01,
        beta_1=opt_params["beta1"],
        beta_2=opt_params["beta2"],
        weight_decay=opt_params["weight_decay"],
    )

    @tf.function
    def hand_step(iterator):
        batch = next(iterator)
        with tf.GradientTape() as tape:
            logits = hand(batch[keys.SOURCE], training=True)
            frames = tf.shape(logits)[1]
            logit_length = tf.minimum((batch[keys.SOURCE_LENGTH] + 1) // 2, frames)
            loss = tf.reduce_mean(
                tf.nn.ctc_loss(
                    dense_to_sparse(batch[keys.TARGET], batch[keys.TARGET_LENGTH]),
                    logits,
                    None,
                    logit_length,
                    logits_time_major=False,
                    blank_index=-1,
                )
            )
        grads = tape.gradient(loss, hand.trainable_variables)
        hand_opt.apply(grads, hand.trainable_variables)
        return {"loss": loss}

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
        **ratios(rates["toolkit"]["steps_per_sec"], rates["baseline"]["steps_per_sec"]),
        "toolkit_params": int(sum(v.numpy().size for v in toolkit_model.trainable_variables)),
        "baseline_params": int(sum(v.numpy().size for v in hand.trainable_variables)),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
