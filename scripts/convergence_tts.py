"""Speech-synthesis convergence run: train tacotron_tiny.py on data/synth_tts, judge the test split.

    python -m open_s2s.data.synth_tts --out data/synth_tts     # once
    python scripts/convergence_tts.py --logdir=logs/convergence_tacotron_tiny [--dtype=mixed_bf16 ...]

Trains with train_eval, synthesizes the held-out test sentences free-running with --mode=infer
(WAV files), and in the same run has one independent judge (pocketsphinx with a domain 3-gram
LM built from the training sentences and the CMU dictionary) transcribe three versions of every
test sentence: the synthesized speech, Griffin-Lim of the ground-truth mels (the vocoder's
ceiling, with the config's feature and Griffin-Lim settings) and the original recordings.
Writes <logdir>/convergence.json: training minutes, the three judge WERs, the share of
sentences whose generated length is within 0.8-1.25 of the reference frames, and the
sentences that hit the length limit. Extra --key=value arguments are config overrides.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from convergence import ROOT, train_and_infer  # noqa: E402


def reference_frames(config_file: str, overrides: list[str]) -> dict[int, int]:
    """Frames (EOS frame included) of each test sentence under the config's features, by line."""
    from open_s2s.config.loader import resolve_config  # noqa: PLC0415
    from open_s2s.data import keys  # noqa: PLC0415
    from open_s2s.modes import make_data_layer  # noqa: PLC0415

    _, params = resolve_config(config_file, "infer", overrides)
    data_layer = make_data_layer(params, "eval")
    frames = {}
    for batch in data_layer.build_dataset():
        for index, n in zip(batch[keys.INDEX].numpy(), batch[keys.TARGET_LENGTH].numpy()):
            frames[int(index)] = int(n)
    return frames, params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2speech/tacotron_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_tacotron_tiny")
    parser.add_argument("--launcher", default="", help='Training launcher, e.g. "horovodrun -np 2 -H localhost:2".')
    parser.add_argument("--skip_training", action="store_true", help="judge the checkpoint already in --logdir")
    args, overrides = parser.parse_known_args()
    if args.skip_training:
        from convergence import run  # noqa: PLC0415

        predictions = os.path.join(args.logdir, "test_predictions.csv")
        base = [sys.executable, "run.py", f"--config_file={args.config_file}", f"--logdir={args.logdir}", *overrides]
        run(base + ["--mode=infer", f"--infer_output_file={predictions}"])
        train_minutes = None
    else:
        train_minutes, predictions = train_and_infer(args.config_file, args.logdir, overrides, args.launcher)
    wav_dir = predictions[:-4]
    with open(os.path.join(wav_dir, "index.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    from open_s2s.decoding.intelligibility import Judge, _griffin_lim_audio, word_error_rate  # noqa: PLC0415

    single = [o for o in overrides if not o.startswith("--use_horovod")]
    ref_frames, params = reference_frames(args.config_file, single)
    dl = params["data_layer_params"]
    lm_text = (
        params["judge"]["lm_text"]
        if params.get("judge")
        else os.path.join(dl["dataset_location"], "metadata_train.csv")
    )
    judge = Judge(lm_text=lm_text)
    texts = [r["text"] for r in rows]
    start = time.time()
    synthesized = [judge.transcribe_file(os.path.join(wav_dir, r["wav_file"])) for r in rows]
    from open_s2s.data.text2speech.metadata import read_metadata  # noqa: PLC0415

    lines = [line for path in dl["dataset_files"] for line in read_metadata(path, allow_plain=False)]
    recordings = [os.path.join(dl["dataset_location"], "wavs", f"{line.name}.wav") for line in lines]
    recorded = [judge.transcribe_file(p) for p in recordings]
    settings = SimpleNamespace(
        n_fft=dl["n_fft"], win_length=dl["win_length"], hop_length=dl["hop_length"], num_mel=dl["num_audio_features"],
        mag_power=float(dl["mag_power"]), mel_type=dl["mel_type"], data_min=dl["data_min"], trim=dl["trim"],
        gl_iters=params["griffin_lim"]["n_iter"], gl_power=params["griffin_lim"]["power"],
        gl_momentum=params["griffin_lim"].get("momentum", 0.99),
    )  # fmt: skip
    ceiling = [judge.transcribe(a) for a in _griffin_lim_audio(recordings, settings)]
    ratios = [int(r["frames"]) / ref_frames[i] for i, r in enumerate(rows)]
    within = sum(0.8 <= x <= 1.25 for x in ratios) / len(ratios)
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "launcher": args.launcher,
        "train_eval_minutes": None if train_minutes is None else round(train_minutes, 2),
        "test_sentences": len(rows),
        "judge_WER_synthesized": 100.0 * word_error_rate(texts, synthesized),
        "judge_WER_griffin_lim_of_ground_truth": 100.0 * word_error_rate(texts, ceiling),
        "judge_WER_recordings": 100.0 * word_error_rate(texts, recorded),
        "length_ratio_within_0.8_1.25_percent": 100.0 * within,
        "length_ratio_min_max": [min(ratios), max(ratios)],
        "hit_max_length": sum(r["hit_max_length"] == "True" for r in rows),
        "judge_minutes": round((time.time() - start) / 60, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "examples": [{"text": t, "judge": h} for t, h in list(zip(texts, synthesized))[:5]],
    }
    with open(os.path.join(args.logdir, "convergence.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
