"""A reference clip detector, small enough to read in one go: the clip contract by example
(`input: face_clip`, or `face_clip_audio` with ``audio``), used by the tests of the clip stage
and by bench/bench_pipeline.py to measure what the clip stage costs around a detector.

It is not a deepfake detector: its score is how much the face crop changes from frame to frame
(or how loud the clip's audio is), and its one box is the whole crop.
"""

from __future__ import annotations


def build_flicker_clip_graph(audio: bool = False) -> bytes:
    """A clip detector (input face_clip, or face_clip_audio with ``audio``). Score = mean
    absolute change between consecutive frames / 64 (or, with audio, the mean
    absolute audio level x 4), one box: the whole crop."""
    import tensorflow as tf

    from cnn_detector.export import clip_tensor_specs, freeze_detection_function, name_outputs

    def serve(clips, sound=None):
        x = tf.cast(clips, tf.float32)
        change = tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1]), axis=[1, 2, 3, 4]) / 64.0
        score = tf.reduce_mean(tf.abs(sound), axis=1) * 4.0 if sound is not None else change
        score = tf.clip_by_value(score, 0.0, 1.0)
        n = tf.shape(clips)[0]
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    function = tf.function(serve if audio else (lambda clips: serve(clips)))
    return freeze_detection_function(function, clip_tensor_specs(audio))
