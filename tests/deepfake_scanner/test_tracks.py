"""Face tracks across sampled frames, and the clips cut from them."""

import cv2
import numpy as np

from cnn_detector.types import FrameDetections
from deepfake_scanner.tracks import FaceTrack, TrackedFace, track_clips, track_faces
from deepfake_scanner.video import VideoFrames

LEFT = (0.2, 0.1, 0.5, 0.3)
RIGHT = (0.2, 0.6, 0.5, 0.8)


def frame(index, *faces):
    return FrameDetections("v.mp4", index, index * 40.0, (240, 320), tuple(faces))


def shifted(box, dx):
    return (box[0], box[1] + dx, box[2], box[3] + dx)


def test_two_people_two_tracks_whatever_the_order_of_faces():
    frames = [frame(0, LEFT, RIGHT), frame(10, shifted(RIGHT, 0.02), shifted(LEFT, 0.02)), frame(20, LEFT)]
    left, right = track_faces(frames)
    assert [f.frame_index for f in left.faces] == [0, 10, 20]
    assert [f.frame_index for f in right.faces] == [0, 10]
    assert left.faces[1].box == shifted(LEFT, 0.02) and (left.start_ms, left.end_ms) == (0.0, 800.0)


def test_a_face_missing_too_long_starts_a_new_track():
    frames = [frame(0, LEFT), frame(1), frame(2), frame(3, LEFT), frame(4), frame(5), frame(6), frame(7, LEFT)]
    tracks = track_faces(frames, max_gap=2)
    assert [[f.frame_index for f in t.faces] for t in tracks] == [[0, 3], [7]]
    assert [t.track_id for t in tracks] == [0, 1]


def test_no_overlap_no_match():
    tracks = track_faces([frame(0, LEFT), frame(1, RIGHT)])
    assert len(tracks) == 2
    assert track_faces([]) == []


def write_video(path, frames=30, fps=25.0):
    """A red square on the left, moving down one pixel a frame; frame i has green = 5 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (320, 240))
    for i in range(frames):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:, :, 1] = 5 * i
        image[48 + i : 120 + i, 32:96, 2] = 255  # BGR: red
        writer.write(image)
    writer.release()
    return path


def test_clips_follow_the_track_at_the_video_rate(tmp_path):
    video = VideoFrames(write_video(tmp_path / "v.mp4"), fps=5.0, max_frames=100)
    track = FaceTrack(0, (TrackedFace(0, 0.0, (0.2, 0.1, 0.5, 0.3)), TrackedFace(10, 400.0, (0.24, 0.1, 0.54, 0.3))))
    clips = list(track_clips(video, [track], length=8, size=32))
    assert [(c.track_id, c.start_index, c.start_ms) for c in clips] == [(0, 0, 0.0), (0, 10, 400.0)]
    first = clips[0].frames
    assert first.shape == (8, 32, 32, 3) and first.dtype == np.uint8
    assert first[:, 16, 16, 0].min() > 200  # the red face is in the middle of every crop
    greens = first[:, 2, 2, 1].astype(int)  # a corner: the frame's own green, frame after frame
    assert np.all(np.diff(greens) > 0)


def test_a_clip_cut_short_by_the_end_is_dropped(tmp_path):
    video = VideoFrames(write_video(tmp_path / "v.mp4", frames=12), fps=5.0, max_frames=100)
    track = FaceTrack(0, (TrackedFace(0, 0.0, (0.2, 0.1, 0.5, 0.3)), TrackedFace(10, 400.0, (0.2, 0.1, 0.5, 0.3))))
    assert [c.start_index for c in track_clips(video, [track], length=8, size=16)] == [0]
