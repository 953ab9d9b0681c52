"""Tacotron 2 on LJSpeech: OpenSeq2Seq's tacotron_mixed.py recipe (mel + magnitude, float16 with loss scaling).

Data: LJSpeech-1.1 unpacked into ``dataset_location`` (``metadata.csv``, ``wavs/``) with
OpenSeq2Seq's split files ``train_32.csv`` / ``val_32.csv`` (lines of metadata.csv);
``vocab_file`` lists the characters of the normalized text, one per line. The model predicts
80 mels and 513 magnitude bins (``output_type: "both"``); audio comes from Griffin-Lim of the
magnitude prediction. OpenSeq2Seq trained it on one GPU (batch 96) for 100k steps.

    python run.py --config_file=example_configs/text2speech/tacotron_mixed.py --mode=train_eval
"""

from open_s2s.data.text2speech import Text2SpeechDataLayer
from open_s2s.decoders import Tacotron2Decoder
from open_s2s.encoders import Tacotron2Encoder
from open_s2s.losses import Text2SpeechLoss
from open_s2s.models import Text2SpeechTacotron
from open_s2s.optimizers import exp_decay

dataset_location = "data/LJSpeech-1.1"
mag_num_feats = 513


def conv(channels, activation="relu"):
    return {"kernel_size": [5], "stride": [1], "num_channels": channels, "padding": "SAME", "activation_fn": activation}


base_model = Text2SpeechTacotron

base_params = {
    "random_seed": 0,
    "use_horovod": False,
    "max_steps": 100000,
    "num_gpus": 1,
    "batch_size_per_gpu": 96,
    "save_summaries_steps": 50,
    "print_loss_steps": 50,
    "print_samples_steps": 500,
    "eval_steps": 500,
    "save_checkpoint_steps": 2500,
    "save_to_tensorboard": True,
    "logdir": "logs/tacotron_mixed",
    "max_grad_norm": 1.0,

    "optimizer": "Adam",
    "optimizer_params": {},
    "lr_policy": exp_decay,
    "lr_policy_params": {
        "learning_rate": 1e-3, "decay_steps": 20000, "decay_rate": 0.1, "use_staircase_decay": False,
        "begin_decay_at": 45000, "min_lr": 1e-5,
    },
    "dtype": "mixed",
    "loss_scaling": "Backoff",
    "regularizer": "l2",
    "regularizer_params": {"scale": 5e-7},  # OpenSeq2Seq's 1e-6 with its s*sum(w^2)/2
    "initializer": "glorot_uniform",
    "summaries": ["learning_rate", "variables", "gradients", "larc_summaries", "variable_norm", "gradient_norm",
                  "global_gradient_norm"],  # fmt: skip

    "encoder": Tacotron2Encoder,
    "encoder_params": {
        "cnn_dropout_prob": 0.5,
        "rnn_dropout_prob": 0.0,
        "src_emb_size": 512,
        "conv_layers": [conv(512), conv(512), conv(512)],
        "activation_fn": "relu",
        "num_rnn_layers": 1,
        "rnn_cell_dim": 256,
        "rnn_unidirectional": False,
        "use_cudnn_rnn": True,
        "rnn_type": "cudnn_lstm",
        "zoneout_prob": 0.0,
        "data_format": "channels_last",
    },
    "decoder": Tacotron2Decoder,
    "decoder_params": {
        "zoneout_prob": 0.0,
        "dropout_prob": 0.1,
        "attention_type": "location",
        "attention_layer_size": 128,
        "attention_bias": True,
        "decoder_cell_units": 1024,
        "decoder_cell_type": "lstm",
        "decoder_layers": 2,
        "enable_prenet": True,
        "prenet_layers": 2,
        "prenet_units": 256,
        "enable_postnet": True,
        "postnet_keep_dropout_prob": 0.5,
        "postnet_data_format": "channels_last",
        "postnet_conv_layers": [conv(512, "tanh")] * 4 + [conv(-1, None)],
        "mask_decoder_sequence": True,
        "parallel_iterations": 32,
        "output_type": "both",
        "num_magnitude_features": mag_num_feats,
    },
    "loss": Text2SpeechLoss,
    "loss_params": {"use_mask": True},

    "data_layer": Text2SpeechDataLayer,
    "data_layer_params": {
        "dataset": "LJ",
        "num_audio_features": {"mel": 80, "magnitude": mag_num_feats},
        "output_type": "both",
        "vocab_file": f"{dataset_location}/vocab_tts.txt",
        "dataset_location": dataset_location,
        "mag_power": 1,
        "pad_EOS": True,
        "feature_normalize": False,
        "feature_normalize_mean": 0.0,
        "feature_normalize_std": 1.0,
        "data_min": {"mel": 1e-2, "magnitude": 1e-5},
        "mel_type": "htk",
        "trim": False,
        "duration_max": 1024,
        "duration_min": 24,
        "exp_mag": True,
    },
}

train_params = {
    "data_layer_params": {"dataset_files": [f"{dataset_location}/train_32.csv"], "shuffle": True},
}

eval_params = {
    "data_layer_params": {
        "dataset_files": [f"{dataset_location}/val_32.csv"], "duration_max": 10000, "duration_min": 0, "shuffle": False,
    },
}

infer_params = {
    "data_layer_params": {
        "dataset_files": [f"{dataset_location}/test.csv"], "duration_max": 10000, "duration_min": 0, "shuffle": False,
    },
}
