"""The driver: the only module that knows mode + strategy + precision + logdir.

``python run.py --config_file=CONFIG --mode=MODE [--logdir=DIR] [--key=value ...]``
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import logging
import os
import sys

from open_s2s import quiet
from open_s2s.config.params import ConfigError

log = logging.getLogger("open_s2s")
MODES = ("train", "eval", "train_eval", "infer", "export")

MODE_HELP = """\
modes and the data each reads:
  train       train on the config's train_params data
  eval        loss and metrics of the latest checkpoint on eval_params data (e.g. the dev split)
  train_eval  train, and evaluate on eval_params data every eval_steps
  infer       predictions of the latest checkpoint for infer_params data (e.g. the test split),
              or for --infer_input; with references the metric is printed too
  export      a SavedModel with raw-input signatures (+ TFLite) in --export_dir

Any other --key=value or --a/b=value overrides the config, e.g. --max_steps=100
--encoder_params/dropout_keep_prob=0.9 --data_layer_params/dataset_files=[a.csv,b.csv]"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run.py",
        allow_abbrev=False,
        description="Train, evaluate, infer with or export an open_s2s model from a config file.",
        epilog=MODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config_file", required=True, help="Python config file (required)")
    p.add_argument("--mode", default="train", choices=MODES, help="what to do (default: train; see below)")
    p.add_argument("--logdir", default=None, help="run directory (default: the config's logdir, else logs/<config>)")
    p.add_argument("--continue_learning", action="store_true", help="resume training from the logdir's checkpoint")
    p.add_argument(
        "--infer_input",
        default=None,
        help="--mode=infer: data to predict instead of infer_params' (comma-separated). Speech: CSVs "
        "(wav_filename column; transcript/label optional), JSON-lines manifests, directories, globs or text "
        "files of audio paths; translation and synthesis: a text file, one sentence per line",
    )
    p.add_argument(
        "--infer_output_file",
        default=None,
        help="--mode=infer: output (default: <logdir>/infer.csv; translation infer.txt, synthesis a folder "
        "<logdir>/infer); metrics go to <output>_metrics.json",
    )
    p.add_argument("--export_dir", default=None, help="--mode=export: SavedModel directory (default: <logdir>/export)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="--mode=export: write into a non-empty --export_dir that is not a previous export (its export "
        "files are replaced, other files kept)",
    )
    p.add_argument(
        "--export_tflite",
        default=None,
        help="--mode=export: also write a TFLite model (built-in ops) to this file and to <export_dir>/model.tflite",
    )
    p.add_argument(
        "--save_logits",
        default=None,
        help="--mode=infer: also save CTC log-probs to this .npz (predictions go beside it: <name>_predictions.csv)",
    )
    p.add_argument("--benchmark", action="store_true", help="time training steps, write benchmark.json")
    p.add_argument("--bench_steps", type=int, default=20, help="timed steps for --benchmark (default: 20)")
    p.add_argument("--bench_warmup", type=int, default=5, help="untimed warm-up steps for --benchmark (default: 5)")
    p.add_argument(
        "--enable_logs", action="store_true", help="also write the console log to <logdir>/logs/run.log (verbose)"
    )
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's and other libraries' log lines")
    p.add_argument(
        "--checkpoint", default=None, help="checkpoint for eval/infer/export (default: the latest in the logdir)"
    )
    return p


def _flag_names(parser: argparse.ArgumentParser) -> list[str]:
    return [s[2:] for action in parser._actions for s in action.option_strings if s.startswith("--")]


def _config_keys() -> list[str]:
    from open_s2s.config.schema import BASE_PARAMS  # noqa: PLC0415  (no TensorFlow)

    return list(BASE_PARAMS)


def _misspelt_flag(arg: str, flags: list[str]) -> str | None:
    """The run.py flag ``arg`` was probably meant to be, if it is closer to one than to a config key."""
    key = arg[2:].split("=", 1)[0]
    if "/" in key or key in flags:
        return None
    candidates = flags + _config_keys()
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    return close[0] if close and close[0] in flags else None


def split_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    flags = _flag_names(parser)
    for arg in rest:
        if arg.startswith("--"):
            meant = _misspelt_flag(arg, flags)
            if meant:
                parser.error(f"unrecognized argument {arg.split('=', 1)[0]} (did you mean --{meant}?)")
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
    quiet.quiet_python_logging()


def default_logdir(config_file: str) -> str:
    return os.path.join("logs", os.path.splitext(os.path.basename(config_file))[0])


def check_environment() -> None:
    """A Python without the dependencies fails here, with what to do, not in the config."""
    from open_s2s.config.loader import ENVIRONMENT_HINT, EnvironmentProblem  # noqa: PLC0415

    if importlib.util.find_spec("tensorflow") is None:
        raise EnvironmentProblem(f"this Python ({sys.executable}) has no TensorFlow: {ENVIRONMENT_HINT}")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args, overrides = split_args(sys.argv[1:] if argv is None else argv)
    quiet.set_verbose(args.verbose or args.enable_logs)
    try:
        from open_s2s.config.loader import EnvironmentProblem  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        EnvironmentProblem = ConfigError  # noqa: N806
    try:
        check_environment()
        quiet.import_tensorflow()  # before the config, whose imports load TensorFlow
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
    except EnvironmentProblem as e:
        print(f"environment error: {e}", file=sys.stderr)
        return 2
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
