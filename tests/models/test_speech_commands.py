"""SpeechCommands metrics against scikit-learn, and its report hooks."""

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix

from open_s2s.data.data_spec import DataSpec, audio_features, class_id
from open_s2s.data.speech_commands import labels
from open_s2s.decoders import FullyConnectedSCDecoder
from open_s2s.encoders import ResNetEncoder
from open_s2s.losses import CrossEntropyLoss
from open_s2s.models import SpeechCommands
from open_s2s.models.speech_commands import confusion_image

NAMES = labels.labels_for("v1-12")
SPEC = DataSpec(audio_features(8, 16000, 0.01, clip_samples=16000), class_id(tuple(NAMES)))
PARAMS = {
    "encoder": ResNetEncoder,
    "encoder_params": {"resnet_size": 18, "num_filters": 2, "block_sizes": [1], "block_strides": [1]},
    "decoder": FullyConnectedSCDecoder,
    "decoder_params": {},
    "loss": CrossEntropyLoss,
    "loss_params": {},
    "data_layer": object,
    "data_layer_params": {},
}


def records(seed=0, n=200):
    rng = np.random.default_rng(seed)
    refs = rng.integers(0, 12, n)
    hyps = np.where(rng.random(n) < 0.7, refs, rng.integers(0, 12, n))
    return [(i, int(r), int(h)) for i, (r, h) in enumerate(zip(refs, hyps))], refs, hyps


def test_accuracy_and_confusion_match_sklearn():
    model = SpeechCommands(PARAMS, SPEC)
    recs, refs, hyps = records()
    metrics = model.finalize_eval(recs)
    assert metrics["accuracy"] == 100.0 * accuracy_score(refs, hyps)
    np.testing.assert_array_equal(model.confusion(recs), confusion_matrix(refs, hyps, labels=range(12)))
    text = model.eval_text(recs).splitlines()
    assert len(text) == 2 + 12 and text[2].startswith("_silence_")
    row = [int(v) for v in text[2 + 3].split()[1:]]  # the "yes" row
    assert row == confusion_matrix(refs, hyps, labels=range(12))[3].tolist()


def test_confusion_image_rows_are_normalized_counts():
    matrix = np.array([[3, 1], [0, 0]])
    image = confusion_image(matrix, cell=2)
    assert image.shape == (4, 4, 3) and image.dtype == np.uint8
    low, high = np.array([255, 255, 255]), np.array([8, 48, 107])
    np.testing.assert_array_equal(image[0, 0], (low + 0.75 * (high - low)).astype(np.uint8))
    np.testing.assert_array_equal(image[3, 3], low)  # an empty reference row is white
    assert image[0, 0].sum() < image[0, 2].sum() < image[2, 0].sum()  # 0.75 darker than 0.25, darker than 0


def test_infer_rows_and_float32_twin():
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = SpeechCommands(PARAMS, SPEC)
        model(model.dummy_batch())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    twin = model.float32_twin()
    assert twin.compute_dtype == "float32" and model.compute_dtype == "bfloat16"
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    decoded = {"labels": np.array([2, 0]), "probability": np.array([0.91234, 0.5])}
    rows = model.infer_batch({"index": np.array([5, 7])}, decoded)
    assert rows == [(5, ["yes", "0.9123"]), (7, ["_silence_", "0.5000"])]
