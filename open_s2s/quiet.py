"""Keeping the console to what a user can act on (no TensorFlow import here).

Three kinds of noise reach a terminal from the libraries under open_s2s:

* C++ log lines written straight to file descriptor 2 before or outside Python logging:
  TensorFlow's ``Unable to register cuFFT/cuDNN/cuBLAS factory`` (logged at ERROR level
  when ``import tensorflow`` loads its CUDA plugins twice, so ``TF_CPP_MIN_LOG_LEVEL=2``
  does not hide them and ``3`` would hide every real C++ error too), absl's
  ``All log messages before absl::InitializeLog()`` and the TFLite converter's ``Ignored
  output_format``, and kenlm's ``Loading the LM will be faster...`` advice and its
  ``----5---10`` progress bar. ``filtered_stderr`` captures fd 2 around the call that
  prints them and replays every other line, so real errors still show.
* TensorFlow's Python INFO records (``Assets written to``, ``Sharding callback duration``
  of every checkpoint save, renamed signature inputs): ``quiet_python_logging``.
* Progress bars, which stay (with totals).

``--verbose`` (or ``--enable_logs``) turns the filters off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator

# Lines that say nothing a user can act on; matched anywhere in the line.
NOISE_PATTERNS: tuple[str, ...] = (
    r"Unable to register cu(FFT|DNN|BLAS) factory",
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"tf_tfl_flatbuffer_helpers\.cc:\d+\] Ignored (output_format|drop_control_dependency)",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* in other operations, rebuild TensorFlow",
    r"oneDNN custom operations are on\. You may see slightly different numerical results",
    # INFO at import; TensorFlow 2.21 writes it whatever TF_CPP_MIN_LOG_LEVEL says
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used",
    # kenlm, while reading an ARPA file
    r"^Loading the LM will be faster if you build a binary file\.",
    r"^Reading .*\.arpa$",
    r"^----5---10---15---20---25---30---35---40---45---50---55---60---65---70---75---80---85---90---95--100$",
    r"^\*+$",
)
_NOISE = re.compile("|".join(f"(?:{p})" for p in NOISE_PATTERNS))

# Python loggers whose INFO records are internal chatter (kept at WARNING unless verbose).
CHATTY_LOGGERS = ("tensorflow", "absl", "h5py", "pyctcdecode")

_verbose = False


def set_verbose(verbose: bool) -> None:
    """Turns the filters of this module off (``--verbose``) or on."""
    global _verbose
    _verbose = verbose


def is_noise(line: str) -> bool:
    return bool(_NOISE.search(line.strip()))


@contextlib.contextmanager
def filtered_stderr(patterns: Iterable[str] | None = None) -> Iterator[None]:
    """Captures file descriptor 2 (C++ and Python writes alike) for the duration of the block,
    then writes back every line that is not noise (``NOISE_PATTERNS`` plus ``patterns``).

    Lines come back after the block, in order. A no-op when verbose, or when fd 2 cannot
    be duplicated (e.g. an embedded interpreter).
    """
    if _verbose:
        yield
        return
    extra = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            # kenlm draws its progress bar with carriage returns and no newlines in between
            kept = [
                line
                for line in text.replace("\r", "\n").splitlines()
                if line.strip() and not is_noise(line) and not (extra and extra.search(line))
            ]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def import_tensorflow():
    """``import tensorflow`` without its plugin-registration lines; returns the module.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (C++ INFO and WARNING off) unless the environment sets
    it, or unless verbose.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if not _verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with filtered_stderr():
        import tensorflow  # noqa: PLC0415

    quiet_python_logging()
    return tensorflow


def quiet_python_logging() -> None:
    """TensorFlow's and absl's Python INFO records off (WARNING and above stay), unless verbose."""
    level = logging.INFO if _verbose else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)
