"""Everything that makes the shipped detectors: the share's index and splits, the fake
factory, Pascal VOC / TFRecord conversion, RetinaNet training and evaluation."""
