"""Tacotron2Decoder: autoregressive spectrogram decoder with location-sensitive attention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive
from open_s2s.data import keys
from open_s2s.decoders.decoder import Decoder
from open_s2s.encoders.tacotron2_encoder import conv_layer_specs
from open_s2s.layers.activations import get_activation
from open_s2s.layers.tacotron import (
    ConvStack,
    LocationSensitiveAttention,
    Prenet,
    build_lstm_cell,
    cast_once,
    lstm_step,
    reuse,
)

ALIGNMENTS = "alignments"  # [batch, decoder steps, text] float32 attention weights
STOP_LOGITS = "stop_token_logits"  # [batch, decoder steps] float32
POSTNET = "postnet_outputs"  # [batch, frames, features] spectrogram after the postnet residual
MAGNITUDE = "magnitude"  # [batch, frames, magnitude bins] (output_type "both")
DECODER_STEPS = "decoder_steps"  # [batch] steps of each sentence (frames = steps * reduction_factor)


class Tacotron2Decoder(Decoder):
    """Tacotron 2's decoder (Shen et al. 2018, arXiv:1712.05884, section 2.3) with a
    reduction factor.

    Each step emits ``reduction_factor`` frames: the previous step's last frame goes through
    the prenet (dropout on at inference too), an attention LSTM reads it with the previous
    attention context, location-sensitive attention (``attention_type: "location"``;
    cumulative weights through a location convolution) gives the next context, further
    LSTMs (``decoder_layers`` in all) read the attention LSTM's output with the context, and
    two projections of ``[last LSTM output, context]`` give the frames and a stop-token logit.
    A 5-layer convolutional postnet adds a residual to the whole spectrogram.

    Training (``call`` with targets) is teacher-forced through the same step function;
    ``generate`` runs free from the text until each sentence's stop token fires
    (``stop_threshold``) or it reaches ``max_frames_per_char`` frames per input character.
    Every sentence stops on its own, and its prenet dropout is seeded by its own text, so
    a sentence synthesizes the same alone as in a batch.

    The step does its LSTM, attention and projection arithmetic itself (``lstm_step``,
    ``LocationSensitiveAttention.step``; the same maths as the Keras layers, whose variables
    it reads) so that their weights are cast to the compute dtype once per batch
    (``cast_once``) instead of at every step, as Keras' autocast would inside the loop.

    Input (``call``): encoder ``outputs`` [batch, chars, dim], ``lengths``; ``target``
    [batch, frames, features] and ``target_length``. Output: ``outputs`` (decoder frames) and
    ``postnet_outputs`` [batch, frames', features] float32 (frames' = steps * reduction
    factor >= frames), ``stop_token_logits`` [batch, steps], ``alignments`` [batch, steps,
    chars], ``lengths`` (= target_length), and ``magnitude`` with ``output_type: "both"``.
    ``generate`` returns the same keys with ``lengths`` the generated frames.
    """

    AUTOREGRESSIVE = True

    PARAMS = {
        "attention_type": Param(str, "location", choices=("location",), doc="Location-sensitive attention."),
        "attention_layer_size": Param(int, 128, doc="Attention depth.", check=positive),
        "attention_bias": Param(bool, True, doc="Bias inside the attention tanh."),
        "attention_location_filters": Param(int, 32, doc="Filters of the location convolution."),
        "attention_location_kernel": Param(int, 31, doc="Width of the location convolution."),
        "decoder_cell_units": Param(int, 1024, doc="Units of each decoder LSTM.", check=positive),
        "decoder_cell_type": Param((str, type, type(None)), "lstm", doc="Only LSTM cells."),
        "decoder_layers": Param(int, 2, doc="LSTM layers; the first one drives the attention.", check=positive),
        "dropout_prob": Param(float, 0.1, doc="Dropout on the LSTM outputs in training."),
        "zoneout_prob": Param(float, 0.0, doc="Only 0 (zoneout is not implemented)."),
        "enable_prenet": Param(bool, True, doc="Must be True."),
        "prenet_layers": Param(int, 2, doc="Prenet dense layers.", check=positive),
        "prenet_units": Param(int, 256, doc="Prenet width.", check=positive),
        "prenet_dropout": Param(float, 0.5, doc="Prenet dropout, in training and at inference."),
        "prenet_activation": Param((str, Callable), "relu", doc="Prenet activation."),
        "enable_postnet": Param(bool, True, doc="Add the convolutional postnet's residual."),
        "postnet_conv_layers": Param(list, [], doc="Postnet conv layers; num_channels -1 = the feature count."),
        "postnet_keep_dropout_prob": Param(float, 0.5, doc="1 - dropout rate of the postnet."),
        "postnet_bn_momentum": Param(float, 0.9, doc="Postnet batch-norm momentum."),
        "postnet_bn_epsilon": Param(float, 1e-3, doc="Postnet batch-norm epsilon."),
        "postnet_data_format": Param(str, "channels_last", doc="Accepted for OpenSeq2Seq configs."),
        "reduction_factor": Param(int, 1, doc="Frames emitted per decoder step.", check=positive),
        "stop_threshold": Param(float, 0.5, doc="Generation stops when sigmoid(stop logit) exceeds this."),
        "max_frames_per_char": Param(float, 10.0, doc="Generation limit per input character (frames)."),
        "output_type": Param(
            (str, type(None)),
            None,
            choices=("mel", "magnitude", "both", None),
            doc="mel, magnitude or both; None = the data layer's (must match if given).",
        ),
        "num_magnitude_features": Param(
            (int, type(None)), None, doc="Magnitude bins with 'both'; None = the data layer's (must match if given)."
        ),
        "mask_decoder_sequence": Param(bool, True, doc="Accepted for OpenSeq2Seq configs (always masked)."),
        "parallel_iterations": Param(int, 32, doc="Accepted for OpenSeq2Seq configs."),
        "time_major": Param(bool, False, doc="Accepted (outputs are batch-major)."),
        "use_swap_memory": Param(bool, False, doc="Accepted for OpenSeq2Seq configs."),
        "bahdanau_normalize": Param(bool, False, doc="Accepted for OpenSeq2Seq configs."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        p = self.params
        if p["zoneout_prob"]:
            raise ConfigError("Tacotron2Decoder.zoneout_prob: zoneout is not supported; use dropout_prob")
        if not p["enable_prenet"]:
            raise ConfigError("Tacotron2Decoder.enable_prenet: the decoder needs its prenet")
        cell = getattr(p["decoder_cell_type"], "__name__", p["decoder_cell_type"])
        if cell is not None and "lstm" not in str(cell).lower():
            raise ConfigError(f"Tacotron2Decoder.decoder_cell_type: {cell!r} is not an LSTM cell")
        self.features = self.data_spec.target.num_features
        self.output_type, magnitude = self._output_type()
        self.mel_features = self.features - (magnitude if self.output_type == "both" else 0)
        r = self.r = p["reduction_factor"]
        self.prenet = Prenet(
            p["prenet_units"],
            p["prenet_layers"],
            p["prenet_dropout"],
            get_activation(p["prenet_activation"]),
            name="prenet",
        )
        units = p["decoder_cell_units"]
        self.cells = [keras.layers.LSTMCell(units, name=f"lstm{i}") for i in range(p["decoder_layers"])]
        self.rnn_dropout = keras.layers.Dropout(p["dropout_prob"])
        self.attention = LocationSensitiveAttention(
            p["attention_layer_size"],
            p["attention_location_filters"],
            p["attention_location_kernel"],
            p["attention_bias"],
            name="attention",
        )
        self.frame_projection = keras.layers.Dense(r * self.mel_features, name="frame_projection")
        self.stop_projection = keras.layers.Dense(1, name="stop_projection")
        self.postnet = None
        if p["enable_postnet"] and p["postnet_conv_layers"]:
            layers = [dict(layer) for layer in p["postnet_conv_layers"]]
            for layer in layers:
                if layer.get("num_channels") == -1:
                    layer["num_channels"] = self.mel_features
            specs = conv_layer_specs("Tacotron2Decoder.postnet_conv_layers", layers, None)
            if specs[-1]["num_channels"] != self.mel_features:
                raise ConfigError(
                    f"Tacotron2Decoder.postnet_conv_layers: the last layer must have {self.mel_features} "
                    "channels (or -1)"
                )
            self.postnet = ConvStack(
                specs,
                1.0 - p["postnet_keep_dropout_prob"],
                p["postnet_bn_momentum"],
                p["postnet_bn_epsilon"],
                name="postnet",
            )
        self.magnitude = (
            keras.layers.Dense(self.features - self.mel_features, name="magnitude")
            if self.output_type == "both"
            else None
        )

    def _output_type(self) -> tuple[str, int]:
        """``(output_type, magnitude bins)``: the data layer's (its feature transform, carried by
        the target side), which a given ``output_type`` / ``num_magnitude_features`` must match."""
        audio = self.data_spec.target.audio
        data_type, data_magnitude = audio.get("output_type"), audio.get("num_magnitude")
        given_type, given_magnitude = self.params["output_type"], self.params["num_magnitude_features"]
        if data_type is not None and given_type not in (None, data_type):
            raise ConfigError(f"Tacotron2Decoder.output_type: {given_type!r} but the data layer's is {data_type!r}")
        if data_magnitude is not None and given_magnitude not in (None, data_magnitude):
            raise ConfigError(
                f"Tacotron2Decoder.num_magnitude_features: {given_magnitude} but the data layer has {data_magnitude}"
            )
        output_type = given_type or data_type or "mel"
        magnitude = given_magnitude if given_magnitude is not None else (data_magnitude or 0)
        if output_type == "both" and not magnitude:
            raise ConfigError("Tacotron2Decoder: output_type 'both' needs num_magnitude_features")
        return output_type, magnitude

    # ------------------------------------------------------------------ the step

    def _initial_state(self, memory):
        batch = tf.shape(memory)[0]
        dtype = self.compute_dtype
        zeros = lambda n: tf.zeros([batch, n], dtype)  # noqa: E731
        units = self.params["decoder_cell_units"]
        return {
            "cells": [[zeros(units), zeros(units)] for _ in self.cells],
            "context": zeros(memory.shape[-1]),
            "cumulative": tf.zeros(tf.shape(memory)[:2], tf.float32),
        }

    def _loop_weights(self, memory) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Every weight ``_step`` reads, cast to the compute dtype once per batch (``cast_once``:
        not at every step of the loop), in ``_step``'s order; builds the layers on first use."""
        memory_dim = memory.shape[-1]
        units = self.params["decoder_cell_units"]
        variables = []
        for i, cell in enumerate(self.cells):
            variables += build_lstm_cell(cell, (self.params["prenet_units"] if i == 0 else units) + memory_dim)
        variables += self.attention.build_step(units)
        for projection in (self.frame_projection, self.stop_projection):
            if not projection.built:
                projection.build((None, units + memory_dim))
            variables += [projection.kernel, projection.bias]
        return cast_once(variables, self.compute_dtype)

    def _step(self, prenet_out, state, memory, processed, mask, training, loop_weights):
        """One decoder step from the prenet output of the previous frame (``loop_weights`` from
        ``_loop_weights``)."""
        weights = [reuse(pair) for pair in loop_weights]
        cells, n = [], 3 * len(self.cells)
        cell_weights, attention_weights = weights[:n], weights[n:-4]
        frame_kernel, frame_bias, stop_kernel, stop_bias = weights[-4:]
        h, c = lstm_step(tf.concat([prenet_out, state["context"]], -1), *state["cells"][0], *cell_weights[:3])
        h_drop = self.rnn_dropout(h, training=training)
        cells.append([h, c])
        context, alignment = self.attention.step(
            h_drop, processed, memory, mask, state["cumulative"], attention_weights
        )
        x = h_drop
        for i, cell_state in enumerate(state["cells"][1:], start=1):
            h, c = lstm_step(tf.concat([x, context], -1), *cell_state, *cell_weights[3 * i : 3 * i + 3])
            x = self.rnn_dropout(h, training=training)
            cells.append([h, c])
        out = tf.concat([x, context], -1)
        frames = tf.cast(tf.matmul(out, frame_kernel) + frame_bias, tf.float32)
        stop = tf.cast((tf.matmul(out, stop_kernel) + stop_bias)[:, 0], tf.float32)
        new_state = {"cells": cells, "context": context, "cumulative": state["cumulative"] + alignment}
        return frames, stop, alignment, new_state

    def _finish(self, frames, stops, alignments, lengths, steps, training):
        """Postnet, magnitude head and the output dict from the stacked step outputs."""
        batch = tf.shape(frames)[0]
        mel = tf.reshape(frames, [batch, -1, self.mel_features])  # [batch, steps * r, mel]
        frame_lengths = tf.minimum(lengths, tf.shape(mel)[1])
        post = mel
        if self.postnet is not None:
            post = mel + tf.cast(
                self.postnet(tf.cast(mel, self.compute_dtype), frame_lengths, training=training), tf.float32
            )
        out = {
            keys.OUTPUTS: mel,
            POSTNET: post,
            STOP_LOGITS: stops,
            ALIGNMENTS: alignments,
            keys.LENGTHS: lengths,
            DECODER_STEPS: steps,
        }
        if self.magnitude is not None:
            out[MAGNITUDE] = tf.cast(self.magnitude(tf.cast(post, self.compute_dtype)), tf.float32)
        return out

    # ------------------------------------------------------------------ teacher-forced

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        if keys.TARGET not in inputs:
            raise ValueError("Tacotron2Decoder.call needs targets (teacher forcing); use generate() without them")
        memory, memory_lengths = tf.cast(inputs[keys.OUTPUTS], self.compute_dtype), inputs[keys.LENGTHS]
        target = tf.cast(inputs[keys.TARGET][:, :, : self.mel_features], self.compute_dtype)
        target_lengths = inputs[keys.TARGET_LENGTH]
        batch, time = tf.shape(target)[0], tf.shape(target)[1]
        steps = (time + self.r - 1) // self.r
        target = tf.pad(target, [[0, 0], [0, steps * self.r - time], [0, 0]])
        grouped = tf.reshape(target, [batch, steps, self.r * self.mel_features])
        previous = tf.pad(grouped[:, :-1, -self.mel_features :], [[0, 0], [1, 0], [0, 0]])  # last frame of step - 1
        seeds = None if training else tf.zeros([batch, 2], tf.int32)  # eval: fixed prenet masks
        prenet_all = self.prenet(previous, training=training, seeds=seeds)
        mask = tf.sequence_mask(memory_lengths, tf.shape(memory)[1])
        processed = self.attention.process_memory(memory)
        loop_weights = self._loop_weights(memory)

        def body(i, state, frames_ta, stops_ta, align_ta):
            frames, stop, weights, state = self._step(
                prenet_all[:, i], state, memory, processed, mask, training, loop_weights
            )
            return i + 1, state, frames_ta.write(i, frames), stops_ta.write(i, stop), align_ta.write(i, weights)

        arrays = [tf.TensorArray(tf.float32, size=steps) for _ in range(3)]
        _, _, frames_ta, stops_ta, align_ta = tf.while_loop(
            lambda i, *_: i < steps, body, (tf.constant(0), self._initial_state(memory), *arrays)
        )
        frames = tf.transpose(frames_ta.stack(), [1, 0, 2])
        stops = tf.transpose(stops_ta.stack(), [1, 0])
        alignments = tf.transpose(align_ta.stack(), [1, 0, 2])
        return self._finish(
            frames, stops, alignments, target_lengths, (target_lengths + self.r - 1) // self.r, training
        )

    # ------------------------------------------------------------------ free-running

    def generate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        memory, memory_lengths = tf.cast(inputs[keys.OUTPUTS], self.compute_dtype), inputs[keys.LENGTHS]
        batch = tf.shape(memory)[0]
        mask = tf.sequence_mask(memory_lengths, tf.shape(memory)[1])
        processed = self.attention.process_memory(memory)
        loop_weights = self._loop_weights(memory)
        limit = tf.cast(
            tf.math.ceil(tf.cast(memory_lengths, tf.float32) * self.params["max_frames_per_char"]), tf.int32
        )
        max_steps = (limit + self.r - 1) // self.r  # [batch]
        total = tf.reduce_max(max_steps)
        text_seed = inputs.get("text_seed")
        if text_seed is None:
            text_seed = tf.zeros([batch], tf.int32)

        def body(i, state, previous, done, lengths, frames_ta, stops_ta, align_ta):
            seeds = tf.stack([text_seed, tf.fill([batch], i * 8)], axis=1)
            prenet_out = self.prenet(tf.cast(previous, self.compute_dtype), training=False, seeds=seeds)
            frames, stop, weights, new_state = self._step(
                prenet_out, state, memory, processed, mask, False, loop_weights
            )
            # finished sentences keep their state: they compute as they would alone
            new_state = tf.nest.map_structure(
                lambda new, old: tf.where(tf.reshape(done, [-1] + [1] * (new.shape.rank - 1)), old, new),
                new_state,
                state,
            )
            stopping = tf.logical_or(tf.sigmoid(stop) > self.params["stop_threshold"], i + 1 >= max_steps)
            lengths = tf.where(done, lengths, i + 1)
            done = tf.logical_or(done, stopping)
            return (
                i + 1,
                new_state,
                frames[:, -self.mel_features :],
                done,
                lengths,
                frames_ta.write(i, frames),
                stops_ta.write(i, stop),
                align_ta.write(i, weights),
            )

        arrays = [tf.TensorArray(tf.float32, size=0, dynamic_size=True) for _ in range(3)]
        state = (
            tf.constant(0),
            self._initial_state(memory),
            tf.zeros([batch, self.mel_features], tf.float32),
            tf.zeros([batch], tf.bool),
            tf.zeros([batch], tf.int32),
            *arrays,
        )
        out = tf.while_loop(
            lambda i, state, previous, done, *_: tf.logical_and(i < total, tf.logical_not(tf.reduce_all(done))),
            body,
            state,
        )
        steps, frames_ta, stops_ta, align_ta = out[4], out[5], out[6], out[7]
        frames = tf.transpose(frames_ta.stack(), [1, 0, 2])
        stops = tf.transpose(stops_ta.stack(), [1, 0])
        alignments = tf.transpose(align_ta.stack(), [1, 0, 2])
        step_mask = tf.sequence_mask(steps, tf.shape(frames)[1])
        frames = frames * tf.cast(step_mask[:, :, None], tf.float32)
        generated = self._finish(frames, stops, alignments, steps * self.r, steps, False)
        generated["hit_max_length"] = steps >= max_steps
        return generated
