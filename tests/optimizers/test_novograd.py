"""NovoGrad vs. an independent NumPy implementation, and least-squares convergence."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.optimizers import NovoGrad, make_optimizer, make_schedule, poly_decay


def numpy_novograd(weights, grads_per_step, lrs, beta1, beta2, eps, wd, grad_averaging):
    """NovoGrad written from the paper's equations (Ginsburg et al. 2019, Alg. 1)."""
    w = [x.astype(np.float64).copy() for x in weights]
    m = [np.zeros_like(x) for x in w]
    v = [None] * len(w)
    for grads, lr in zip(grads_per_step, lrs):
        for i, g in enumerate(grads):
            norm_sq = float(np.sum(g.astype(np.float64) ** 2))
            v[i] = norm_sq if v[i] is None else beta2 * v[i] + (1 - beta2) * norm_sq
            d = g / (np.sqrt(v[i]) + eps) + wd * w[i]
            if grad_averaging:
                d = (1 - beta1) * d
            m[i] = beta1 * m[i] + d
            w[i] = w[i] - lr * m[i]
    return w


@pytest.mark.parametrize("wd, grad_averaging", [(0.0, False), (0.1, True), (0.05, False)])
def test_matches_numpy_reference_under_tf_function(wd, grad_averaging):
    rng = np.random.default_rng(1)
    init = [
        rng.normal(size=(3, 4)).astype(np.float32),
        rng.normal(size=(4,)).astype(np.float32),
    ]
    steps = 4
    grads = [[rng.normal(size=x.shape).astype(np.float32) * (k + 1) for x in init] for k in range(steps)]
    # lr(t) = 0.1 * (1 - t / 8): the schedule must be driven by optimizer.iterations.
    schedule = make_schedule(poly_decay, {"learning_rate": 0.1}, max_steps=8)
    lrs = [0.1 * (1 - t / 8) for t in range(steps)]
    opt = NovoGrad(
        schedule,
        beta_1=0.9,
        beta_2=0.7,
        epsilon=1e-6,
        weight_decay=wd,
        grad_averaging=grad_averaging,
    )
    variables = [tf.Variable(x) for x in init]
    apply = tf.function(lambda gs: opt.apply_gradients(zip(gs, variables)))
    for g in grads:
        apply([tf.constant(x) for x in g])
    expected = numpy_novograd(init, grads, lrs, 0.9, 0.7, 1e-6, wd, grad_averaging)
    for var, exp in zip(variables, expected):
        np.testing.assert_allclose(var.numpy(), exp, rtol=1e-5, atol=1e-6)
    assert all(v.dtype == tf.float32 for v in opt.variables[1:])


def test_second_moment_is_one_scalar_per_variable_and_first_step_is_normalized():
    var = tf.Variable([1.0, 2.0])
    opt = NovoGrad(learning_rate=1.0, beta_1=0.0)
    opt.apply_gradients([(tf.constant([3.0, 4.0]), var)])
    # v_1 = ||g||^2 = 25 so the first step is exactly g / ||g|| (beta_1 = 0).
    np.testing.assert_allclose(var.numpy(), [1.0 - 0.6, 2.0 - 0.8], rtol=1e-6)
    scalars = [v for v in opt.variables if v.shape == ()]
    assert [float(v.numpy()) for v in scalars if "grad_norm_ema" in v.path] == [25.0]


def test_epsilon_is_added_to_the_norm_not_under_the_root():
    var = tf.Variable([0.0, 0.0])
    opt = NovoGrad(learning_rate=1.0, beta_1=0.0, epsilon=1e-4)
    opt.apply_gradients([(tf.constant([3e-4, 4e-4]), var)])
    # g / (||g|| + eps) = g / 6e-4; sqrt(||g||^2 + eps) would give g / 0.01.
    np.testing.assert_allclose(var.numpy(), [-0.5, -2.0 / 3.0], rtol=1e-5)


def test_exclude_from_weight_decay_is_honoured():
    kernel, bias = tf.Variable([1.0], name="kernel"), tf.Variable([1.0], name="bias")
    opt = NovoGrad(learning_rate=1.0, beta_1=0.0, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = tf.constant([0.0])
    opt.apply_gradients([(zero, kernel), (zero, bias)])
    np.testing.assert_allclose(kernel.numpy(), [0.5])  # w - lr * wd * w
    np.testing.assert_allclose(bias.numpy(), [1.0])


def test_get_config_round_trip():
    opt = NovoGrad(
        0.01,
        beta_1=0.9,
        beta_2=0.5,
        epsilon=1e-6,
        weight_decay=0.001,
        grad_averaging=True,
    )
    config = opt.get_config()
    assert NovoGrad.from_config(config).get_config() == config
    assert config["weight_decay"] == 0.001 and config["grad_averaging"] is True


LSTSQ_CASES = [
    ("SGD", {}, 0.1),
    ("Momentum", {"momentum": 0.9}, 0.05),
    ("Adam", {"beta1": 0.9, "beta2": 0.999}, 0.05),
    ("AdamW", {"weight_decay": 1e-4}, 0.05),
    ("NovoGrad", {"beta1": 0.9, "beta2": 0.98}, 0.01),
]


@pytest.mark.parametrize("name, params, lr", LSTSQ_CASES, ids=[c[0] for c in LSTSQ_CASES])
def test_least_squares_converges_to_lstsq_solution(name, params, lr):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5)).astype(np.float32)
    y = (x @ rng.normal(size=5) + 0.5 + 0.1 * rng.normal(size=20)).astype(np.float32)
    design = np.concatenate([x, np.ones((20, 1))], axis=1)
    solution = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]

    w, b = tf.Variable(tf.zeros([5])), tf.Variable(0.0)
    steps = 400
    opt = make_optimizer(name, params, make_schedule(poly_decay, {}, lr, steps))
    opt.build([w, b])

    @tf.function
    def train():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((tf.linalg.matvec(x, w) + b - y) ** 2)
            opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))

    train()
    got = np.concatenate([w.numpy(), [b.numpy()]])
    np.testing.assert_allclose(got, solution, atol=1e-2)


def test_make_optimizer_aliases_and_renames():
    sgd = make_optimizer("sgd", {"learning_rate": 0.1})
    assert type(sgd).__name__ == "SGD" and sgd.momentum == 0.0
    momentum = make_optimizer("Momentum", {"momentum": 0.9, "use_nesterov": True})
    assert type(momentum).__name__ == "SGD" and momentum.momentum == 0.9 and momentum.nesterov
    adam = make_optimizer("ADAM", {"beta1": 0.8, "beta2": 0.9, "epsilon": 1e-6})
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.8, 0.9, 1e-6)
    assert type(make_optimizer("adamw", {"weight_decay": 0.01})).__name__ == "AdamW"
    novo = make_optimizer(NovoGrad, {"beta1": 0.5, "grad_averaging": True})
    assert isinstance(novo, NovoGrad) and novo.beta_1 == 0.5 and novo.grad_averaging


def test_make_optimizer_uses_the_schedule_over_learning_rate_param():
    schedule = make_schedule("fixed_lr", {}, learning_rate=0.25)
    opt = make_optimizer("novograd", {"learning_rate": 0.25}, schedule)
    assert float(opt.learning_rate) == 0.25
    assert opt._learning_rate is schedule  # evaluated at optimizer.iterations


@pytest.mark.parametrize(
    "name, params, key",
    [
        ("NovoGrad", {"beta3": 0.9}, "beta3"),
        ("Adam", {"use_locking": True}, "use_locking"),
        ("Momentum", {"momentun": 0.9}, "momentun"),
        ("Momentum", {}, "momentum"),
    ],
)
def test_make_optimizer_rejects_bad_params_naming_the_key(name, params, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        make_optimizer(name, params)


def test_make_optimizer_rejects_unknown_name():
    with pytest.raises(ConfigError, match="Adagard"):
        make_optimizer("Adagard", {})
