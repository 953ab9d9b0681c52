"""The command line of ``python -m open_s2s.port OLD.py -o NEW.py`` (see ``open_s2s.port``).

Prints each change with its line in OLD.py, writes NEW.py and validates it for every mode
the config has a section for. Exit codes: 0 ported and valid; 2 refused (one line naming
the class open_s2s does not have) or the ported config does not validate.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_REFUSED = 2


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(
        prog="python -m open_s2s.port", description="Port an OpenSeq2Seq config to open_s2s (docs/porting.md)."
    )
    parser.add_argument("config", help="OpenSeq2Seq config file")
    parser.add_argument("-o", "--output", help="ported config (default: print it)")
    parser.add_argument("--no_validate", action="store_true", help="do not validate the ported config")
    args = parser.parse_args(argv)
    from open_s2s.port import PortRefused, port_source  # noqa: PLC0415  (imports TensorFlow)

    with open(args.config) as f:
        source = f.read()
    try:
        new, changes = port_source(source, args.config)
    except PortRefused as e:
        print(f"port refused: {e}", file=sys.stderr)
        return EXIT_REFUSED
    log = sys.stdout if args.output else sys.stderr
    for change in changes:
        print(f"{args.config}:{change.line}: {change.text}", file=log)
    if not args.output:
        sys.stdout.write(new)
        return 0
    with open(args.output, "w") as f:
        f.write(new)
    print(f"wrote {args.output} ({len(changes)} changes)", file=log)
    if args.no_validate:
        return 0
    return validate(args.output, log)


def validate(path: str, log) -> int:
    """Resolves the ported config for train and each mode it has a section for."""
    from open_s2s.config.loader import MODE_SECTIONS, load_module, resolve_config  # noqa: PLC0415
    from open_s2s.config.params import ConfigError  # noqa: PLC0415

    mode = "train"
    try:
        module = load_module(path)
        modes = ["train"] + [m for m in ("eval", "infer") if hasattr(module, MODE_SECTIONS[m])]
        for mode in modes:
            resolve_config(path, mode)
    except ConfigError as e:
        print(f"{path}: does not validate ({mode}): {e}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{path}: validates ({', '.join(modes)})", file=log)
    return 0
