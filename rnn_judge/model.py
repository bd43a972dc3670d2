"""The judge network: invariant to which and how many detectors are present.

Input x [B, T, D, F] (frames x detector streams x features), frame_mask [B, T].
1. A shared encoder reads every detector stream the same way: Dense layers with no bias and
   ReLU, so a silent stream (all-zero features) encodes to exactly zero.
2. Streams are pooled across detectors by max and by sum. Zeros change neither, so adding a
   detector that never fires changes nothing, and a new detector that fires raises the pooled
   evidence exactly as a firing of the old ones would: no retraining.
3. A GRU reads the pooled frames; attention over time (masked) summarizes them; a sigmoid
   gives the probability of fake. A single image is a sequence of length one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JudgeConfig:
    num_features: int = 8
    encoder_units: int = 32
    gru_units: int = 32
    dropout: float = 0.1

    def problem(self) -> str:
        """What is wrong with these settings ('' when nothing is)."""
        for name in ("num_features", "encoder_units", "gru_units"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
                return f"{name} must be a whole number from 1 to 4096, got {value!r}"
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            return f"dropout must be a number in [0, 1), got {self.dropout!r}"
        return ""


def build_judge(config: JudgeConfig):
    """A tf_keras Model: (x [B, T, D, F], frame_mask [B, T]) -> (probability [B, 1],
    attention [B, T], stream_evidence [B, T, D]) where stream_evidence says how much each
    detector stream contributed on each frame (for likely_algorithm)."""
    import tensorflow as tf
    import tf_keras as keras

    x = keras.Input((None, None, config.num_features), name="features")
    frame_mask = keras.Input((None,), name="frame_mask")
    h = keras.layers.Dense(config.encoder_units, use_bias=False, activation="relu", name="encoder_1")(x)
    h = keras.layers.Dense(config.encoder_units, use_bias=False, activation="relu", name="encoder_2")(h)
    evidence = keras.layers.Lambda(lambda t: tf.reduce_sum(t, axis=-1), name="stream_evidence")(h)
    pooled_max = keras.layers.Lambda(lambda t: tf.reduce_max(t, axis=2), name="pool_max")(h)
    pooled_sum = keras.layers.Lambda(lambda t: tf.reduce_sum(t, axis=2), name="pool_sum")(h)
    pooled = keras.layers.Concatenate(name="pooled")([pooled_max, pooled_sum])
    mask_bool = keras.layers.Lambda(lambda m: m > 0.5, name="mask_bool")(frame_mask)
    seq = keras.layers.GRU(config.gru_units, return_sequences=True, name="gru")(pooled, mask=mask_bool)
    seq = keras.layers.Dropout(config.dropout)(seq)
    logits = keras.layers.Dense(1, name="attention_logits")(seq)

    def attend(args):
        logits, mask = args
        logits = tf.squeeze(logits, -1) + (1.0 - mask) * -1e9
        return tf.nn.softmax(logits, axis=-1)

    attention = keras.layers.Lambda(attend, name="attention")([logits, frame_mask])
    summary = keras.layers.Lambda(lambda a: tf.reduce_sum(a[0] * a[1][:, :, None], axis=1), name="summary")(
        [seq, attention]
    )
    # The strongest single frame as well: one clearly fake frame is evidence on its own.
    peak = keras.layers.Lambda(lambda a: tf.reduce_max(a[0] - (1.0 - a[1][:, :, None]) * 1e9, axis=1), name="peak")(
        [pooled, frame_mask]
    )
    merged = keras.layers.Concatenate()([summary, peak])
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(merged)
    return keras.Model([x, frame_mask], [probability, attention, evidence], name="judge")
