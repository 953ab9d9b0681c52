"""Translation end to end on a toy corpus: train_eval scores beam search with SacreBLEU, eval
BLEU equals infer BLEU, batch size does not change a beam, the SavedModel equals infer."""

import json

import numpy as np
import pytest
import sacrebleu
import tensorflow as tf

from open_s2s import runner

CONFIG = TOY_T2T_CONFIG = """
from open_s2s.data.text2text import ParallelTextDataLayer
from open_s2s.decoders import TransformerDecoder
from open_s2s.encoders import TransformerEncoder
from open_s2s.losses import PaddedCrossEntropyLossWithSmoothing
from open_s2s.models import Text2Text
from open_s2s.optimizers import transformer_policy

D = "{data}"
base_model = Text2Text
sizes = {{"hidden_size": 32, "num_heads": 2, "filter_size": 64}}
base_params = {{
    "batch_size_per_gpu": 16, "max_steps": {steps}, "random_seed": 0,
    "eval_steps": {steps}, "save_checkpoint_steps": {steps}, "print_samples_steps": {steps},
    "optimizer": "Adam", "optimizer_params": {{"beta1": 0.9, "beta2": 0.98}},
    "lr_policy": transformer_policy,
    "lr_policy_params": {{"learning_rate": 2.0, "warmup_steps": 60, "d_model": 32}},
    "encoder": TransformerEncoder, "encoder_params": {{"encoder_layers": 1, **sizes}},
    "decoder": TransformerDecoder,
    "decoder_params": {{"num_hidden_layers": 1, **sizes, "beam_size": 3, "alpha": 0.6, "extra_decode_length": 4}},
    "loss": PaddedCrossEntropyLossWithSmoothing, "loss_params": {{"label_smoothing": 0.1}},
    "data_layer": ParallelTextDataLayer,
    "data_layer_params": {{"sentencepiece_model": D + "/spm.model", "source_file": D + "/train.src",
                           "target_file": D + "/train.tgt", "use_start_token": False}},
}}
eval_params = {{"data_layer_params": {{"source_file": D + "/test.src", "target_file": D + "/test.tgt"}}}}
infer_params = {{"data_layer_params": {{"source_file": D + "/test.src", "target_file": D + "/test.tgt"}}}}
"""


@pytest.fixture(scope="module")
def trained(toy_parallel, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("t2t_run")
    config = tmp / "toy.py"
    config.write_text(CONFIG.format(data=toy_parallel, steps=150))
    logdir = tmp / "run"
    assert runner.main([f"--config_file={config}", "--mode=train_eval", f"--logdir={logdir}"]) == 0
    return str(config), logdir


def infer(config, logdir, out, *extra):
    assert (
        runner.main(
            [f"--config_file={config}", "--mode=infer", f"--logdir={logdir}", f"--infer_output_file={out}", *extra]
        )
        == 0
    )
    return out.read_text(encoding="utf-8").splitlines()


def test_eval_scores_beam_search_and_equals_infer(trained, toy_parallel, tmp_path):
    config, logdir = trained
    history = json.loads((logdir / "eval_history.json").read_text())
    last = history[-1]
    assert last["step"] == 150 and {"BLEU", "teacher_forced_accuracy", "teacher_forced_perplexity"} <= set(last)
    hyps = infer(config, logdir, tmp_path / "test.txt")
    refs = (toy_parallel / "test.tgt").read_text().splitlines()
    assert len(hyps) == len(refs) == 24
    assert sum(bool(h) for h in hyps) >= 20  # the model translates, so the comparisons below mean something
    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert bleu == pytest.approx(last["BLEU"], abs=1e-9)  # eval and infer: the same decoding, the same score
    metrics = json.loads((tmp_path / "test_metrics.json").read_text())  # beside the output
    assert metrics["data"]["source_file"].endswith("test.src") and metrics["output"] == str(tmp_path / "test.txt")
    assert metrics["BLEU"] == pytest.approx(bleu, abs=1e-9)


def test_translations_do_not_depend_on_the_batch(trained, tmp_path):
    config, logdir = trained
    one = infer(config, logdir, tmp_path / "b1.txt", "--batch_size_per_gpu=1")
    eight = infer(config, logdir, tmp_path / "b8.txt", "--batch_size_per_gpu=8")
    assert one == eight


def test_saved_model_translates_raw_text_like_infer(trained, toy_parallel, tmp_path):
    import tensorflow_text  # noqa: F401  (the SentencePiece ops of the SavedModel)

    config, logdir = trained
    export_dir = tmp_path / "export"
    assert (
        runner.main([f"--config_file={config}", "--mode=export", f"--logdir={logdir}", f"--export_dir={export_dir}"])
        == 0
    )
    serve = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    sources = (toy_parallel / "test.src").read_text().splitlines()
    out = serve(text=tf.constant(sources))
    exported = [t.decode("utf-8") for t in out["translation"].numpy()]
    assert exported == infer(config, logdir, tmp_path / "ref.txt")
    assert np.all(np.isfinite(out["scores"].numpy()))


def test_infer_reads_a_plain_text_file_without_references(trained, toy_parallel, tmp_path):
    config, logdir = trained
    plain = tmp_path / "plain.en"
    lines = (toy_parallel / "test.src").read_text().splitlines()[:5]
    plain.write_text("\n".join(lines) + "\n")
    out = infer(
        config,
        logdir,
        tmp_path / "plain.txt",
        f"--data_layer_params/source_file={plain}",
        "--data_layer_params/use_targets=False",
    )
    assert out == infer(config, logdir, tmp_path / "all.txt")[:5]


def test_infer_input_plain_text_and_the_python_api_translate_like_infer(trained, toy_parallel, tmp_path, capsys):
    """--infer_input with a plain text file: one translation per line, no BLEU; open_s2s.load(...).translate
    from the logdir and from the export equals infer."""
    import open_s2s

    config, logdir = trained
    lines = (toy_parallel / "test.src").read_text().splitlines()
    plain = tmp_path / "plain.en"
    plain.write_text("\n".join(lines[:7]) + "\n")
    capsys.readouterr()
    out = infer(config, logdir, tmp_path / "plain.txt", f"--infer_input={plain}")
    printed = capsys.readouterr().out
    assert "BLEU" not in printed and "infer data: source_file" in printed
    expected = infer(config, logdir, tmp_path / "all.txt")
    assert out == expected[:7]
    export_dir = tmp_path / "export"
    assert (
        runner.main([f"--config_file={config}", "--mode=export", f"--logdir={logdir}", f"--export_dir={export_dir}"])
        == 0
    )
    for source in (str(logdir), str(export_dir)):
        model = open_s2s.load(source)
        assert type(model).__name__ == "Translator"
        assert model.translate(lines, batch_size=5) == expected
        text, score = model.translate(lines[0], return_scores=True)
        assert text == expected[0] and np.isfinite(score)
