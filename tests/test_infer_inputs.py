"""--mode=infer on data a user has: every input kind, without and with references (issue 16).

Unlabeled input: outputs in input order, exit 0, no metric printed or written; the same
audio gives the same prediction whatever kind of input names it. Labeled input: the
metric is printed and each reference written beside its prediction.
"""

import csv
import json
import os
import shutil
import subprocess

import pytest

from open_s2s import runner


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def run_infer(config, logdir, output, *extra):
    args = [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}", f"--infer_output_file={output}", *extra]
    return runner.main(args)


@pytest.fixture(scope="module")
def asr(small_asr_run, tiny_corpus, tmp_path_factory):
    """(config, logdir, test rows of the corpus CSV, prediction per audio path from the labeled infer)."""
    config, logdir = small_asr_run
    out = tmp_path_factory.mktemp("labeled") / "test.csv"
    assert run_infer(config, logdir, out) == 0
    with open(os.path.join(tiny_corpus, "test.csv")) as f:
        rows = list(csv.DictReader(f))
    predictions = {r[0]: r[1] for r in read_rows(out)[1:]}
    assert any(predictions.values()), "all transcripts empty: comparisons below would be vacuous"
    return config, logdir, rows, predictions


def _write_inputs(kind, rows, tmp_path):
    """An input of ``kind`` naming the test WAVs; returns (what to pass, the paths it lists in order)."""
    paths = [r["wav_filename"] for r in rows]
    if kind == "csv_wav_filename_only":
        path = tmp_path / "only.csv"
        path.write_text("wav_filename\n" + "".join(p + "\n" for p in paths))
    elif kind == "csv_empty_transcripts":
        path = tmp_path / "empty.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["wav_filename", "wav_filesize", "transcript"])
            writer.writerows([r["wav_filename"], r["wav_filesize"], ""] for r in rows)
    elif kind == "manifest_without_text":
        path = tmp_path / "m.jsonl"
        path.write_text("".join(json.dumps({"audio_filepath": p}) + "\n" for p in paths))
    elif kind == "directory":
        path = tmp_path / "clips"
        path.mkdir()
        # reversed names: the directory's order (sorted by name) is not the CSV's
        for i, p in enumerate(paths):
            shutil.copy(p, path / f"{len(paths) - i:02d}.wav")
        paths = [str(path / f"{len(paths) - i:02d}.wav") for i in range(len(paths))][::-1]
    elif kind == "glob":
        os.makedirs(tmp_path / "g" / "sub")
        for i, p in enumerate(paths[:4]):
            shutil.copy(p, tmp_path / "g" / ("sub" if i % 2 else "") / f"u{i}.wav")
        (tmp_path / "g" / "notes.txt").write_text("not audio")
        path = str(tmp_path / "g" / "**" / "*.wav")
        paths = sorted(str(p) for p in (tmp_path / "g").rglob("*.wav"))
    elif kind == "path_list":
        path = tmp_path / "paths.txt"
        path.write_text("# test utterances\n" + "".join(p + "\n" for p in paths[::-1]) + "\n")
        paths = paths[::-1]
    return str(path), paths


KINDS = ["csv_wav_filename_only", "csv_empty_transcripts", "manifest_without_text", "directory", "glob", "path_list"]


@pytest.mark.parametrize("kind", KINDS)
def test_asr_infers_unlabeled_input_of_every_kind(asr, kind, tmp_path, capsys):
    config, logdir, rows, predictions = asr
    source, paths = _write_inputs(kind, rows, tmp_path)
    output = tmp_path / "pred.csv"
    assert run_infer(config, logdir, output, f"--infer_input={source}") == 0
    out = read_rows(output)
    assert out[0] == ["wav_filename", "predicted_transcript"]  # no reference column
    assert [r[0] for r in out[1:]] == [os.path.abspath(p) for p in paths]
    by_content = {open(r["wav_filename"], "rb").read(): predictions[r["wav_filename"]] for r in rows}
    assert [r[1] for r in out[1:]] == [by_content[open(p, "rb").read()] for p in paths]
    printed = capsys.readouterr().out
    assert "infer data: dataset_files" in printed and f"({len(paths)} samples)" in printed
    assert "WER" not in printed and not os.path.exists(tmp_path / "pred_metrics.json")


def test_unlabeled_csv_through_the_config_key_too(asr, tmp_path):
    config, logdir, rows, predictions = asr
    source, paths = _write_inputs("csv_wav_filename_only", rows, tmp_path)
    output = tmp_path / "pred.csv"
    assert run_infer(config, logdir, output, f"--data_layer_params/dataset_files=[{source}]") == 0
    assert [r[1] for r in read_rows(output)[1:]] == [predictions[p] for p in paths]


def test_labeled_input_prints_the_metric_and_writes_references_beside(asr, tiny_corpus, tmp_path, capsys):
    config, logdir, rows, _ = asr
    output = tmp_path / "labeled.csv"
    assert run_infer(config, logdir, output, f"--infer_input={tiny_corpus}/test.csv") == 0
    out = read_rows(output)
    assert out[0] == ["wav_filename", "predicted_transcript", "transcript"]
    assert [r[2] for r in out[1:]] == [r["transcript"] for r in rows]
    assert "infer: WER" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "labeled_metrics.json").read_text())
    assert metrics["data"]["dataset_files"] == [f"{tiny_corpus}/test.csv"]
    assert metrics["data"]["num_samples"] == len(rows) and metrics["checkpoint"].endswith("model-6")


def test_train_and_eval_still_refuse_unlabeled_data(asr, tmp_path, capsys):
    config, logdir, rows, _ = asr
    source, _ = _write_inputs("csv_wav_filename_only", rows, tmp_path)
    code = runner.main([f"--config_file={config}", "--mode=eval", f"--logdir={logdir}",
                        f"--data_layer_params/dataset_files=[{source}]"])  # fmt: skip
    assert code == 3
    assert "empty transcript" in capsys.readouterr().err


@pytest.mark.skipif(not shutil.which("sox"), reason="sox makes the 44.1 kHz stereo copies")
def test_infer_resamples_44k_stereo_files(asr, tmp_path):
    """Infer reads 44.1 kHz stereo WAVs (mixed down, resampled with soxr) instead of refusing them."""
    import soundfile

    config, logdir, rows, _ = asr
    folder = tmp_path / "st44"
    folder.mkdir()
    for i, r in enumerate(rows):
        subprocess.run(["sox", r["wav_filename"], "-r", "44100", "-c", "2", str(folder / f"{i}.wav")], check=True)
    assert soundfile.info(str(folder / "0.wav")).channels == 2
    output = tmp_path / "pred44.csv"
    assert run_infer(config, logdir, output, f"--infer_input={folder}") == 0
    assert len(read_rows(output)) == len(rows) + 1


def test_infer_input_is_only_for_infer(asr, capsys):
    config, logdir, _, _ = asr
    code = runner.main([f"--config_file={config}", "--mode=eval", f"--logdir={logdir}", "--infer_input=x.csv"])
    assert code == 2
    assert capsys.readouterr().err == "config error: --infer_input is for --mode=infer, not --mode=eval\n"


# ---------------------------------------------------------------------------- keyword spotting


@pytest.fixture(scope="module")
def kws(small_kws_run, tmp_path_factory):
    """(config, logdir, [(path, label name)] of test-split word clips, prediction per path from the split's infer)."""
    config, logdir = small_kws_run
    out = tmp_path_factory.mktemp("kws_labeled") / "pred.csv"
    assert run_infer(config, logdir, out) == 0
    rows = read_rows(out)
    assert rows[0] == ["wav_filename", "predicted_label", "probability", "label"]
    clips = [(r[0], r[3]) for r in rows[1:] if os.path.isfile(r[0])][:10]  # word clips (silence rows are cut)
    return config, logdir, clips, {r[0]: (r[1], r[2]) for r in rows[1:]}


@pytest.mark.parametrize("kind", ["csv", "csv_with_labels", "manifest", "directory", "glob", "path_list"])
def test_keyword_spotter_infers_audio_files_of_every_kind(kws, kind, tmp_path, capsys):
    config, logdir, clips, predictions = kws
    paths = [p for p, _ in clips]
    if kind in ("csv", "csv_with_labels"):
        source = tmp_path / "clips.csv"
        with open(source, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["wav_filename", "label"] if kind == "csv_with_labels" else ["wav_filename"])
            writer.writerows([p, label] if kind == "csv_with_labels" else [p] for p, label in clips)
    elif kind == "manifest":
        source = tmp_path / "clips.jsonl"
        source.write_text("".join(json.dumps({"audio_filepath": p}) + "\n" for p in paths))
    elif kind in ("directory", "glob"):
        (tmp_path / "d").mkdir()
        for i, p in enumerate(paths):
            shutil.copy(p, tmp_path / "d" / f"{i:02d}.wav")
        source = tmp_path / "d" if kind == "directory" else f"{tmp_path}/d/*.wav"
        paths = [str(tmp_path / "d" / f"{i:02d}.wav") for i in range(len(paths))]
    else:
        source = tmp_path / "list.txt"
        source.write_text("".join(p + "\n" for p in paths))
    output = tmp_path / "pred.csv"
    assert run_infer(config, logdir, output, f"--infer_input={source}") == 0
    out = read_rows(output)
    labeled = kind == "csv_with_labels"
    assert out[0] == ["wav_filename", "predicted_label", "probability"] + (["label"] if labeled else [])
    assert [r[0] for r in out[1:]] == paths
    assert [tuple(r[1:3]) for r in out[1:]] == [predictions[p] for p, _ in clips]
    printed = capsys.readouterr().out
    assert ("infer: accuracy" in printed) == labeled
    if labeled:
        assert [r[3] for r in out[1:]] == [label for _, label in clips]


def test_keyword_spotter_refuses_an_unknown_label(kws, tmp_path, capsys):
    config, logdir, clips, _ = kws
    source = tmp_path / "clips.csv"
    source.write_text(f"wav_filename,label\n{clips[0][0]},yess\n")
    assert run_infer(config, logdir, tmp_path / "p.csv", f"--infer_input={source}") == 3
    err = capsys.readouterr().err
    assert "label 'yess' is not a class of v1-12" in err and 'did you mean "yes"' in err


# ---------------------------------------------------------------------------- the LM recipe


def test_save_logits_writes_beside_the_npz_and_tune_lm_prints_the_command(asr, tiny_corpus, tmp_path, capsys):
    pytest.importorskip("kenlm")
    import shlex

    from scripts.build_lm import main as build_lm
    from scripts.tune_lm import main as tune_lm

    config, logdir, rows, _ = asr
    before = {name: os.path.getmtime(os.path.join(logdir, name)) for name in os.listdir(logdir)}
    npz = tmp_path / "dev.npz"
    args = [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}", f"--save_logits={npz}",
            f"--data_layer_params/dataset_files=[{tiny_corpus}/dev.csv]"]  # fmt: skip
    assert runner.main(args) == 0
    assert {name: os.path.getmtime(os.path.join(logdir, name)) for name in os.listdir(logdir)} == before
    assert len(read_rows(tmp_path / "dev_predictions.csv")) == 9
    assert json.loads((tmp_path / "dev_predictions_metrics.json").read_text())["data"]["dataset_files"] == [
        f"{tiny_corpus}/dev.csv"
    ]
    lm = str(tmp_path / "lm.arpa")
    assert build_lm([os.path.join(tiny_corpus, "train.csv"), "--out", lm]) == 0
    capsys.readouterr()
    assert tune_lm([str(npz), "--lm", lm, "--alphas", "0,0.5", "--betas", "0,1", "--beam_width", "8"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    best = [line for line in lines if line.startswith("greedy WER")][0]
    command = shlex.split(lines[-1])
    assert command[:2] == ["python", "run.py"] and lines[-2] == "decode with the best weights:"
    alpha, beta = best.split("alpha ")[1].split(" beta ")[0], best.split(" beta ")[1].split(" WER")[0]
    assert f"--decoder_params/alpha={float(alpha):g}" in command and f"--decoder_params/beta={float(beta):g}" in command
    assert runner.main(command[2:]) == 0  # the printed command runs as printed
    out = read_rows(os.path.join(logdir, "infer_lm.csv"))
    assert [r[0] for r in out[1:]] == [r["wav_filename"] for r in rows]
    os.remove(os.path.join(logdir, "infer_lm.csv"))
    os.remove(os.path.join(logdir, "infer_lm_metrics.json"))
