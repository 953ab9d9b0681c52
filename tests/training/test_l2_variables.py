"""The L2 term of the trained loss falls on the variables OpenSeq2Seq regularized.

OpenSeq2Seq (open_seq2seq/parts/cnns/conv_blocks.py, encoders/ds2_encoder.py,
decoders/fc_decoders.py) passed its regularizer as ``kernel_regularizer`` of convolutions
and dense layers and as ``gamma_regularizer`` of batch norms; Jasper's 1x1 residual
projections (``conv_bn_res_bn_actv``) and DeepSpeech2's cuDNN RNNs were built without it.
"""

import re

import numpy as np
import pytest
from test_trainer import setup

from open_s2s.training.trainer import Trainer

SCALE = 1e-3

DS2 = [
    "--encoder=open_s2s.encoders.DeepSpeech2Encoder",
    "--encoder_params={'conv_layers':[{'kernel_size':[5,5],'stride':[2,2],'num_channels':4}],"
    "'num_rnn_layers':2,'rnn_cell_dim':8,'row_conv':True,'row_conv_width':3,'n_hidden':12,"
    "'dropout_keep_prob':1.0}",
]
REGULARIZED = {
    "tdnn": [r"block\d+_conv\d+/.*kernel$", r"block\d+_norm\d+/gamma$", r"block\d+_res\d+_norm/gamma$"],
    "ds2": [r"/conv\d+/kernel$", r"/conv\d+_bn/gamma$", r"/row_conv/kernel$", r"/row_conv_bn/gamma$"]
    + [r"/fully_connected/kernel$"],
}
NOT_REGULARIZED = {"tdnn": r"_res\d+_conv/", "ds2": r"/rnn\d+_(fw|bw)/"}


@pytest.mark.parametrize("encoder", ["tdnn", "ds2"])
def test_trained_l2_term_covers_openseq2seq_s_variables(small_config, tmp_path, encoder):
    # NO_RANDOMNESS (test_trainer) turns batch norm off: put it back, gammas matter here
    extra = ["--regularizer=l2", f"--regularizer_params={{'scale':{SCALE}}}"]
    extra += DS2 if encoder == "ds2" else ["--encoder_params/normalization=batch_norm"]
    params, runtime, _, model = setup(small_config, tmp_path, extra)
    patterns = [*REGULARIZED[encoder], r"/decoder/.*kernel$"]
    expected = [v for v in model.trainable_variables if any(re.search(p, v.path) for p in patterns)]
    assert any(re.search(NOT_REGULARIZED[encoder], v.path) for v in model.trainable_variables)
    assert any(v.path.endswith("gamma") for v in expected)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=1)
    by_formula = SCALE * sum(float(np.sum(np.square(np.asarray(v, np.float64)))) for v in expected)
    assert float(trainer._regularization()) == pytest.approx(by_formula, rel=1e-5)
