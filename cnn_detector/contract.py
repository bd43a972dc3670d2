"""The TF Object Detection API tensor contract, written down once.

Every detector graph, whether exported by the original TF1 Object Detection API or by this
project's tools from a TF2 Model Garden model, exposes exactly these tensors:

- ``image_tensor:0``: uint8 [N, H, W, 3], RGB.
- ``detection_boxes:0``: float [N, K, 4], normalized (ymin, xmin, ymax, xmax).
- ``detection_scores:0``: float [N, K], in [0, 1].
- ``detection_classes:0``: float [N, K], 1-based labelmap ids.
- ``num_detections:0``: float [N], valid rows of the K per image.

Clip detectors (manifest ``input: face_clip`` or ``face_clip_audio``) take ``image_tensor:0``
uint8 [N, T, H, W, 3]: T consecutive frames of one face track; ``face_clip_audio`` ones also
take ``audio_tensor:0`` float32 [N, S], the same span's audio at 16 kHz mono. Their outputs are
the same four tensors, one set per clip, boxes normalized in the clip's crop.
"""

INPUT_NODE = "image_tensor"
AUDIO_NODE = "audio_tensor"
CLIP_INPUTS = ("face_clip", "face_clip_audio")
BOXES_NODE = "detection_boxes"
SCORES_NODE = "detection_scores"
CLASSES_NODE = "detection_classes"
NUM_DETECTIONS_NODE = "num_detections"

OUTPUT_NODES = (BOXES_NODE, SCORES_NODE, CLASSES_NODE, NUM_DETECTIONS_NODE)


def tensor_name(node: str) -> str:
    """The name of a node's first output tensor, as `Session.run` wants it."""
    return f"{node}:0"
