"""What OpenSeq2Seq's configs name, and what it becomes in open_s2s.

TensorFlow 1 objects (``tf.contrib`` initializers and regularizers, ``tf.nn`` activations,
``tf.train`` optimizers, ``tf.float32``) become the plain strings open_s2s configs take.
Sources of the semantics: TensorFlow 1.x ``tf.contrib.layers`` (``xavier_initializer`` is
``variance_scaling_initializer(factor=1.0, mode='FAN_AVG')``; the contrib variance scaling
draws a truncated normal of standard deviation ``sqrt(1.3 * factor / n)``, the variance
Keras' ``truncated_normal`` distribution gives) and OpenSeq2Seq's own modules.
"""

from __future__ import annotations

from typing import Any

# OpenSeq2Seq package -> open_s2s package its classes are exported from.
PACKAGES = {
    "models": "open_s2s.models",
    "encoders": "open_s2s.encoders",
    "decoders": "open_s2s.decoders",
    "losses": "open_s2s.losses",
    "data": "open_s2s.data",
    "optimizers": "open_s2s.optimizers",
}
# OpenSeq2Seq names whose open_s2s class has another name (the old names also import).
RENAMES = {"Image2Label": "SpeechCommands", "FullyConnectedDecoder": "FullyConnectedSCDecoder"}
SPEECH_COMMANDS_LAYERS = ("SpeechCommandsDataLayer",)

DTYPES = {
    "tf.float32": ("float32", None),
    "tf.float16": ("mixed", "OpenSeq2Seq's tf.float16: here float16 compute with float32 master weights"),
}

ACTIVATIONS = {
    "tf.nn.relu": "relu",
    "tf.nn.relu6": "relu6",
    "tf.nn.tanh": "tanh",
    "tf.tanh": "tanh",
    "tf.nn.sigmoid": "sigmoid",
    "tf.sigmoid": "sigmoid",
    "tf.nn.swish": "swish",
    "tf.identity": "identity",
}
# lambda x: tf.minimum(tf.nn.relu(x), cap)  ->  name
CAPPED_RELUS = {20.0: "clipped_relu", 6.0: "relu6"}

OPTIMIZERS = {
    "tf.train.MomentumOptimizer": ("Momentum", None),
    "tf.train.AdamOptimizer": ("Adam", None),
    "tf.train.GradientDescentOptimizer": ("SGD", None),
    "tf.contrib.opt.LazyAdamOptimizer": (
        "Adam",
        "LazyAdam -> Adam: LazyAdam updated an embedding row (and its moments) only in steps whose batch "
        "used it; Keras' Adam updates every row each step. Same maths for dense gradients",
    ),
}

# RNN classes (OpenSeq2Seq's Tacotron 2 ``rnn_type``, ``decoder_cell_type``) -> the name open_s2s takes.
RNN_CELLS = {
    "tf.contrib.cudnn_rnn.CudnnLSTM": ("lstm", "Keras' LSTM, which runs the cuDNN kernel on a GPU"),
    "tf.nn.rnn_cell.LSTMCell": ("lstm", None),
    "tf.nn.rnn_cell.BasicLSTMCell": ("lstm", None),
    "tf.contrib.rnn.LSTMCell": ("lstm", None),
    "tf.contrib.rnn.BasicLSTMCell": ("lstm", None),
}
# RNN classes with no counterpart: refused with this reason.
RNN_REFUSED = {
    name: "open_s2s's Tacotron 2 has LSTMs only"
    for name in (
        "tf.contrib.cudnn_rnn.CudnnGRU",
        "tf.nn.rnn_cell.GRUCell",
        "tf.contrib.rnn.GRUCell",
        "tf.contrib.cudnn_rnn.CudnnRNNTanh",
        "tf.contrib.cudnn_rnn.CudnnRNNRelu",
    )
}

L2_REGULARIZERS = {
    # path: (name of the scale argument, factor applied to it)
    "tf.contrib.layers.l2_regularizer": ("scale", 0.5),
    "tf.keras.regularizers.l2": ("l", 1.0),
}
L2_HALVING_NOTE = "OpenSeq2Seq's contrib l2_regularizer was scale*sum(w^2)/2, Keras' L2 is scale*sum(w^2)"
L2_HALVING_COMMENT = "its contrib l2_regularizer was scale*sum(w^2)/2, Keras' L2 is scale*sum(w^2)"
CONV2D_COMMENT = (
    'conv2d [k, 1] layers ported as conv1d [k]: OpenSeq2Seq\'s "jasper" model_format fed [batch, time, 1, features]'
)


def _xavier(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    uniform = args.pop("uniform", True)
    return ("glorot_uniform" if uniform else "glorot_normal"), args


def _scaling_name(scale: float, mode: str, distribution: str) -> tuple[str, dict[str, Any]]:
    named = {
        (1.0, "fan_avg", "uniform"): "glorot_uniform",
        (1.0, "fan_avg", "truncated_normal"): "glorot_normal",
        (2.0, "fan_in", "uniform"): "he_uniform",
        (2.0, "fan_in", "truncated_normal"): "he_normal",
        (1.0, "fan_in", "uniform"): "lecun_uniform",
        (1.0, "fan_in", "truncated_normal"): "lecun_normal",
    }
    key = (float(scale), mode, distribution)
    if key in named:
        return named[key], {}
    return "variance_scaling", {"scale": scale, "mode": mode, "distribution": distribution}


def _contrib_variance_scaling(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    factor = args.pop("factor", 2.0)
    mode = str(args.pop("mode", "FAN_IN")).lower()
    distribution = "uniform" if args.pop("uniform", False) else "truncated_normal"
    name, params = _scaling_name(factor, mode, distribution)
    return name, {**params, **args}


def _core_variance_scaling(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    scale = args.pop("scale", 1.0)
    mode = args.pop("mode", "fan_in")
    # TF 1's "normal" was its truncated normal (deprecated name)
    distribution = {"normal": "truncated_normal"}.get(args.pop("distribution", "truncated_normal"))
    distribution = distribution or "truncated_normal"
    name, params = _scaling_name(scale, mode, distribution)
    return name, {**params, **args}


def _named(name: str, renames: dict[str, str] | None = None):
    def convert(args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return name, {(renames or {}).get(k, k): v for k, v in args.items()}

    return convert


INITIALIZERS = {
    "tf.contrib.layers.xavier_initializer": _xavier,
    "tf.contrib.layers.variance_scaling_initializer": _contrib_variance_scaling,
    "tf.variance_scaling_initializer": _core_variance_scaling,
    "tf.initializers.variance_scaling": _core_variance_scaling,
    "tf.keras.initializers.VarianceScaling": _core_variance_scaling,
    "tf.glorot_uniform_initializer": _named("glorot_uniform"),
    "tf.glorot_normal_initializer": _named("glorot_normal"),
    "tf.keras.initializers.glorot_uniform": _named("glorot_uniform"),
    "tf.keras.initializers.glorot_normal": _named("glorot_normal"),
    "tf.random_uniform_initializer": _named("random_uniform"),
    "tf.random_normal_initializer": _named("random_normal"),
    "tf.truncated_normal_initializer": _named("truncated_normal"),
    "tf.orthogonal_initializer": _named("orthogonal"),
    "tf.zeros_initializer": _named("zeros"),
    "tf.ones_initializer": _named("ones"),
    "tf.constant_initializer": _named("constant"),
}

# Keys of OpenSeq2Seq components with no counterpart: dropped, with the reason as a comment.
DROPPED_KEYS = {
    "Speech2TextDataLayer": {
        "backend": "features are computed in TensorFlow here and match librosa's",
        "precompute_mel_basis": "the mel basis is always precomputed here",
        "cache_format": "cache_features keeps features in memory here",
        "cache_regenerate": "cache_features keeps features in memory here",
    },
    "FullyConnectedCTCDecoder": {
        "decoder_library_path": "LM decoding is pyctcdecode with kenlm here: use_language_model, lm_path",
        "trie_path": "the LM beam search needs no trie here",
        "alphabet_config_path": "the alphabet is the data layer's vocab_file",
        "infer_logits_to_pickle": "use run.py --mode=infer --save_logits=FILE.npz",
    },
}
# OpenSeq2Seq Speech2TextDataLayer augmentation keys -> spec_augment keys, and its defaults.
SPEC_AUGMENT_KEYS = {
    "n_freq_mask": ("num_freq_masks", 0),
    "width_freq_mask": ("max_freq_mask", 10),
    "n_time_mask": ("num_time_masks", 0),
    "width_time_mask": ("max_time_mask", 50),
}
# DeepSpeech2Encoder data_format values that are one layout of the same computation.
DS2_LAYOUTS = ("BCTF", "BTFC", "BCFT", "BFTC")


# Options of OpenSeq2Seq components that open_s2s lacks: (owners, key) -> test of the value giving
# the reason to refuse (None = supported). Checked before any rewrite, so the refusal names them.
def _norm_type(value: Any) -> str | None:
    kind = value.get("type", "layernorm_L2") if isinstance(value, dict) else None
    if kind is None or kind == "layernorm_L2":
        return None
    what = {"batch_norm": " (OpenSeq2Seq's Transformer_BatchNorm)", "layernorm_L1": " (L1 layer normalization)"}
    return (
        f"type {kind!r}{what.get(kind, '')} is not in open_s2s: its Transformer has layer normalization "
        "('layernorm_L2') only"
    )


TRANSFORMER = ("TransformerEncoder", "TransformerDecoder")
TACOTRON = ("Tacotron2Encoder", "Tacotron2Decoder")
UNSUPPORTED_OPTIONS = {
    (TRANSFORMER, "norm_params"): _norm_type,
    (("Tacotron2Encoder",), "style_embedding_enable"): lambda v: (
        "True: global style tokens (OpenSeq2Seq's Tacotron GST) are not in open_s2s" if v else None
    ),
    (("Text2SpeechDataLayer",), "style_input"): lambda v: (
        f"{v!r}: global style tokens (OpenSeq2Seq's Tacotron GST) are not in open_s2s" if v is not None else None
    ),
    (TACOTRON, "zoneout_prob"): lambda v: f"{v}: zoneout is not in open_s2s" if v else None,
    (("Tacotron2Decoder",), "enable_prenet"): lambda v: None if v else "False: open_s2s's Tacotron 2 needs its prenet",
    (("Tacotron2Decoder",), "attention_type"): lambda v: (
        None if v == "location" else f"{v!r}: open_s2s's Tacotron 2 has location-sensitive attention only"
    ),
}

# Defaults of OpenSeq2Seq components that open_s2s's differ from, written out when a config
# leaves them out (so the ported config computes what OpenSeq2Seq's did): owner -> key -> (value, ours).
OS2S_DEFAULTS = {
    # conv_bn_actv's batch norms: params.get('bn_momentum', 0.1), params.get('bn_epsilon', 1e-5)
    "Tacotron2Encoder": {"bn_momentum": 0.1, "bn_epsilon": 1e-5},
    "Tacotron2Decoder": {"postnet_bn_momentum": 0.1, "postnet_bn_epsilon": 1e-5},
}
# OpenSeq2Seq's LayerNormalization epsilon (params.get("epsilon", 1e-6)): open_s2s's Transformer uses it always.
LAYER_NORM_EPSILON = 1e-6
