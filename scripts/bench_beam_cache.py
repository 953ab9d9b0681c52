"""Beam search with and without the key/value cache: decoded tokens per second.

    python scripts/bench_beam_cache.py --logdir=logs/convergence_transformer_tiny [--sentences 48]

Loads the trained transformer_tiny.py checkpoint in ``--logdir`` and translates test sentences
with the config's beam search, once with the decoder's cache (each step runs one position) and
once with ``use_cache: False`` (each step re-runs the decoder over the whole prefix). Both give
the same outputs (checked); the record has output tokens per second of each and their ratio,
timed in alternating rounds.

The cache's gain grows with the output length (without it, step t costs t positions). The
synthetic corpus's sentences are ~8 tokens, and a model trained on them ends a longer input
after its first sentence, so ``--output_length N`` (default 30) times decoding of N tokens per
sentence: the end-of-sentence token is masked out and every hypothesis runs to
``source length + extra_decode_length`` with ``extra_decode_length`` set to reach a mean of
N. ``--output_length 0`` keeps the model's own ends.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2text/transformer_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_transformer_tiny")
    parser.add_argument("--sentences", type=int, default=48, help="test sentences to translate")
    parser.add_argument("--output_length", type=int, default=30, help="mean decoded tokens (0: the model's own ends)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args, overrides = parser.parse_known_args()

    import numpy as np
    import sentencepiece
    import tensorflow as tf

    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.modes import build_model, restore_for_inference
    from open_s2s.training import checkpoints as ckpt_lib
    from open_s2s.training.runtime import make_runtime

    _, params = resolve_config(args.config_file, "infer", list(overrides))
    sp = sentencepiece.SentencePieceProcessor(model_file=params["data_layer_params"]["sentencepiece_model"])
    lines = open(params["data_layer_params"]["source_file"], encoding="utf-8").read().splitlines()
    joined = lines[: args.sentences]
    sources = [sp.encode(s) for s in joined]
    extra = []
    if args.output_length:  # mean(source + 1 + extra) == output_length
        mean_source = sum(len(s) + 1 for s in sources) / len(sources)
        extra = [f"--decoder_params/extra_decode_length={max(1, round(args.output_length - mean_source))}"]

    models, generate = {}, {}
    for name, cache in (("cached", True), ("uncached", False)):
        model_cls, params = resolve_config(
            args.config_file, "infer", [f"--decoder_params/use_cache={cache}", *extra, *overrides]
        )
        make_runtime(params)
        spec, _ = params["data_layer"].spec_from_params(params["data_layer_params"])
        models[name] = build_model(model_cls, params, spec)
        restore_for_inference(models[name], ckpt_lib.find_checkpoint(args.logdir))
        if args.output_length:
            # an id no logit produces: no hypothesis ends before its maximum length
            models[name].decoder.eos_id = spec.target.vocab_size + 1
        generate[name] = tf.function(models[name].generate, reduce_retracing=True)

    eos = spec.source.eos_id
    batches = []
    for i in range(0, len(sources), args.batch):
        ids = [s + [eos] for s in sources[i : i + args.batch]]
        arr = np.zeros([len(ids), max(map(len, ids))], np.int32)
        for j, row in enumerate(ids):
            arr[j, : len(row)] = row
        batches.append({keys.SOURCE: tf.constant(arr), keys.SOURCE_LENGTH: tf.constant([len(r) for r in ids])})

    outputs = {}
    for name in generate:  # trace, warm up, keep the translations
        outputs[name] = [generate[name](b) for b in batches]
    same = all(
        np.array_equal(a["ids"].numpy(), b["ids"].numpy()) for a, b in zip(outputs["cached"], outputs["uncached"])
    )
    tokens = sum(int(o[keys.LENGTHS].numpy().sum()) for o in outputs["cached"])
    rates = {name: [] for name in generate}
    for _ in range(args.rounds):
        for name, fn in generate.items():
            start = time.perf_counter()
            for b in batches:
                fn(b)[keys.LENGTHS].numpy()
            rates[name].append(tokens / (time.perf_counter() - start))
    record = {
        "logdir": args.logdir,
        "beam_size": params["decoder_params"]["beam_size"],
        "sentences": len(joined),
        "output_length_forced": args.output_length or None,
        "mean_output_tokens": tokens / len(joined),
        "same_translations": bool(same),
        "cached_tokens_per_sec": rates["cached"],
        "uncached_tokens_per_sec": rates["uncached"],
        "speedup_best": max(rates["cached"]) / max(rates["uncached"]),
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
