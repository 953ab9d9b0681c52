"""Exported keyword spotter vs in-process inference on a whole split.

    python run.py --config_file=example_configs/speech_commands/jasper_v1_12_tiny.py --mode=export
    python scripts/commands_export_parity.py --config_file=example_configs/speech_commands/jasper_v1_12_tiny.py

Restores the newest checkpoint of the config's logdir (or ``--logdir``), computes the class
probabilities in process (the data layer's eval features, as ``--mode=infer`` does) in
float32, the precision of both exports (a model trained under a mixed policy is exported
as its float32 twin; ``--mode=infer`` under the config's mixed dtype can differ from it on
borderline clips), then
runs the exported SavedModel on the raw audio (one padded batch) and the TFLite model on
each 1 s clip, and reports how many labels agree and the largest probability difference.
Writes ``<logdir>/export_parity.json``; exit status 1 if any label differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def in_process(config: str, logdir: str, split: str = "test"):
    """(data layer, probabilities ``[clips, classes]`` by example index) of the restored model."""
    from open_s2s import modes
    from open_s2s.config.loader import resolve_config
    from open_s2s.data import keys
    from open_s2s.training import checkpoints as ckpt_lib

    model_cls, params = resolve_config(config, "infer", [f"--data_layer_params/split={split}"])
    dl = modes.make_data_layer(params, "infer")
    model = modes.build_model(model_cls, params, dl.spec)
    ckpt_lib.restore(ckpt_lib.make_checkpoint(model, None), ckpt_lib.find_checkpoint(logdir), model_only=True)
    probs = np.zeros([dl.num_samples, dl.spec.target.vocab_size], np.float32)
    for batch in dl.build_dataset():
        probs[batch[keys.INDEX].numpy()] = model.generate(batch)["probabilities"].numpy()
    return dl, probs


def raw_clips(dl) -> list[np.ndarray]:
    """The split as raw audio: each file, or the noise excerpt of a silence clip."""
    import soundfile

    clip = dl.clip_samples
    clips = []
    for e in dl.examples:
        audio, _ = soundfile.read(e.path, dtype="float32")
        clips.append(audio if e.noise_index < 0 else audio[e.offset : e.offset + clip] * np.float32(e.gain))
    return clips


def saved_model_outputs(export_dir: str, clips: list[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """(probabilities, labels) of the SavedModel on all clips as one zero-padded batch."""
    import tensorflow as tf

    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    padded = np.zeros([len(clips), max(len(c) for c in clips)], np.float32)
    for i, c in enumerate(clips):
        padded[i, : len(c)] = c
    out = serve(audio=tf.constant(padded), audio_length=tf.constant([len(c) for c in clips], tf.int32))
    return out["probabilities"].numpy(), [s.decode() for s in out["label"].numpy()]


def tflite_outputs(path: str, clips: list[np.ndarray], clip_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, class ids) of the TFLite model, one fitted 1 s clip at a time."""
    import tensorflow as tf

    from open_s2s.data.speech_commands.speech_commands_data_layer import fit_clip

    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = interpreter.get_output_details()  # frozen graphs name outputs Identity*: pick by dtype
    prob_index = next(d["index"] for d in outputs if d["dtype"] == np.float32)
    label_index = next(d["index"] for d in outputs if d["dtype"] == np.int32)
    probs, ids = [], []
    for c in clips:
        interpreter.set_tensor(inp["index"], fit_clip(c[None], [len(c)], clip_samples).numpy())
        interpreter.invoke()
        probs.append(interpreter.get_tensor(prob_index)[0].copy())
        ids.append(int(interpreter.get_tensor(label_index)[0]))
    return np.stack(probs), np.array(ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", required=True)
    parser.add_argument("--logdir", help="Trained run (default: the config's logdir).")
    parser.add_argument("--export_dir", help="SavedModel directory (default: <logdir>/export).")
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)

    from open_s2s.config.loader import resolve_config

    logdir = args.logdir or resolve_config(args.config_file, "infer")[1]["logdir"]
    export_dir = args.export_dir or os.path.join(logdir, "export")
    dl, expected = in_process(args.config_file, logdir, args.split)
    names = list(dl.spec.target.vocab)
    reference = expected.argmax(axis=1)
    clips = raw_clips(dl)
    sm_probs, sm_labels = saved_model_outputs(export_dir, clips)
    tfl_probs, tfl_ids = tflite_outputs(os.path.join(export_dir, "model.tflite"), clips, dl.clip_samples)
    report = {
        "config_file": args.config_file,
        "split": args.split,
        "clips": len(clips),
        "in_process_accuracy": 100.0 * float(np.mean(reference == [e.label for e in dl.examples])),
        "saved_model_labels_equal": int(sum(a == names[b] for a, b in zip(sm_labels, reference))),
        "saved_model_max_prob_diff": float(np.abs(sm_probs - expected).max()),
        "tflite_labels_equal": int(np.sum(tfl_ids == reference)),
        "tflite_max_prob_diff": float(np.abs(tfl_probs - expected).max()),
    }
    with open(os.path.join(logdir, "export_parity.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    same = report["saved_model_labels_equal"] == report["tflite_labels_equal"] == len(clips)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
