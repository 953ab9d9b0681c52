"""CTC log-probabilities saved by ``--mode=infer --save_logits=FILE.npz`` for offline decoding.

The ``.npz`` holds, without pickled objects:

* ``log_probs`` float32 [total_frames, vocab + 1]: every utterance's valid frames, concatenated;
* ``lengths`` int32 [utterances]: frames per utterance (in input order);
* ``names`` and ``references`` str [utterances]: input file and transcript ('' if unknown);
* ``vocab`` str [vocab]: the characters (the blank is the last class);
* ``config_file`` and ``logdir`` str []: the run that wrote it ('' if unknown), so that
  ``scripts/tune_lm.py`` can print the command that decodes with the weights it picks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass
class SavedLogits:
    """Per-utterance log-probs with their names, references and the vocab."""

    log_probs: list[np.ndarray]
    names: list[str]
    references: list[str]
    vocab: tuple[str, ...]
    config_file: str = ""
    logdir: str = ""


def save_logits(path: str, logits: SavedLogits) -> None:
    """Writes ``logits`` to ``path`` (atomically)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(
        tmp,
        log_probs=np.concatenate(logits.log_probs).astype(np.float32),
        lengths=np.array([len(lp) for lp in logits.log_probs], np.int32),
        names=np.array(logits.names, dtype=str),
        references=np.array(logits.references, dtype=str),
        vocab=np.array(logits.vocab, dtype=str),
        config_file=np.array(logits.config_file),
        logdir=np.array(logits.logdir),
    )
    os.replace(tmp, path)


def load_logits(path: str) -> SavedLogits:
    """Reads a file written by ``save_logits``."""
    with np.load(path, allow_pickle=False) as f:
        splits = np.cumsum(f["lengths"])[:-1]
        return SavedLogits(
            log_probs=np.split(f["log_probs"], splits),
            names=[str(n) for n in f["names"]],
            references=[str(r) for r in f["references"]],
            vocab=tuple(str(v) for v in f["vocab"]),
            config_file=str(f["config_file"]) if "config_file" in f else "",
            logdir=str(f["logdir"]) if "logdir" in f else "",
        )


def infer_with_logits(model, dataset, total: int | None = None) -> tuple[list[tuple[int, str]], dict[int, np.ndarray]]:
    """``evaluation.infer`` that also keeps each utterance's valid log-prob frames.

    Args:
      model: a Speech2Text model (its decoder's ``decode`` returns ``log_probs``).
      dataset: the infer ``tf.data.Dataset``.
      total: its number of examples (the progress bar's end).

    Returns:
      ``(rows, log_probs)``: the model's infer rows sorted by input index, and
      ``{index: [frames, vocab + 1]}``.
    """
    from tqdm.auto import tqdm  # noqa: PLC0415  (TensorFlow-side imports: scripts/tune_lm.py needs none)

    from open_s2s.data import keys  # noqa: PLC0415
    from open_s2s.training import evaluation  # noqa: PLC0415

    generate_fn = evaluation.make_generate_fn(model, dataset.element_spec)
    rows, log_probs = [], {}
    bar = tqdm(total=total, desc="infer", unit="ex", leave=False, mininterval=2.0)
    for batch in dataset:
        decoded = generate_fn(batch)
        batch_np, decoded_np = evaluation.to_numpy(batch), evaluation.to_numpy(decoded)
        bar.update(len(batch_np[keys.INDEX]))
        rows.extend(model.infer_batch(batch_np, decoded_np))
        for b, index in enumerate(batch_np[keys.INDEX].tolist()):
            log_probs[int(index)] = decoded_np["log_probs"][b, : int(decoded_np["log_probs_length"][b])]
    bar.close()
    rows.sort(key=lambda r: r[0])
    return rows, log_probs


def save_infer_logits(model, data_layer, path: str, config_file: str = "", logdir: str = "") -> list[tuple[int, str]]:
    """Infer rows, and each utterance's CTC log-probs saved to ``path`` (for scripts/tune_lm.py)
    with the run's ``config_file`` and ``logdir``."""
    rows, log_probs = infer_with_logits(model, data_layer.build_dataset(), data_layer.num_samples)
    indices = sorted(log_probs)
    references = [data_layer.transcript(i) for i in indices]
    vocab = model.data_spec.target.vocab
    arrays = [log_probs[i] for i in indices]
    saved = SavedLogits(arrays, data_layer.sample_names, references, vocab, config_file, logdir)
    save_logits(path, saved)
    print(f"wrote CTC log-probs of {len(indices)} utterances to {path}", flush=True)
    return rows
