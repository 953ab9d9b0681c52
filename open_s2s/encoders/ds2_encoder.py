"""DeepSpeech2Encoder: 2-D convolutions over time x frequency, an RNN stack, row conv, FC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, in_unit_interval, positive, validate
from open_s2s.data import keys
from open_s2s.encoders.encoder import Encoder
from open_s2s.layers.activations import get_activation
from open_s2s.layers.normalization import BatchNormalization
from open_s2s.layers.row_conv import RowConv


def _pair(value: Any) -> str | None:
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)
    return None if ok else f"must be [time, frequency], two positive ints; got {value!r}"


CONV_PARAMS: dict[str, Param] = {
    "kernel_size": Param(list, doc="[time, frequency] kernel size.", check=_pair),
    "stride": Param(list, doc="[time, frequency] strides.", check=_pair),
    "num_channels": Param(int, doc="Output channels.", check=positive),
    "padding": Param(str, "SAME", choices=("SAME", "VALID", "same", "valid"), doc="SAME or VALID (both axes)."),
}

# OpenSeq2Seq's names -> the Keras layer. Keras GRU/LSTM pick the cuDNN kernel on a GPU by themselves.
RNN_LAYERS = {
    "cudnn_gru": keras.layers.GRU,
    "gru": keras.layers.GRU,
    "cudnn_lstm": keras.layers.LSTM,
    "lstm": keras.layers.LSTM,
}


def _conv_output_length(lengths, spec, maximum):
    """Time frames after one conv of ``spec``; ``maximum`` is tf.maximum or np.maximum."""
    k_t, s_t = spec["kernel_size"][0], spec["stride"][0]
    if spec["padding"].upper() == "SAME":
        return (lengths + s_t - 1) // s_t
    return maximum((lengths - k_t) // s_t + 1, 0)


class DeepSpeech2Encoder(Encoder):
    """DeepSpeech 2 encoder (Amodei et al. 2016, arXiv:1512.02595), OpenSeq2Seq's layer plan.

    ``conv2d -> batch norm -> activation`` blocks over [time, frequency], the frequency and
    channel axes flattened, ``num_rnn_layers`` GRU/LSTM layers (bidirectional unless
    ``rnn_unidirectional``, outputs of both directions concatenated) with dropout between
    them (``use_cudnn_rnn: True``, OpenSeq2Seq's ``CudnnGRU(dropout=...)``) or after each,
    the last included (``use_cudnn_rnn: False``, its ``DropoutWrapper`` cells), an optional
    row convolution (look-ahead over ``row_conv_width`` frames, then batch norm and
    activation) and a fully connected layer of ``n_hidden`` units with activation and
    dropout. L2 (``regularizer``) falls where OpenSeq2Seq put it (``l2_variables``).

    Padding never leaks into real frames: the time axis is padded explicitly and centred
    (as in ``MaskedConv1D``), inputs are zeroed past each length before every convolution,
    batch-norm statistics use valid frames only, and the backward RNN direction runs on
    each sequence reversed within its own length (``tf.reverse_sequence``, as TF1's
    ``bidirectional_dynamic_rnn`` did), so no RNN needs a mask and cuDNN stays usable.
    Output length: ``ceil(length / stride)`` per SAME conv, ``(length - kernel) // stride + 1``
    per VALID conv.

    Input: ``source`` [batch, time, features], ``source_length`` [batch].
    Output: ``outputs`` [batch, time', n_hidden] (zero past each length), ``lengths`` [batch].
    """

    PARAMS = {
        "conv_layers": Param(list, doc="2-D conv list: kernel_size, stride, num_channels, padding (see CONV_PARAMS)."),
        "num_rnn_layers": Param(int, doc="RNN layers (0 = none)."),
        "rnn_cell_dim": Param(int, 0, doc="Units per RNN direction."),
        "rnn_type": Param(str, "cudnn_gru", choices=tuple(RNN_LAYERS), doc="GRU or LSTM (cuDNN on GPU either way)."),
        "rnn_unidirectional": Param(bool, False, doc="Forward-only RNNs (streaming); else bidirectional."),
        "use_cudnn_rnn": Param(
            bool,
            True,
            doc="As in OpenSeq2Seq: True drops out between RNN layers only (cuDNN), False after every one. "
            "Keras RNNs use cuDNN on a GPU either way.",
        ),
        "row_conv": Param(bool, False, doc="Row (look-ahead) convolution after the RNNs."),
        "row_conv_width": Param(
            int, 8, doc="Frames seen by the row convolution (current + width-1 ahead).", check=positive
        ),
        "n_hidden": Param(int, doc="Units of the final fully connected layer.", check=positive),
        "dropout_keep_prob": Param(
            float, 1.0, check=in_unit_interval, doc="1 - dropout rate of RNN (see use_cudnn_rnn) and FC outputs."
        ),
        "activation_fn": Param((str, Callable), "clipped_relu", doc="Activation of conv, row conv and FC layers."),
        "data_format": Param(
            str,
            "channels_last",
            choices=("channels_last", "channels_first"),
            doc="Kept for porting; computed channels_last (TF's CPU conv2d needs it).",
        ),
        "bn_momentum": Param(float, 0.99, doc="Moving-average momentum of batch norm."),
        "bn_epsilon": Param(float, 1e-3),
        "initializer": Param(str, "glorot_uniform", doc="Keras initializer name for kernels."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        self.conv_specs = [
            validate(f"DeepSpeech2Encoder.conv_layers[{i}]", entry, CONV_PARAMS)
            for i, entry in enumerate(self.params["conv_layers"])
        ]
        if self.params["num_rnn_layers"] > 0 and self.params["rnn_cell_dim"] <= 0:
            raise ConfigError("DeepSpeech2Encoder: rnn_cell_dim must be > 0 when num_rnn_layers > 0")
        self.activation = get_activation(self.params["activation_fn"])
        init = self.kernel_initializer
        self.convs, self.conv_norms = [], []
        for i, spec in enumerate(self.conv_specs):
            self.convs.append(
                keras.layers.Conv2D(
                    spec["num_channels"],
                    tuple(spec["kernel_size"]),
                    strides=tuple(spec["stride"]),
                    padding="valid",
                    use_bias=False,
                    kernel_initializer=init,
                    name=f"conv{i + 1}",
                )
            )
            self.conv_norms.append(self._norm(f"conv{i + 1}_bn"))
        # Two flat lists, not a list of {"fw", "bw"} dicts: TensorFlow's SavedModel tracking does
        # not see layers inside dicts inside lists of a Keras 3 layer (the export then fails).
        num_rnn = self.params["num_rnn_layers"]
        self.rnns_fw = [self._rnn_layer(i, "fw") for i in range(num_rnn)]
        self.rnns_bw = [] if self.params["rnn_unidirectional"] else [self._rnn_layer(i, "bw") for i in range(num_rnn)]
        keep = self.params["dropout_keep_prob"]
        self.dropout = keras.layers.Dropout(1.0 - keep, name="dropout") if keep < 1.0 else None
        self.row_conv = self.row_conv_norm = None
        if self.params["row_conv"]:
            self.row_conv = RowConv(self._rnn_output_dim(), self.params["row_conv_width"], init, name="row_conv")
            self.row_conv_norm = self._norm("row_conv_bn")
        self.fc = keras.layers.Dense(self.params["n_hidden"], kernel_initializer=init, name="fully_connected")

    # --------------------------------------------------------------- construction

    def _norm(self, name):
        return BatchNormalization(momentum=self.params["bn_momentum"], epsilon=self.params["bn_epsilon"], name=name)

    def _rnn_layer(self, i: int, direction: str) -> keras.layers.Layer:
        cls = RNN_LAYERS[self.params["rnn_type"]]
        dim, init = self.params["rnn_cell_dim"], self.kernel_initializer
        return cls(dim, return_sequences=True, kernel_initializer=init, name=f"rnn{i + 1}_{direction}")

    def _rnn_output_dim(self) -> int:
        if self.params["num_rnn_layers"] == 0:
            return self.conv_output_dim()
        return self.params["rnn_cell_dim"] * (1 if self.params["rnn_unidirectional"] else 2)

    def conv_output_dim(self) -> int:
        """Features per frame after the convolutions: frequency bins x channels."""
        freq, channels = self.data_spec.source.num_features, 1
        for spec in self.conv_specs:
            kernel, stride = spec["kernel_size"][1], spec["stride"][1]
            if spec["padding"].upper() == "SAME":
                freq = -(-freq // stride)
            else:
                freq = (freq - kernel) // stride + 1
            channels = spec["num_channels"]
        if freq < 1:
            raise ConfigError("DeepSpeech2Encoder.conv_layers: VALID convolutions leave no frequency bins")
        return freq * channels

    # --------------------------------------------------------------- forward

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        x = keras.ops.cast(inputs[keys.SOURCE], self.compute_dtype)[:, :, :, None]
        lengths = tf.cast(inputs[keys.SOURCE_LENGTH], tf.int32)
        for spec, conv, norm in zip(self.conv_specs, self.convs, self.conv_norms):
            x, lengths = self._conv_block(x, lengths, spec, conv, norm, training)
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], x.shape[2] * x.shape[3]])
        num_rnn = len(self.rnns_fw)
        for i, fw in enumerate(self.rnns_fw):
            x = self._rnn_block(x, lengths, fw, self.rnns_bw[i] if self.rnns_bw else None, training)
            # OpenSeq2Seq: cuDNN's dropout acts between layers only; its TF1 cells'
            # DropoutWrapper after every layer, the last one included.
            if self.dropout is not None and (i < num_rnn - 1 or not self.params["use_cudnn_rnn"]):
                x = self.dropout(x, training=training)
        if self.row_conv is not None:
            x = self.row_conv(x, lengths)
            x = self.activation(self._masked_norm(self.row_conv_norm, x, lengths, training))
        x = self.activation(self.fc(x))
        if self.dropout is not None:
            x = self.dropout(x, training=training)
        x = x * tf.cast(tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None], x.dtype)
        return {keys.OUTPUTS: x, keys.LENGTHS: lengths}

    def _conv_block(self, x, lengths, spec, conv, norm, training):
        (k_t, k_f), (s_t, s_f) = spec["kernel_size"], spec["stride"]
        x = x * tf.cast(tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None, None], x.dtype)
        if spec["padding"].upper() == "SAME":
            # Time: centred left padding whatever the batch length (see MaskedConv1D), right
            # padding up to ceil(time / stride) outputs. Frequency has a fixed size: TF's SAME.
            time = tf.shape(x)[1]
            out_time = (time + s_t - 1) // s_t
            left_t = (k_t - 1) // 2
            right_t = tf.maximum((out_time - 1) * s_t + k_t - time - left_t, 0)
            freq = x.shape[2]
            pad_f = max((-(-freq // s_f) - 1) * s_f + k_f - freq, 0)
            x = tf.pad(x, [[0, 0], [left_t, right_t], [pad_f // 2, pad_f - pad_f // 2], [0, 0]])
        lengths = _conv_output_length(lengths, spec, tf.maximum)
        x = conv(x)
        return self.activation(self._masked_norm(norm, x, lengths, training)), lengths

    def l2_variables(self) -> list:
        """OpenSeq2Seq's set: the conv kernels and their batch-norm gammas, the row
        convolution's filter and batch-norm gamma, and the fully connected kernel. Not the
        RNN weights: OpenSeq2Seq's cuDNN RNNs (and its TF1 cells) were built without its
        regularizer. Not biases or betas."""
        out = [c.kernel for c in self.convs] + [n.gamma for n in self.conv_norms]
        if self.row_conv is not None:
            out += [w for w in self.row_conv.trainable_weights if w.path.endswith("kernel")]
            out.append(self.row_conv_norm.gamma)
        return [*out, self.fc.kernel]

    def output_length(self, input_length):
        """``ceil(length / stride)`` per SAME conv, ``max((length - kernel) // stride + 1, 0)`` per VALID conv."""
        length = np.asarray(input_length)
        for spec in self.conv_specs:
            length = _conv_output_length(length, spec, np.maximum)
        return length

    def _masked_norm(self, norm, x, lengths, training):
        mask = tf.sequence_mask(lengths, tf.shape(x)[1])
        if len(x.shape) == 4:
            mask = tf.broadcast_to(mask[:, :, None], tf.shape(x)[:3])
        return norm(x, training=training, mask=mask)

    def _rnn_block(self, x, lengths, fw, bw, training):
        # Forward RNNs are causal: real frames never see the padding after them.
        y = fw(x, training=training)
        if bw is not None:
            reverse = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
            y_bw = tf.reverse_sequence(bw(reverse, training=training), lengths, seq_axis=1, batch_axis=0)
            y = tf.concat([y, y_bw], axis=-1)
        return y
