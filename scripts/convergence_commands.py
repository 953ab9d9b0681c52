"""Convergence run of a keyword spotter: train_eval, infer on the test split, report accuracy.

    python scripts/convergence_commands.py \
        --config_file=example_configs/speech_commands/resnet_v1_12_tiny.py --logdir=logs/convergence_resnet_v1_12

Trains with ``--mode=train_eval`` (validation split), then runs ``--mode=infer`` on the test
split (held-out voices) and writes ``<logdir>/convergence.json``: wall-clock training
minutes, test accuracy, the test confusion matrix, how often ``_unknown_`` and the
command words were confused for one another, and (on the synthetic dataset, which records
its speakers) the errors of each held-out voice. Extra ``--key=value`` arguments go to run.py
as config overrides (e.g. ``--dtype=float32 --max_steps=2000``); ``--launcher`` runs the
training under a launcher, e.g. ``--launcher="horovodrun -np 2 -H localhost:2" --use_horovod=True``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from convergence import train_and_infer  # noqa: E402  (scripts/ is on sys.path)

from open_s2s.data.speech_commands import labels  # noqa: E402


def reference(path: str, names: tuple[str, ...]) -> str:
    """The class a test clip belongs to, from its path (v1-12 rules)."""
    folder = os.path.basename(os.path.dirname(path.split("@")[0]))
    if folder == labels.BACKGROUND_NOISE_DIR:
        return labels.SILENCE
    return folder if folder in names else labels.UNKNOWN


def summarize(predictions: str, label_set: str) -> dict:
    names = labels.labels_for(label_set)
    with open(predictions) as f:
        rows = list(csv.DictReader(f))
    pairs = [(reference(r["wav_filename"], names), r["predicted_label"]) for r in rows]
    confusion = {ref: {hyp: 0 for hyp in names} for ref in names}
    for ref, hyp in pairs:
        confusion[ref][hyp] += 1
    words = [n for n in names if not n.startswith("_")]
    unknown = labels.UNKNOWN if labels.UNKNOWN in names else None
    return {
        "test_accuracy": 100.0 * sum(r == h for r, h in pairs) / len(pairs),
        "test_clips": len(pairs),
        "errors": sum(r != h for r, h in pairs),
        "unknown_predicted_as_word": sum(confusion[unknown][w] for w in words) if unknown else None,
        "word_predicted_as_unknown": sum(confusion[w][unknown] for w in words) if unknown else None,
        "unknown_clips": sum(confusion[unknown].values()) if unknown else None,
        "confusion": confusion,
    }


def errors_by_voice(predictions: str, label_set: str) -> dict | None:
    """Errors per voice, ``{voice: [errors, clips]}``, when the dataset has a ``speakers.csv``.

    Only the synthetic dataset (``open_s2s.data.synth_commands``) has one; the real dataset's
    speaker hashes say nothing about the voice, so this returns None there.
    """
    names = labels.labels_for(label_set)
    with open(predictions) as f:
        rows = list(csv.DictReader(f))
    words = [r for r in rows if "@" not in r["wav_filename"]]
    if not words:
        return None
    root = os.path.dirname(os.path.dirname(words[0]["wav_filename"]))
    speakers_csv = os.path.join(root if os.path.isabs(root) else os.path.join(ROOT, root), "speakers.csv")
    if not os.path.exists(speakers_csv):
        return None
    with open(speakers_csv) as f:
        voice_of = {r["speaker_id"]: r["voice"] for r in csv.DictReader(f)}
    counts: dict[str, list[int]] = {}
    for r in rows:
        path = r["wav_filename"]
        voice = labels.SILENCE if "@" in path else voice_of.get(os.path.basename(path).split("_nohash_")[0], "?")
        count = counts.setdefault(voice, [0, 0])
        count[0] += reference(path, names) != r["predicted_label"]
        count[1] += 1
    return dict(sorted(counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/speech_commands/resnet_v1_12_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_resnet_v1_12_tiny")
    parser.add_argument("--label_set", default="v1-12")
    parser.add_argument("--launcher", default="", help='Training launcher, e.g. "horovodrun -np 2 -H localhost:2".')
    args, overrides = parser.parse_known_args()
    train_minutes, predictions = train_and_infer(args.config_file, args.logdir, overrides, args.launcher)
    with open(os.path.join(args.logdir, "eval_history.json")) as f:
        history = json.load(f)
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "launcher": args.launcher,
        "train_eval_minutes": round(train_minutes, 2),
        **summarize(predictions, args.label_set),
        "errors_by_voice": errors_by_voice(predictions, args.label_set),
        "validation_history": history,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    with open(os.path.join(args.logdir, "convergence.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps({k: v for k, v in record.items() if k != "confusion"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
