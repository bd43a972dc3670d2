"""The clip extension of the detector contract: face_clip and face_clip_audio detectors
(uint8 [N, T, H, W, 3] clips, float32 [N, S] audio), in the manifest and the runtime."""

import numpy as np
import pytest

from cnn_detector.errors import ManifestError, UntrustedGraphError
from cnn_detector.flicker_clip import build_flicker_clip_graph as clip_graph
from cnn_detector.frozen_graph import load_detector
from cnn_detector.manifest import parse_manifest
from cnn_detector.registry import load_detector_spec

CLASSES = [(1, "flicker", "Temporal flicker")]
T, S = 4, 1600


def manifest(**fields):
    data = {
        "name": "clip_test",
        "version": "1",
        "author": "a",
        "licence": "MIT",
        "algorithms": ["flicker"],
        "input": "face_clip",
        "input_size": [32, 32],
        "min_score": 0.5,
        "labelmap": "labelmap.pbtxt",
        "sha256": "0" * 64,
        "trained_on": ["x"],
        "clip_frames": T,
    }
    data.update(fields)
    return parse_manifest({k: v for k, v in data.items() if v is not None}, "d/detector.yaml")


def test_manifest_fields_of_clip_detectors():
    assert manifest().is_clip and manifest().clip_frames == T and manifest().audio_samples is None
    assert manifest(input="face_clip_audio", audio_samples=S).audio_samples == S
    with pytest.raises(ManifestError, match="input face_clip needs clip_frames"):
        manifest(clip_frames=None)
    with pytest.raises(ManifestError, match="input face_clip_audio needs audio_samples"):
        manifest(input="face_clip_audio")
    with pytest.raises(ManifestError, match="clip_frames is for clip detectors, not input face_crop"):
        manifest(input="face_crop")
    with pytest.raises(ManifestError, match="input must be one of"):
        manifest(input="face_movie")
    assert parse_manifest(manifest(input="face_clip_audio", audio_samples=S).to_yaml_dict()).clip_frames == T


def load(make_detector, graph, **fields):
    return load_detector(load_detector_spec(make_detector("clip_test", graph, classes=CLASSES, **fields)))


def test_a_clip_detector_scores_clips_and_maps_boxes_to_the_frame(make_detector):
    detector = load(make_detector, clip_graph(False), input="face_clip", clip_frames=T, input_size=[32, 32])
    still = np.full((T, 40, 40, 3), 120, np.uint8)
    flicker = still.copy()
    flicker[1::2] = 220
    crop = (0.2, 0.3, 0.6, 0.7)
    calm, busy = detector.detect_clips([still, flicker], [crop, crop], min_score=0.01)
    assert calm == []  # no change between frames: a score of 0
    assert busy[0].score == pytest.approx(1.0) and busy[0].box == pytest.approx(crop)  # the crop, in the frame
    with pytest.raises(ValueError, match=f"clips must have {T} frames"):
        detector.detect_clips([still[:2]], [crop])
    with pytest.raises(ValueError, match=r"expected uint8 \[N, T, H, W, 3\]"):
        detector.run(np.zeros((1, 32, 32, 3), np.uint8))
    detector.close()


def test_an_audio_clip_detector_hears_its_audio(make_detector):
    fields = {"input": "face_clip_audio", "clip_frames": T, "audio_samples": S, "input_size": [32, 32]}
    detector = load(make_detector, clip_graph(True), **fields)
    clip = np.full((T, 32, 32, 3), 100, np.uint8)
    box = (0.0, 0.0, 1.0, 1.0)
    loud, silent, absent = detector.detect_clips(
        [clip, clip, clip], [box] * 3, audio=[np.full(S, 0.5, np.float32), np.zeros(S, np.float32), None], min_score=0.1
    )
    assert loud[0].score == pytest.approx(1.0) and silent == [] and absent == []  # no audio reads as silence
    detector.close()


def test_the_contract_is_checked_against_the_manifest(make_detector):
    with pytest.raises(UntrustedGraphError, match=r"must be \[N, H, W, 3\] for input face_crop"):
        load(make_detector, clip_graph(False), input="face_crop", input_size=[32, 32])
    with pytest.raises(UntrustedGraphError, match="needs an 'audio_tensor' input"):
        load(make_detector, clip_graph(False), input="face_clip_audio", clip_frames=T, audio_samples=S)


@pytest.mark.slow
def test_the_scanner_runs_clip_detectors_on_face_tracks_and_the_judge_reads_them(
    tmp_path, make_detector, tf1_graph, random_judge_dir
):
    """A real video with a real face: BlazeFace tracks it, clips are cut at the video's rate, the
    flicker detector scores them, its detections land on the sampled frames the clips start on,
    and the judge reads it as one more stream; a still gets no clip detections."""
    from cnn_detector.registry import PROJECT_ROOT
    from deepfake_scanner import Scanner, ScanOptions

    make_detector("colour", tf1_graph)
    make_detector("clip_test", clip_graph(False), classes=CLASSES, input="face_clip", clip_frames=T, min_score=0.001)
    video = PROJECT_ROOT / "samples" / "videos" / "real_hamilton.mp4"
    options = ScanOptions(max_frames=6, min_score=0.001)
    with Scanner.open([tmp_path / "detectors"], random_judge_dir, options, include_shipped=False) as scanner:
        assert scanner.detector_names == ("clip_test", "colour")
        result = scanner.scan_file(video)
        still = scanner.scan_file(PROJECT_ROOT / "samples" / "real_img16.jpg")
        [threaded] = list(scanner.scan_many([video]))
    assert result.ok and result.verdict.status == "ok" and result.verdict.detectors == ("clip_test", "colour")
    with_face = [f for f in result.frames if f.faces]
    clip_hits = [d for f in result.frames for d in f.detections if d.detector == "clip_test"]
    assert with_face and len(clip_hits) >= len(with_face) - 1  # a clip per tracked face (the last may be cut short)
    for frame in result.frames:
        for det in (d for d in frame.detections if d.detector == "clip_test"):
            assert any(_inside(face, det.box) for face in frame.faces)  # mapped back onto the frame, around the face
    assert threaded == result  # the threaded pipeline runs them the same way
    assert not any(d.detector == "clip_test" for f in still.frames for d in f.detections)


def _inside(face, box) -> bool:
    """The face box lies within the clip's crop box (give or take rounding)."""
    return (
        box[0] <= face[0] + 1e-6 and box[1] <= face[1] + 1e-6 and box[2] >= face[2] - 1e-6 and box[3] >= face[3] - 1e-6
    )


@pytest.mark.slow
def test_audio_clip_detectors_hear_each_clips_span(tmp_path, make_detector, random_judge_dir):
    """A face held still for 3 s over a tone from 1 s to 2 s: the audio detector scores the
    clips that start in the tone, not those in the silence; without an audio track it is silent."""
    from cnn_detector.registry import PROJECT_ROOT
    from deepfake_scanner import Scanner, ScanOptions
    from deepfake_scanner.images import read_image
    from tests.deepfake_scanner.test_audio import write_talking_video

    face = read_image(PROJECT_ROOT / "samples" / "real_img16.jpg")
    face = face[: face.shape[0] // 2 * 2, : face.shape[1] // 2 * 2]
    talking = write_talking_video(tmp_path / "talking.mp4", image=face)
    mute = write_talking_video(tmp_path / "mute.mp4", image=face, audio=False)
    fields = {"input": "face_clip_audio", "clip_frames": T, "audio_samples": S, "min_score": 0.05}
    make_detector("clip_test", clip_graph(True), classes=CLASSES, **fields)
    options = ScanOptions(fps=4.0, min_score=0.05)
    with Scanner.open([tmp_path / "detectors"], random_judge_dir, options, include_shipped=False) as scanner:
        heard = scanner.scan_file(talking)
        silent = scanner.scan_file(mute)
    scored = {f.timestamp_ms: max((d.score for d in f.detections), default=0.0) for f in heard.frames if f.faces}
    assert len(scored) >= 8
    in_tone = [s for t, s in scored.items() if 1100 <= t <= 1800]
    in_silence = [s for t, s in scored.items() if t <= 800 or t >= 2100]
    assert in_tone and min(in_tone) > 0.5 and in_silence and max(in_silence) < 0.05
    assert silent.ok and not any(f.detections for f in silent.frames)


@pytest.mark.slow
@pytest.mark.heavy
def test_a_clip_detector_checks_packs_installs_and_scans_like_any_other(tmp_path, make_detector, capsys):
    """check_detector (contract, sample videos reproduced, latency, effect on the shipped judge),
    then a bundle through pack and install, then main_thread.py with the installed folder."""
    import shutil

    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import PROJECT_ROOT
    from deepfake_scanner.cli import main_thread
    from deepfake_scanner.detector_samples import write_expected
    from deepfake_scanner.faces import FaceFinder
    from tools import check_detector, install_detector, pack_detector

    directory = make_detector(
        "flicker_clip", clip_graph(False), classes=CLASSES, input="face_clip", clip_frames=T, min_score=0.9
    )
    (directory / "samples").mkdir()
    shutil.copy(PROJECT_ROOT / "samples" / "videos" / "real_hamilton.mp4", directory / "samples")
    with load_detector(load_detector_spec(directory)) as detector:
        write_expected(detector, FaceFinder())
    assert "real_hamilton.mp4#0" in (directory / "samples" / "expected.csv").read_text()
    assert check_detector.main([str(directory)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "1 video(s) in samples/" in out and "[N,T,H,W,3]" in out and "4-frame clip" in out
    bundle = tmp_path / "flicker_clip.zip"
    assert pack_detector.main([str(directory), "-o", str(bundle)]) == 0
    installed = tmp_path / "installed"
    assert install_detector.main([str(bundle), "--into", str(installed)]) == 0
    video = PROJECT_ROOT / "samples" / "videos" / "fake_face_swap_hamilton.mp4"
    args = ["--input", str(video), "--detectors", str(installed), "--no-progress", "--max-frames", "6"]
    assert main_thread.main(args) == 0
    assert "flicker_clip" in capsys.readouterr().out  # one more stream in the verdict's detector list
