"""matmul_last_axis: a kernel along the last axis as one 2-D matmul (values, gradients, graph)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.layers.linear import matmul_last_axis
from open_s2s.layers.tacotron import LocationSensitiveAttention
from open_s2s.layers.transformer import SharedEmbedding


@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("shape", [(6, 3), (2, 5, 3), (2, 4, 5, 3)])
def test_values_and_gradients_equal_numpy(shape, transpose_b):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    kernel = rng.normal(size=(4, 3) if transpose_b else (3, 4))
    k = kernel.T if transpose_b else kernel
    upstream = rng.normal(size=shape[:-1] + (4,))
    xt, kt = tf.constant(x), tf.constant(kernel)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([xt, kt])
        out = matmul_last_axis(xt, kt, transpose_b=transpose_b)
        loss = tf.reduce_sum(out * upstream)
    assert out.shape == shape[:-1] + (4,)
    np.testing.assert_allclose(out, x @ k, rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(loss, xt), upstream @ k.T, rtol=1e-12)
    grad_k = x.reshape(-1, 3).T @ upstream.reshape(-1, 4)  # summed over all leading axes
    np.testing.assert_allclose(tape.gradient(loss, kt), grad_k.T if transpose_b else grad_k, rtol=1e-12)


def test_unknown_leading_axes_keep_the_static_depth():
    fn = tf.function(lambda x: matmul_last_axis(x, tf.ones([3, 4])), input_signature=[tf.TensorSpec([None, None, 3])])
    out = fn.get_concrete_function().structured_outputs
    assert out.shape.as_list() == [None, None, 4]
    assert fn(tf.ones([2, 7, 3])).shape == (2, 7, 4)


def _op_types(fn, *specs) -> set[str]:
    graph = tf.function(fn).get_concrete_function(*specs).graph
    types = {op.type for op in graph.get_operations()}
    for function in graph.as_graph_def().library.function:
        types |= {node.op for node in function.node_def}
    return types


def test_attention_step_and_logits_have_no_broadcast_batch_matmul():
    """tf.matmul([B, L, k], [k, n]) broadcasts the kernel into a BatchMatMulV2, whose kernel
    gradient is a batched matmul plus a sum over the batch: 13 % of a float32 Tacotron step."""
    attention = LocationSensitiveAttention(6, filters=3, kernel_size=5)
    weights = attention.build_step(query_dim=4)
    memory = tf.random.normal([2, 7, 5])
    processed = attention.process_memory(memory)

    def attention_grads(query, cumulative):
        with tf.GradientTape() as tape:
            context, _ = attention.step(query, processed, memory, tf.ones([2, 7], tf.bool), cumulative, weights)
            loss = tf.reduce_sum(context)
        return tape.gradient(loss, weights)

    types = _op_types(attention_grads, tf.TensorSpec([None, 4]), tf.TensorSpec([None, 7]))
    assert "BatchMatMulV2" not in types and "MatMul" in types

    embedding = SharedEmbedding(11, 8)
    embedding.build(None)

    def logits_grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(embedding.logits(x))
        return tape.gradient(loss, embedding.trainable_variables)

    types = _op_types(logits_grads, tf.TensorSpec([None, None, 8]))
    assert "BatchMatMulV2" not in types and "MatMul" in types
