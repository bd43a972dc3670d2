"""The sequence judge: per-frame features from each detector's detections, a shared encoder
per detector stream, pooling across detectors, a GRU with attention over time."""
