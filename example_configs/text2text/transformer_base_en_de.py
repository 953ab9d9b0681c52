"""Transformer-base on WMT'16 English->German: OpenSeq2Seq's transformer-base.py recipe.

Data: OpenSeq2Seq's WMT layout under ``data_root`` (its ``scripts/get_en_de.sh`` writes it):
BPE-tokenized, space-separated files and the joint vocabulary ``m_common.vocab``
(``train.clean.{en,de}.shuffled.BPE_common.32K.tok``, ``wmt13-en-de.{src,ref}...`` for eval,
``wmt14-en-de.src...`` for infer). OpenSeq2Seq trained it with Horovod on 8 GPUs (batch 256
sentence pairs per GPU) for 300k steps; here ``use_horovod`` is True too, launched with
``horovodrun -np 8 -H localhost:8 python run.py --config_file=... --mode=train_eval``.
LazyAdam (a TF1 sparse-update variant) is Keras Adam here: the same update for dense
embeddings, which is what this model has.

    python run.py --config_file=example_configs/text2text/transformer_base_en_de.py --mode=train_eval
"""

from open_s2s.data.text2text import ParallelTextDataLayer
from open_s2s.decoders import TransformerDecoder
from open_s2s.encoders import TransformerEncoder
from open_s2s.losses import PaddedCrossEntropyLossWithSmoothing
from open_s2s.models import Text2Text
from open_s2s.optimizers import transformer_policy

data_root = "data/wmt16_en_de/"
d_model = 512
num_layers = 6

base_model = Text2Text

base_params = {
    "use_horovod": True,
    "num_gpus": 1,
    "batch_size_per_gpu": 256,  # sentence pairs
    "max_steps": 300000,
    "save_summaries_steps": 100,
    "print_loss_steps": 100,
    "print_samples_steps": 100,
    "eval_steps": 4001,
    "save_checkpoint_steps": 299998,
    "logdir": "logs/transformer_base_en_de",
    "dtype": "float32",

    "optimizer": "Adam",
    "optimizer_params": {"beta1": 0.9, "beta2": 0.997, "epsilon": 1e-09},
    "lr_policy": transformer_policy,
    "lr_policy_params": {"learning_rate": 2.0, "warmup_steps": 8000, "d_model": d_model},

    "encoder": TransformerEncoder,
    "encoder_params": {
        "encoder_layers": num_layers,
        "hidden_size": d_model,
        "num_heads": 8,
        "attention_dropout": 0.1,
        "filter_size": 4 * d_model,
        "relu_dropout": 0.1,
        "layer_postprocess_dropout": 0.1,
        "pad_embeddings_2_eight": True,
        "remove_padding": True,
    },
    "decoder": TransformerDecoder,
    "decoder_params": {
        "layer_postprocess_dropout": 0.1,
        "num_hidden_layers": num_layers,
        "hidden_size": d_model,
        "num_heads": 8,
        "attention_dropout": 0.1,
        "relu_dropout": 0.1,
        "filter_size": 4 * d_model,
        "beam_size": 4,
        "alpha": 0.6,
        "extra_decode_length": 50,
    },
    "loss": PaddedCrossEntropyLossWithSmoothing,
    "loss_params": {"label_smoothing": 0.1},
}

train_params = {
    "data_layer": ParallelTextDataLayer,
    "data_layer_params": {
        "pad_vocab_to_eight": True,
        "src_vocab_file": data_root + "m_common.vocab",
        "tgt_vocab_file": data_root + "m_common.vocab",
        "source_file": data_root + "train.clean.en.shuffled.BPE_common.32K.tok",
        "target_file": data_root + "train.clean.de.shuffled.BPE_common.32K.tok",
        "delimiter": " ",
        "shuffle": True,
        "shuffle_buffer_size": 25000,
        "repeat": True,
        "map_parallel_calls": 16,
        "max_length": 56,
    },
}

eval_params = {
    "batch_size_per_gpu": 16,
    "data_layer": ParallelTextDataLayer,
    "data_layer_params": {
        "src_vocab_file": data_root + "m_common.vocab",
        "tgt_vocab_file": data_root + "m_common.vocab",
        "source_file": data_root + "wmt13-en-de.src.BPE_common.32K.tok",
        "target_file": data_root + "wmt13-en-de.ref.BPE_common.32K.tok",
        "delimiter": " ",
        "shuffle": False,
        "repeat": False,
        "max_length": 256,
    },
}

infer_params = {
    "batch_size_per_gpu": 1,
    "data_layer": ParallelTextDataLayer,
    "data_layer_params": {
        "src_vocab_file": data_root + "m_common.vocab",
        "tgt_vocab_file": data_root + "m_common.vocab",
        "source_file": data_root + "wmt14-en-de.src.BPE_common.32K.tok",
        "target_file": data_root + "wmt14-en-de.src.BPE_common.32K.tok",
        "delimiter": " ",
        "shuffle": False,
        "repeat": False,
        "max_length": 256,
    },
}
