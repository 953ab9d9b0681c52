"""Issue 16's acceptance figures for a trained speech recognizer: the Python API against --mode=infer.

    python scripts/api_check.py --logdir=logs/convergence_jasper --out=/tmp/api_check

On the test split (``--test_csv``), with the run's latest checkpoint:

1. ``--mode=infer`` (greedy, then with an n-gram LM built from ``--lm_train`` and the README's
   alpha/beta/beam width) writes the reference transcripts;
2. ``open_s2s.load(<logdir>)`` and ``open_s2s.load(<export>)`` (an export made here) transcribe
   the same WAVs, greedy and with the LM: the number of utterances whose transcript differs from
   infer's must be 0 (also recorded: the largest difference between the API's CTC log-probs and
   infer's, ``--save_logits``, over all frames, and the first differing transcripts);
3. the same WAVs converted by sox to 44.1 kHz stereo go through the API (mixed down and resampled
   with soxr): their WER, greedy and with the LM, must be within 1 point of the 16 kHz mono WER.

Nothing is written into ``--logdir``: the files the run needs (config.json, the checkpoint
index and files, best_models/) are copied to ``<out>/logdir`` first and everything reads the
copy; predictions, the LM, the export and the 44.1 kHz copies go to ``--out``. Writes
``<out>/api_check.json`` and prints it; exit 1 if an acceptance bound fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def copy_run(logdir: str, target: str) -> str:
    """Copies what loading a run needs (not its event files, exports or predictions)."""
    os.makedirs(target)
    for name in os.listdir(logdir):
        source = os.path.join(logdir, name)
        if name == "config.json" or name == "checkpoint" or name.startswith("model-"):
            shutil.copy2(source, target)
        elif name == "best_models" and os.path.isdir(source):
            shutil.copytree(source, os.path.join(target, name))
    return target


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def read_predictions(path: str) -> tuple[list[str], list[str], list[str]]:
    """(wav paths, predicted transcripts, references) of an infer CSV."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["wav_filename"] for r in rows], [r["predicted_transcript"] for r in rows], [r["transcript"] for r in rows]


def max_log_prob_diff(model, paths, saved, batch_size) -> float:
    """Largest |API log-prob - infer's saved log-prob| over every frame of every utterance."""
    import numpy as np

    by_path = {os.path.abspath(p): lp for p, lp in zip(saved.names, saved.log_probs)}
    worst = 0.0
    for path, log_probs in zip(paths, model.log_probs(paths, batch_size=batch_size)):
        reference = by_path[os.path.abspath(path)]
        if reference.shape != log_probs.shape:
            return float("inf")
        worst = max(worst, float(np.abs(reference - log_probs).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", required=True, help="a trained run (read only)")
    parser.add_argument("--out", required=True, help="a new directory for everything this writes")
    parser.add_argument("--config_file", default=None, help="default: the run's config.json config_file")
    parser.add_argument("--test_csv", default="data/synth_speech/test.csv")
    parser.add_argument("--lm_train", default="data/synth_speech/train.csv", help="text of the 3-gram LM")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--beta", type=float, default=0.0)
    parser.add_argument("--beam_width", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args(argv)

    import jiwer

    if os.path.exists(args.out) and os.listdir(args.out):
        raise SystemExit(f"--out {args.out} is not empty")
    out = os.path.abspath(args.out)
    with open(os.path.join(args.logdir, "config.json"), encoding="utf-8") as f:
        config_file = args.config_file or json.load(f)["config_file"]
    logdir = copy_run(args.logdir, os.path.join(out, "logdir"))
    start = time.time()
    base = [sys.executable, "run.py", f"--config_file={config_file}", f"--logdir={logdir}"]
    infer = [*base, "--mode=infer", f"--infer_input={os.path.abspath(args.test_csv)}"]
    run([*infer, f"--infer_output_file={out}/greedy.csv"])
    run([*infer, f"--save_logits={out}/test_logits.npz"])  # infer's CTC log-probs, to see how close the API's are
    lm = os.path.join(out, "train_3gram.arpa")
    run([sys.executable, "scripts/build_lm.py", os.path.abspath(args.lm_train), "--order", "3", "--out", lm])
    weights = {"alpha": args.alpha, "beta": args.beta, "beam_width": args.beam_width}
    lm_flags = ["--decoder_params/use_language_model=True", f"--decoder_params/lm_path={lm}"]
    lm_flags += [f"--decoder_params/{k}={v:g}" for k, v in weights.items()]
    run([*infer, *lm_flags, f"--infer_output_file={out}/lm.csv"])
    run([*base, "--mode=export", f"--export_dir={out}/export"])

    paths, greedy, references = read_predictions(os.path.join(out, "greedy.csv"))
    lm_paths, with_lm, _ = read_predictions(os.path.join(out, "lm.csv"))
    assert lm_paths == paths
    folder = os.path.join(out, "wav44k_stereo")
    os.makedirs(folder)
    copies = []
    for i, path in enumerate(paths):
        copies.append(os.path.join(folder, f"{i:05d}.wav"))
        subprocess.run(["sox", path, "-r", "44100", "-c", "2", copies[-1]], check=True)

    import open_s2s
    from open_s2s.decoding.logits_io import load_logits

    saved = load_logits(os.path.join(out, "test_logits.npz"))

    record: dict = {
        "logdir": os.path.abspath(args.logdir),
        "test_csv": os.path.abspath(args.test_csv),
        "utterances": len(paths),
        "lm": {"train": os.path.abspath(args.lm_train), "order": 3, **weights},
        "infer": {"greedy_wer": 100 * jiwer.wer(references, greedy), "lm_wer": 100 * jiwer.wer(references, with_lm)},
    }
    ok = True
    for source, path in (("logdir", logdir), ("export", os.path.join(out, "export"))):
        model = open_s2s.load(path)
        api_greedy = model.transcribe(paths, batch_size=args.batch_size)
        api_lm = model.transcribe(paths, batch_size=args.batch_size, language_model=lm, **weights)
        st_greedy = model.transcribe(copies, batch_size=args.batch_size)
        st_lm = model.transcribe(copies, batch_size=args.batch_size, language_model=lm, **weights)
        figures = {
            "greedy_differs_from_infer": sum(a != b for a, b in zip(api_greedy, greedy)),
            "lm_differs_from_infer": sum(a != b for a, b in zip(api_lm, with_lm)),
            "wer_16k_mono_greedy": 100 * jiwer.wer(references, api_greedy),
            "wer_44k_stereo_greedy": 100 * jiwer.wer(references, st_greedy),
            "wer_16k_mono_lm": 100 * jiwer.wer(references, api_lm),
            "wer_44k_stereo_lm": 100 * jiwer.wer(references, st_lm),
        }
        figures["differing_greedy"] = [[p, a, b] for p, a, b in zip(paths, api_greedy, greedy) if a != b][:10]
        figures["max_abs_log_prob_diff_vs_infer"] = max_log_prob_diff(model, paths, saved, args.batch_size)
        figures["greedy_44k_minus_16k_points"] = figures["wer_44k_stereo_greedy"] - figures["wer_16k_mono_greedy"]
        figures["lm_44k_minus_16k_points"] = figures["wer_44k_stereo_lm"] - figures["wer_16k_mono_lm"]
        ok &= figures["greedy_differs_from_infer"] == 0 and figures["lm_differs_from_infer"] == 0
        ok &= abs(figures["greedy_44k_minus_16k_points"]) <= 1 and abs(figures["lm_44k_minus_16k_points"]) <= 1
        record[f"api_from_{source}"] = figures
    record["acceptance_met"] = bool(ok)
    record["minutes"] = round((time.time() - start) / 60, 1)
    with open(os.path.join(out, "api_check.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
