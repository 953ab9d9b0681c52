"""The driver: the only module that knows mode + strategy + precision + logdir.

``python run.py --config_file=CONFIG --mode=MODE [--logdir=DIR] [--key=value ...]``
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from open_s2s.config.params import ConfigError

log = logging.getLogger("open_s2s")
MODES = ("train", "eval", "train_eval", "infer", "export")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run.py",
        allow_abbrev=False,
        description="Train, evaluate, infer with or export an open_s2s model from a config file.",
        epilog="Any other --key=value or --a/b=value overrides the config, e.g. --max_steps=100 "
        "--encoder_params/dropout_keep_prob=0.9 --data_layer_params/dataset_files=[a.csv,b.csv]",
    )
    p.add_argument("--config_file", required=True, help="Python config file")
    p.add_argument("--mode", default="train", choices=MODES)
    p.add_argument("--logdir", default=None, help="run directory (overrides the config's logdir)")
    p.add_argument("--continue_learning", action="store_true", help="resume training from the logdir")
    p.add_argument("--infer_output_file", default=None, help="CSV written by --mode=infer")
    p.add_argument("--export_dir", default=None, help="SavedModel directory written by --mode=export")
    p.add_argument("--export_tflite", default=None, help="--mode=export: also write a TFLite model (built-in ops) here")
    p.add_argument("--save_logits", default=None, help="--mode=infer: also save CTC log-probs to this .npz")
    p.add_argument("--benchmark", action="store_true", help="time training steps, write benchmark.json")
    p.add_argument("--bench_steps", type=int, default=20, help="timed steps for --benchmark")
    p.add_argument("--bench_warmup", type=int, default=5, help="untimed warm-up steps for --benchmark")
    p.add_argument("--enable_logs", action="store_true", help="also write the console log to <logdir>/logs")
    p.add_argument("--checkpoint", default=None, help="checkpoint for eval/infer/export (default: latest)")
    return p


def split_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    bad = [a for a in rest if not a.startswith("--") or "=" not in a]
    if bad:
        parser.error(f"unrecognized arguments: {' '.join(bad)} (overrides look like --key=value)")
    return args, rest


def setup_logging(logdir: str | None, enable_logs: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logdir and enable_logs:
        os.makedirs(os.path.join(logdir, "logs"), exist_ok=True)
        handlers.append(logging.FileHandler(os.path.join(logdir, "logs", "run.log")))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True
    )


def default_logdir(config_file: str) -> str:
    return os.path.join("logs", os.path.splitext(os.path.basename(config_file))[0])


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args, overrides = split_args(sys.argv[1:] if argv is None else argv)
    try:
        from open_s2s.config.loader import resolve_config  # noqa: PLC0415

        modes = ("train", "eval") if args.mode == "train_eval" else (args.mode,)
        resolved = {m: resolve_config(args.config_file, m, overrides) for m in modes}
        model_cls, params = resolved[modes[0]]
        logdir = args.logdir or params["logdir"] or default_logdir(args.config_file)
        for _, mode_params in resolved.values():
            mode_params["logdir"] = logdir  # so config.json records the directory actually used
        setup_logging(logdir, args.enable_logs)
        from open_s2s import modes as run_modes  # noqa: PLC0415  (imports TensorFlow)

        return run_modes.dispatch(args, logdir, model_cls, resolved)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except _data_errors() as e:
        print(f"data error: {e}", file=sys.stderr)
        return 3


def _data_errors() -> tuple[type, ...]:
    try:
        from open_s2s.data.audio import DataError  # noqa: PLC0415

        return (DataError,)
    except ImportError:  # pragma: no cover
        return ()
