"""The exported Tacotron: real-time factor on one CPU thread, and audio equal to --mode=infer.

    python scripts/bench_tts_export.py --logdir=logs/convergence_tacotron_tiny [--sentences 20]

Exports the checkpoint in ``--logdir`` (``<logdir>/export``), then, in this process pinned to
one intra-op and one inter-op thread, synthesizes the first ``--sentences`` test sentences one
at a time with the SavedModel (text in, waveform out: characters, decoder and Griffin-Lim) and
reports the real-time factor (synthesis seconds / audio seconds; < 1 is faster than real
time). It also compares the SavedModel's audio with the WAV files ``--mode=infer`` wrote to
``<logdir>/test_predictions/`` (16-bit): the largest difference in LSBs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2speech/tacotron_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_tacotron_tiny")
    parser.add_argument("--sentences", type=int, default=20)
    args, overrides = parser.parse_known_args()
    export_dir = os.path.join(args.logdir, "export")
    cmd = [sys.executable, "run.py", f"--config_file={args.config_file}", f"--logdir={args.logdir}", "--mode=export",
           f"--export_dir={export_dir}", *overrides]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT)

    import numpy as np
    import soundfile
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    wav_dir = os.path.join(args.logdir, "test_predictions")
    with open(os.path.join(wav_dir, "index.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[: args.sentences]
    tts = tf.saved_model.load(export_dir).signatures["serving_default"]
    tts(text=tf.constant([rows[0]["text"]]))  # warm up
    synth_seconds, audio_seconds, worst_lsb = 0.0, 0.0, 0
    for row in rows:
        start = time.perf_counter()
        out = tts(text=tf.constant([row["text"]]))
        n = int(out["audio_length"][0])
        audio = out["audio"][0, :n].numpy()
        synth_seconds += time.perf_counter() - start
        rate = int(out["sample_rate"][0])
        audio_seconds += n / rate
        reference, _ = soundfile.read(os.path.join(wav_dir, row["wav_file"]), dtype="int16")
        mine = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int32)
        if len(reference) != n:
            worst_lsb = max(worst_lsb, 1 << 16)  # a different length: not the same audio
        else:
            worst_lsb = max(worst_lsb, int(np.abs(mine - reference.astype(np.int32)).max()))
    record = {
        "export_dir": export_dir,
        "sentences": len(rows),
        "threads": 1,
        "audio_seconds": round(audio_seconds, 2),
        "synthesis_seconds": round(synth_seconds, 2),
        "real_time_factor": synth_seconds / audio_seconds,
        "max_difference_vs_infer_wav_lsb": worst_lsb,
    }
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
