"""check_detector's effect-on-the-judge check: a contributed detector that turns a real sample's
verdict to fake is refused, whatever else it does right."""

from tests.graphs import build_tf1_colour_graph
from tools import check_detector


def test_a_detector_that_flips_real_samples_is_refused(make_detector, capsys):
    # Fires at full score on every face crop: the uncalibrated contribution the check exists for.
    everything = build_tf1_colour_graph(colours=((128, 128, 128),), tolerance=256.0)
    directory = make_detector(
        "everything", everything, classes=[(1, "everything", "Everything")], input="face_crop", min_score=0.3
    )
    assert check_detector.main([str(directory)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "FAIL effect on the judge" in text and "turned real sample(s) to fake: real_img16.jpg" in text
