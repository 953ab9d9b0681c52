"""Eval and infer loops: compiled loss and generation passes, and the model's map/reduce hooks."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tqdm.auto import tqdm

from open_s2s.data import keys


def make_eval_fn(model, element_spec) -> Callable:
    """Compiled ``batch -> (teacher-forced loss, generated)``; one trace for all batch shapes."""
    return tf.function(model.evaluate_batch, input_signature=[element_spec])


def make_generate_fn(model, element_spec) -> Callable:
    """Compiled ``batch -> generated`` (free-running; targets, if any, are not read)."""
    return tf.function(model.generate, input_signature=[element_spec])


def to_numpy(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: v.numpy() if hasattr(v, "numpy") else v for k, v in tree.items()}


def progress_bar(total: int | None, desc: str, enabled: bool) -> tqdm:
    """A bar counting examples (batches vary in size with length bucketing; examples do not)."""
    return tqdm(total=total, desc=desc, unit="ex", leave=False, mininterval=2.0, disable=not enabled)


def evaluate(
    model,
    dataset: tf.data.Dataset,
    total: int | None = None,
    desc: str = "eval",
    predict_fn: Callable | None = None,
    gather: Callable[[list], list] = lambda items: items,
    progress: bool = True,
) -> tuple[dict[str, float], list[Any]]:
    """Runs the whole eval set; returns (metrics incl. 'loss', records).

    The loss comes from the teacher-forced pass, every other metric from ``generate``
    (the model's ``eval_batch`` / ``finalize_eval``). With data sharded over processes,
    ``gather`` concatenates every process's records (and loss sums) before the reduce, so
    the metrics are those of the whole set. ``total``: examples this process reads (the
    progress bar's end).
    """
    predict_fn = predict_fn or make_eval_fn(model, dataset.element_spec)
    records, losses, weights = [], [], []
    bar = progress_bar(total, desc, progress)
    for batch in dataset:
        loss, generated = predict_fn(batch)
        batch_np = to_numpy(batch)
        records.extend(model.eval_batch(batch_np, to_numpy(generated)))
        n = len(next(iter(batch_np.values())))
        losses.append(float(loss) * n)
        weights.append(n)
        bar.update(n)
    bar.close()
    records = gather(records)
    totals = gather([(sum(losses), sum(weights))])
    metrics = model.finalize_eval(records)
    metrics["loss"] = sum(t[0] for t in totals) / max(sum(t[1] for t in totals), 1)
    return metrics, records


def infer(
    model,
    dataset: tf.data.Dataset,
    total: int | None = None,
    gather: Callable[[list], list] = lambda items: items,
    progress: bool = True,
) -> list[tuple[int, Any]]:
    """Runs inference; returns ``(index, prediction)`` pairs of all processes sorted by input index.

    Only ``generate`` runs (no loss pass): inputs need no targets. ``total``: examples this
    process reads (the progress bar's end).
    """
    generate_fn = make_generate_fn(model, dataset.element_spec)
    rows = []
    bar = progress_bar(total, "infer", progress)
    for batch in dataset:
        batch_np = to_numpy(batch)
        rows.extend(model.infer_batch(batch_np, to_numpy(generate_fn(batch))))
        bar.update(len(batch_np[keys.INDEX]))
    bar.close()
    rows = gather(rows)
    rows.sort(key=lambda r: r[0])
    return rows


def write_infer_csv(
    path: str,
    header: tuple[str, ...],
    names: list[str],
    rows: list[tuple[int, Any]],
    references: list[str | None] | None = None,
) -> None:
    """Writes ``name,prediction`` rows in input order (atomically); with ``references`` (by
    input index) the last column of ``header`` is each row's reference ('' when it has none)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for index, prediction in rows:
            values = list(prediction) if isinstance(prediction, (list, tuple)) else [prediction]
            if references is not None:
                values.append(references[index] or "")
            writer.writerow([names[index], *values])
    os.replace(tmp, path)
