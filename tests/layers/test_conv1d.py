"""Conv1D's CPU float16 path: float16 operands, float32 accumulation, float16 result."""

import keras
import numpy as np
import tensorflow as tf

from open_s2s.layers.conv1d import Conv1D


def test_float16_conv_equals_float32_conv_of_rounded_operands_and_trains():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 40, 8)).astype(np.float32)
    ours = Conv1D(6, 5, dilation_rate=2, dtype="mixed_float16")
    ours.build([None, None, 8])
    ours.bias.assign(rng.normal(size=6).astype(np.float32))
    reference = keras.layers.Conv1D(6, 5, dilation_rate=2, dtype="float32")
    reference.build([None, None, 8])
    kernel16 = np.asarray(ours.kernel).astype(np.float16).astype(np.float32)
    reference.set_weights([kernel16, np.asarray(ours.bias).astype(np.float16).astype(np.float32)])
    with tf.GradientTape() as tape:
        y = ours(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
    assert y.dtype == tf.float16
    x16 = x.astype(np.float16).astype(np.float32)
    expected = reference(x16).numpy()
    # Ours rounds the float32 conv to float16, then rounds again after adding the bias:
    # |ours - expected| <= u16 (|conv| + |conv + bias|). Each float32 conv sums the 5 x 8
    # products in its own order: <= 40 u32 sum |x| |k| each.
    bias16 = reference.get_weights()[1]
    reference.set_weights([np.abs(kernel16), np.zeros(6, np.float32)])
    abs_sum = reference(np.abs(x16)).numpy()
    bound = 2.0**-11 * (np.abs(expected - bias16) + np.abs(expected)) + 2 * 40 * 2.0**-24 * abs_sum
    assert np.all(np.abs(y.numpy().astype(np.float32) - expected) <= bound)
    grads = tape.gradient(loss, ours.trainable_variables)
    assert all(g is not None and g.dtype == tf.float32 and np.isfinite(g.numpy()).all() for g in grads)
    # the backward pass ran in float32: no float16 Conv2D backprop in the graph
    fn = tf.function(lambda x: tf.gradients(tf.reduce_sum(tf.cast(ours(x), tf.float32)), [x, ours.kernel]))
    ops = {(n.op, n.attr["T"].type) for n in fn.get_concrete_function(tf.constant(x)).graph.as_graph_def().node}
    for backprop in ("Conv2DBackpropInput", "Conv2DBackpropFilter"):
        assert (backprop, tf.float32.as_datatype_enum) in ops and (backprop, tf.float16.as_datatype_enum) not in ops
    assert any(op.startswith("Conv2D") and t == tf.float32.as_datatype_enum for op, t in ops)
