"""The training step and loop: accumulation, divergence, checkpoints, warm start."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.loader import resolve_config
from open_s2s.data import keys
from open_s2s.modes import build_model, make_data_layer
from open_s2s.training import checkpoints as ckpt_lib
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Trainer, TrainingDiverged

NO_RANDOMNESS = [
    "--encoder_params/normalization=None",
    "--encoder_params/dropout_keep_prob=1.0",
    "--lr_policy_params/warmup_steps=0",
    "--encoder_params/convnet_layers="
    + repr(
        [
            {"kernel_size": [5], "stride": [2], "num_channels": 12, "dropout_keep_prob": 1.0},
            {"kernel_size": [3], "num_channels": 12, "repeat": 2, "residual": True, "dropout_keep_prob": 1.0},
        ]
    ).replace(" ", ""),
]


def setup(config, tmp_path, extra=()):
    _, params = resolve_config(config, "train", list(NO_RANDOMNESS) + list(extra))
    runtime = make_runtime(params)
    dl = make_data_layer(params, "eval")  # eval mode: no dither, no augmentation, fixed order
    model = build_model(type_of(config), params, dl.spec)
    return params, runtime, dl, model


def type_of(config):
    model_cls, _ = resolve_config(config, "eval")
    return model_cls


def fixed_batches(dl, n):
    ds = dl.build_dataset()
    batches = []
    for b in ds:
        batches.append(b)
        if len(batches) == n:
            return batches
    raise AssertionError("not enough batches")


def concat(a, b):
    out = {}
    for k in a:
        x, y = a[k], b[k]
        if x.shape.rank >= 2:  # pad the time axis to the longer one
            t = max(x.shape[1], y.shape[1])
            pad = lambda z, t=t: tf.pad(z, [[0, 0], [0, t - z.shape[1]]] + [[0, 0]] * (z.shape.rank - 2))  # noqa: E731
            x, y = pad(x), pad(y)
        out[k] = tf.concat([x, y], 0)
    return out


@pytest.mark.parametrize("optimizer", ["SGD", "NovoGrad"])
def test_iter_size_equals_one_step_on_a_k_times_larger_batch(small_config, tmp_path, optimizer):
    opt = [f"--optimizer={optimizer}", "--optimizer_params={}"]
    params_k, runtime, dl, model_k = setup(small_config, tmp_path, opt + ["--iter_size=2"])
    b1, b2 = fixed_batches(dl, 2)
    trainer_k = Trainer(model_k, params_k, runtime, str(tmp_path / "k"), total_steps=10)
    params_1, _, _, model_1 = setup(small_config, tmp_path, opt)
    model_1.set_weights(model_k.get_weights())
    trainer_1 = Trainer(model_1, params_1, runtime, str(tmp_path / "one"), total_steps=10)

    init = [w.copy() for w in model_1.get_weights()]
    out_k = trainer_k.compiled_step()(iter([b1, b2]))
    out_1 = trainer_1.compiled_step()(iter([concat(b1, b2)]))
    np.testing.assert_allclose(float(out_k["loss"]), float(out_1["loss"]), rtol=1e-5)
    for a, b in zip(model_k.get_weights(), model_1.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert any(not np.allclose(a, w) for a, w in zip(model_1.get_weights(), init)), "the step changed nothing"
    assert trainer_k.step == trainer_1.step == 1


def test_nan_loss_stops_with_step_and_leaves_weights(small_config, tmp_path):
    params, runtime, dl, model = setup(small_config, tmp_path)
    (batch,) = fixed_batches(dl, 1)
    bad = dict(batch)
    bad[keys.SOURCE] = batch[keys.SOURCE] * np.nan
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=5)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(TrainingDiverged, match="at step 1"):
        trainer.fit(tf.data.Dataset.from_tensors(bad).repeat())
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert trainer.step == 0
    assert not tf.train.latest_checkpoint(str(tmp_path / "run"))


def test_checkpoint_round_trip_restores_weights_optimizer_and_step(small_config, tmp_path):
    params, runtime, dl, model = setup(small_config, tmp_path)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=3)
    trainer.fit(dl.build_dataset().repeat())
    path = trainer.save()
    params2, _, _, model2 = setup(small_config, tmp_path)
    trainer2 = Trainer(model2, params2, runtime, str(tmp_path / "run"), total_steps=3)
    assert trainer2.restore_latest() == path
    assert trainer2.step == 3
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(trainer.optimizer.variables, trainer2.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_warm_start_by_name_and_shape_with_frozen_encoder(small_config, tmp_path):
    params, runtime, dl, model = setup(small_config, tmp_path)
    trainer = Trainer(model, params, runtime, str(tmp_path / "src"), total_steps=2)
    trainer.fit(dl.build_dataset().repeat())
    trainer.save()
    params2, _, _, model2 = setup(small_config, tmp_path, ["--freeze_variables_regex=encoder"])
    loaded, skipped = ckpt_lib.warm_start(model2, str(tmp_path / "src"))
    assert loaded == len(model2.variables) and not skipped
    trainer2 = Trainer(model2, params2, runtime, str(tmp_path / "dst"), total_steps=2)
    assert all("decoder" in v.path for v in trainer2.train_vars)
    trainer2.fit(dl.build_dataset().repeat())
    for v, w in zip(model2.variables, model.variables):
        same = np.array_equal(np.asarray(v), np.asarray(w))
        if "encoder" in v.path and "moving" not in v.path:
            assert same, f"frozen {v.path} changed"
        if "decoder" in v.path and "kernel" in v.path:
            assert not same, f"trainable {v.path} did not change"


def test_warm_start_skips_shape_mismatch(small_config, tmp_path):
    params, runtime, dl, model = setup(small_config, tmp_path)
    Trainer(model, params, runtime, str(tmp_path / "src"), total_steps=1).save()
    wider = [NO_RANDOMNESS[3].replace("'num_channels':12", "'num_channels':16", 1)]
    _, _, _, model2 = setup(small_config, tmp_path, wider)
    loaded, skipped = ckpt_lib.warm_start(model2, str(tmp_path / "src"))
    assert skipped and all("block0" in s or "block1" in s for s in skipped)
    assert loaded > 0


def test_input_error_mid_training_saves_checkpoint_and_exits_3(small_config, tmp_path):
    from open_s2s.modes.train import fit

    params, runtime, dl, model = setup(small_config, tmp_path)
    (batch,) = fixed_batches(dl, 1)

    def unreadable(b):  # an audio file that vanished after the load-time checks
        n = tf.strings.length(tf.io.read_file(str(tmp_path / "deleted.wav")))
        return {**b, keys.SOURCE: b[keys.SOURCE] + tf.cast(n, tf.float32)}

    dataset = (
        tf.data.Dataset.from_tensors(batch).repeat(3).concatenate(tf.data.Dataset.from_tensors(batch).map(unreadable))
    )
    logdir = str(tmp_path / "run")
    trainer = Trainer(model, params, runtime, logdir, total_steps=10)
    assert fit(trainer, model, dataset, None, params, runtime, logdir) == 3
    assert tf.train.latest_checkpoint(logdir).endswith("model-3")


def test_larc_clip_at_the_first_warmup_step_keeps_weights_finite(small_config, tmp_path):
    # Step 0 of a warmup has lr = 0; zero-initialised biases then had a 0/0 LARC multiplier.
    larc = ["--larc_params={'larc_eta':0.002,'larc_mode':'clip'}", "--lr_policy_params/warmup_steps=4"]
    params, runtime, dl, model = setup(small_config, tmp_path, larc)
    assert any(not np.any(w) for w in model.get_weights()), "the test needs a zero-initialised variable"
    batches = fixed_batches(dl, 2)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=10)
    for step in range(2):
        out = trainer.compiled_step()(iter(batches[step : step + 1]))
        assert bool(out["finite"]), f"step {step} was skipped"
    assert float(out["lr"]) > 0 and trainer.step == 2
    for v in model.variables:
        assert np.all(np.isfinite(np.asarray(v))), f"{v.path} is not finite"


def test_step_is_skipped_when_gradients_after_larc_are_not_finite(small_config, tmp_path, monkeypatch):
    from open_s2s import optimizers as opt_lib

    real = opt_lib.apply_larc

    def larc_giving_nan(pairs, lr, **kw):  # what 0/0 in the multiplier used to produce
        out = real(pairs, lr, **kw)
        return [(g * np.nan, v) if i == 0 else (g, v) for i, (g, v) in enumerate(out)]

    monkeypatch.setattr(opt_lib, "apply_larc", larc_giving_nan)
    params, runtime, dl, model = setup(small_config, tmp_path, ["--larc_params={'larc_eta':0.002}"])
    (batch,) = fixed_batches(dl, 1)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=5)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(TrainingDiverged, match="at step 1"):
        trainer.fit(tf.data.Dataset.from_tensors(batch).repeat())
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert trainer.step == 0


def test_a_batch_with_one_infeasible_utterance_trains_with_a_finite_loss(small_config, tmp_path):
    # Utterance 0 gets n = (T + 1) // 2 + 1 copies of one label, T its frames after the encoder's
    # stride: no longer than T (so not skipped as "longer than the input"), but CTC needs a blank
    # between repeats, 2n - 1 > T frames: its loss is +inf. OpenSeq2Seq's
    # CTCLoss masked it (mask_nan True by default); the batch must still train.
    params, runtime, dl, model = setup(small_config, tmp_path)
    (batch,) = fixed_batches(dl, 1)
    frames = int(model(batch, training=False)["lengths"][0])
    n = (frames + 1) // 2 + 1
    assert n <= frames < 2 * n - 1
    targets = np.zeros((batch[keys.TARGET].shape[0], max(n, batch[keys.TARGET].shape[1])), np.int32)
    targets[:, : batch[keys.TARGET].shape[1]] = batch[keys.TARGET].numpy()
    targets[0, :] = 0
    targets[0, :n] = 2  # 'a'
    lengths = batch[keys.TARGET_LENGTH].numpy().copy()
    lengths[0] = n
    bad = {**batch, keys.TARGET: tf.constant(targets), keys.TARGET_LENGTH: tf.constant(lengths)}
    outputs = model(bad)
    sparse = tf.sparse.from_dense(tf.where(tf.sequence_mask(lengths, targets.shape[1]), targets + 1, 0))
    per_utt = tf.compat.v1.nn.ctc_loss(  # TensorFlow's CTC kernel (blank last): +inf for utterance 0
        tf.SparseTensor(sparse.indices, sparse.values - 1, sparse.dense_shape),
        outputs["logits"],
        outputs["lengths"],
        time_major=False,
        ignore_longer_outputs_than_inputs=True,
    )
    assert not np.isfinite(per_utt[0]) and np.all(np.isfinite(per_utt[1:]))
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=5)
    before = [w.copy() for w in model.get_weights()]
    out = trainer.compiled_step()(iter([bad]))
    assert bool(out["finite"]) and np.isfinite(float(out["loss"])) and trainer.step == 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
