"""open_s2s: sequence-to-sequence speech and language models on TensorFlow 2 / Keras 3.

``open_s2s.load(path)`` returns a trained model ready for inference (see ``open_s2s.api``);
importing the package itself loads no TensorFlow.
"""


def load(path, checkpoint=None):
    """A trained model from a run's logdir or an export directory: see ``open_s2s.api.load``."""
    from open_s2s.api import load as _load  # noqa: PLC0415  (TensorFlow is imported on first use)

    return _load(path, checkpoint)
