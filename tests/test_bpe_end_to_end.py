"""Subword (SentencePiece) targets through run.py: train, infer and the exported SavedModel agree."""

import csv

import numpy as np
import soundfile
import tensorflow as tf

from open_s2s import runner
from open_s2s.data.subword import SentencePieceVocab, main


def test_bpe_model_trains_infers_and_exports(tiny_corpus, tmp_path):
    from tests.conftest import write_small_config

    assert main(["--dataset_files", f"{tiny_corpus}/train.csv", "--model_prefix", str(tmp_path / "sp"),
                 "--vocab_size", "48"]) == 0  # fmt: skip
    config = write_small_config(tmp_path / "bpe.py", tiny_corpus)
    with open(config, "a") as f:
        f.write(f'base_params["data_layer_params"].update(bpe=True, vocab_file="{tmp_path / "sp.model"}", pad_to=0)\n')
    logdir, export_dir, infer_csv = str(tmp_path / "run"), str(tmp_path / "saved"), str(tmp_path / "infer.csv")
    common = [f"--config_file={config}", f"--logdir={logdir}"]
    assert runner.main([*common, "--mode=train", "--max_steps=4", "--eval_steps=None"]) == 0
    assert runner.main([*common, "--mode=infer", f"--infer_output_file={infer_csv}"]) == 0
    assert runner.main([*common, "--mode=export", f"--export_dir={export_dir}"]) == 0
    with open(infer_csv) as f:  # wav_filename, predicted_transcript (and the reference beside it)
        rows = [(r["wav_filename"], r["predicted_transcript"]) for r in csv.DictReader(f)]
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    audio = [soundfile.read(path, dtype="float32")[0] for path, _ in rows]
    lengths = np.array([len(a) for a in audio], np.int32)
    batch = np.zeros((len(audio), lengths.max()), np.float32)
    for i, a in enumerate(audio):
        batch[i, : len(a)] = a
    out = serve(audio=tf.constant(batch), audio_length=tf.constant(lengths))
    assert out["log_probs"].shape[-1] == len(SentencePieceVocab(str(tmp_path / "sp.model")).symbols) + 1
    assert [t.decode() for t in out["transcript"].numpy()] == [t for _, t in rows]
