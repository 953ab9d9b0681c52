"""Using a trained model from Python: ``open_s2s.load(path)``.

    import open_s2s
    asr = open_s2s.load("logs/jasper")                 # a run's logdir, or an export directory
    asr.transcribe(["a.wav", "b.flac"], batch_size=8)  # any rate / channels: resampled, mixed down
    asr.transcribe(["a.wav"], language_model="logs/lm/train_3gram.arpa", alpha=0.5, beta=0.0)

The object depends on the model's family: ``SpeechRecognizer.transcribe``,
``KeywordSpotter.classify``, ``Translator.translate``, ``Synthesizer.synthesize``.
"""

from __future__ import annotations

from open_s2s.api.models import (
    FAMILY_CLASSES,
    Classification,
    KeywordSpotter,
    SpeechRecognizer,
    Synthesizer,
    Translator,
)

__all__ = ["Classification", "KeywordSpotter", "SpeechRecognizer", "Synthesizer", "Translator", "load"]


def load(path: str, checkpoint: str | None = None):
    """Loads a trained model for inference.

    Args:
      path: a run's logdir (the model is rebuilt from its ``config.json`` in the run's
        dtype and restored from a checkpoint) or an export directory written by
        ``--mode=export`` (which needs nothing else).
      checkpoint: for a logdir: None or ``"latest"`` (the latest checkpoint, as
        ``--mode=infer`` uses), ``"best"`` (``best_models/``, the best eval), or a
        checkpoint prefix.

    Returns:
      A ``SpeechRecognizer``, ``KeywordSpotter``, ``Translator`` or ``Synthesizer``.

    Raises:
      ConfigError: the path holds neither, or the checkpoint is missing.
    """
    from open_s2s import quiet  # noqa: PLC0415

    quiet.import_tensorflow()  # first, so that its registration noise is filtered
    from open_s2s.api.loading import load_source  # noqa: PLC0415

    loaded = load_source(str(path), checkpoint)
    return FAMILY_CLASSES[loaded.family](loaded)
