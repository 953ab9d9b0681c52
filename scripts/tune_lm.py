"""Grid-searches the LM weight alpha and word bonus beta of CTC beam search on saved dev logits.

    python run.py --config_file=example_configs/jasper.py --mode=infer \\
        --data_layer_params/dataset_files=[data/synth_speech/dev.csv] --save_logits=logs/jasper/dev_logits.npz
    python scripts/tune_lm.py logs/jasper/dev_logits.npz --lm logs/lm/train_3gram.arpa \\
        --alphas 0:2:0.25 --betas 0:3:0.5

Prints the WER of every point, the best one, and the exact ``run.py`` command that decodes
the run's infer data (e.g. the test split) with it, writing ``<logdir>/infer_lm.csv``; with
--out writes them as JSON. The best point is ``decoder_params: {use_language_model: True,
lm_path, alpha, beta, beam_width}`` in a config. Tune on a dev set, never on the test set you report.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder  # noqa: E402
from open_s2s.decoding.lm_tuning import corpus_wer, grid_search, parse_range  # noqa: E402
from open_s2s.decoding.logits_io import load_logits  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logits", help=".npz written by --mode=infer --save_logits")
    parser.add_argument("--lm", required=True, help="ARPA or kenlm binary LM")
    parser.add_argument("--alphas", default="0:2:0.25", help="start:stop:step (inclusive) or a,b,c")
    parser.add_argument("--betas", default="0:3:0.5", help="start:stop:step (inclusive) or a,b,c")
    parser.add_argument("--beam_width", type=int, default=64)
    parser.add_argument("--out", default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    saved = load_logits(args.logits)
    if not any(saved.references):
        raise SystemExit(f"{args.logits}: no reference transcripts (save logits of a set with transcripts)")
    greedy = corpus_wer(saved.references, [_greedy(lp, saved.vocab) for lp in saved.log_probs])
    decoder = CTCBeamSearchDecoder(saved.vocab, args.lm, beam_width=args.beam_width)
    start = time.time()
    best, points = grid_search(
        decoder, saved.log_probs, saved.references, parse_range(args.alphas), parse_range(args.betas)
    )
    for p in points:
        print(f"alpha {p.alpha:6.3f}  beta {p.beta:6.3f}  WER {p.wer:6.2f}")
    print(
        f"greedy WER {greedy:.2f}; best: alpha {best.alpha} beta {best.beta} WER {best.wer:.2f} "
        f"({len(points)} points, {time.time() - start:.0f} s)"
    )
    command = decode_command(saved.config_file, saved.logdir, args.lm, best.alpha, best.beta, args.beam_width)
    print("decode with the best weights:\n" + command)
    if args.out:
        record = {
            "logits": args.logits,
            "lm": args.lm,
            "beam_width": args.beam_width,
            "greedy_wer": greedy,
            "best": vars(best),
            "command": command,
            "points": [vars(p) for p in points],
        }
        with open(args.out, "w") as f:
            json.dump(record, f, indent=2)
    return 0


def decode_command(config_file: str, logdir: str, lm: str, alpha: float, beta: float, beam_width: int) -> str:
    """The run.py command that decodes the run's infer data with the LM at these weights."""
    args = [
        "python",
        "run.py",
        f"--config_file={config_file or '<your config>'}",
        "--mode=infer",
        *([f"--logdir={logdir}"] if logdir else []),
        "--decoder_params/use_language_model=True",
        f"--decoder_params/lm_path={lm}",
        f"--decoder_params/alpha={alpha:g}",
        f"--decoder_params/beta={beta:g}",
        f"--decoder_params/beam_width={beam_width}",
        f"--infer_output_file={os.path.join(logdir, 'infer_lm.csv') if logdir else 'infer_lm.csv'}",
    ]
    return " ".join(shlex.quote(a) for a in args)


def _greedy(log_probs, vocab) -> str:
    """Best-path transcript (argmax, merge repeats, drop the blank, which is the last class)."""
    best = log_probs.argmax(axis=-1)
    keep = [int(c) for i, c in enumerate(best) if c != len(vocab) and (i == 0 or c != best[i - 1])]
    return "".join(vocab[c] for c in keep)


if __name__ == "__main__":
    sys.exit(main())
