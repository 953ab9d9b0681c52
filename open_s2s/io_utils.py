"""Atomic file writes: readers never see a half-written file, a killed run never leaves one."""

from __future__ import annotations

import json
import os
from typing import Any


def metrics_path(output: str) -> str:
    """Where ``--mode=infer`` writes the metrics of ``output``: beside it (``test.csv`` ->
    ``test_metrics.json``; an output folder ``infer`` -> ``infer_metrics.json``)."""
    root, ext = os.path.splitext(output.rstrip("/"))
    return (root if ext else output.rstrip("/")) + "_metrics.json"


def write_json(path: str, record: Any, **kwargs: Any) -> None:
    """Writes ``record`` as JSON to a temporary file, then renames it over ``path``."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=2, **kwargs)
    os.replace(tmp, path)
