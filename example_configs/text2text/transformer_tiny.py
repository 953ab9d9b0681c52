"""A Transformer sized for two CPU cores, on the synthetic English->Spanish corpus (data/synth_nmt).

    python -m open_s2s.data.synth_translation --out data/synth_nmt        # once (about 4 minutes)
    python run.py --config_file=example_configs/text2text/transformer_tiny.py --mode=train_eval
    python run.py --config_file=example_configs/text2text/transformer_tiny.py --mode=infer \
        --infer_output_file=logs/transformer_tiny/test.es        # one translation per test line

The layout of OpenSeq2Seq's transformer-base.py (pre-norm blocks, label smoothing 0.1, Adam with
the "noam" schedule, beam search with GNMT length penalty) at d_model 256, 3 + 3 layers and 4
heads, on raw text with the corpus's joint SentencePiece model, batches of about 3000 tokens per
side. Eval reports SacreBLEU of beam search on dev (and teacher-forced accuracy and perplexity,
labelled as such); the figures are in docs/benchmarks.md.
"""

from open_s2s.data.text2text import ParallelTextDataLayer
from open_s2s.decoders import TransformerDecoder
from open_s2s.encoders import TransformerEncoder
from open_s2s.losses import PaddedCrossEntropyLossWithSmoothing
from open_s2s.models import Text2Text
from open_s2s.optimizers import transformer_policy

DATA = "data/synth_nmt"
d_model = 256

base_model = Text2Text

base_params = {
    "random_seed": 0,
    "num_gpus": 1,
    "use_horovod": False,
    "dtype": "float32",
    "batch_size_per_gpu": 3000,  # tokens per side (batch_in_tokens)
    "max_steps": 2000,
    "save_summaries_steps": 50,
    "print_loss_steps": 100,
    "print_samples_steps": 500,
    "eval_steps": 500,
    "save_checkpoint_steps": 500,
    "num_checkpoints": 2,
    "logdir": "logs/transformer_tiny",

    "optimizer": "Adam",
    "optimizer_params": {"beta1": 0.9, "beta2": 0.997, "epsilon": 1e-09},
    "lr_policy": transformer_policy,
    "lr_policy_params": {"learning_rate": 2.0, "warmup_steps": 1000, "d_model": d_model},

    "encoder": TransformerEncoder,
    "encoder_params": {
        "encoder_layers": 3,
        "hidden_size": d_model,
        "num_heads": 4,
        "filter_size": 4 * d_model,
        "attention_dropout": 0.1,
        "relu_dropout": 0.1,
        "layer_postprocess_dropout": 0.1,
    },
    "decoder": TransformerDecoder,
    "decoder_params": {
        "num_hidden_layers": 3,
        "hidden_size": d_model,
        "num_heads": 4,
        "filter_size": 4 * d_model,
        "attention_dropout": 0.1,
        "relu_dropout": 0.1,
        "layer_postprocess_dropout": 0.1,
        "beam_size": 4,
        "alpha": 0.6,
        "extra_decode_length": 10,
    },
    "loss": PaddedCrossEntropyLossWithSmoothing,
    "loss_params": {"label_smoothing": 0.1},

    "data_layer": ParallelTextDataLayer,
    "data_layer_params": {
        "sentencepiece_model": f"{DATA}/spm.model",
        "source_file": f"{DATA}/train.en",
        "target_file": f"{DATA}/train.es",
        "use_start_token": False,
        "batch_in_tokens": True,
        "max_length": 64,
    },
}

train_params = {"data_layer_params": {"shuffle": True, "repeat": True}}

eval_params = {
    "batch_size_per_gpu": 64,
    "data_layer_params": {
        "source_file": f"{DATA}/dev.en", "target_file": f"{DATA}/dev.es", "batch_in_tokens": False,
    },
}

infer_params = {
    "batch_size_per_gpu": 64,
    "data_layer_params": {
        "source_file": f"{DATA}/test.en", "target_file": f"{DATA}/test.es", "batch_in_tokens": False,
    },
}
