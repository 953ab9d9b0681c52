"""Names of the entries of batch and layer-output dicts, shared by every component."""

SOURCE = "source"  # [batch, time, features] float, or [batch, time] int ids for text
SOURCE_LENGTH = "source_length"  # [batch] int32
TARGET = "target"  # [batch, time] int32 ids, or [batch, time, mel] for speech synthesis
TARGET_LENGTH = "target_length"  # [batch] int32
AUDIO = "audio"  # [batch, samples] float32 raw waveform (export / infer)
AUDIO_LENGTH = "audio_length"  # [batch] int32
AUDIO_DURATION = "audio_duration"  # [batch] float32 seconds, for throughput figures
INDEX = "index"  # [batch] int64 row index in the dataset, so infer can restore input order
LABEL = "label"  # [batch] int32 class id (classification families)

OUTPUTS = "outputs"  # encoder/decoder output tensor
LENGTHS = "lengths"  # [batch] valid lengths of OUTPUTS along time
LOGITS = "logits"  # [batch, time, vocab] float
TARGET_TEXT = "target_text"  # [batch] tf.string raw reference text (text targets), for metrics
STEP = "step"  # scalar int64 training step, put in training batches by the trainer (step-dependent losses)
