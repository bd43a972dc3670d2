"""Provenance beside the detectors: C2PA credentials and known invisible watermarks are read,
reported as their own fields, and kept through the verdict's JSON record."""

from __future__ import annotations

import cv2
import pytest

from cnn_detector.types import Provenance, Verdict
from deepfake_scanner.output.verdicts import verdict_from_record, verdict_record
from deepfake_scanner.provenance import (
    FACTORY_MARK,
    SDXL_BITS,
    WATERMARKS,
    embed_watermark,
    read_provenance,
    read_watermarks,
)
from tests.provenance_fixtures import WATERMARK_BASE, sign_c2pa, watermarked


@pytest.mark.parametrize(
    "source_type, ai",
    [
        ("trainedAlgorithmicMedia", "generated"),
        ("compositeWithTrainedAlgorithmicMedia", "edited"),
        ("digitalCapture", ""),
    ],
)
def test_c2pa_credentials_say_who_made_the_media_and_whether_ai_did(tmp_path, source_type, ai):
    signed = sign_c2pa(WATERMARK_BASE, tmp_path / "signed.jpg", source_type, generator="ImageMaker")
    found = read_provenance(signed)
    assert (found.c2pa_ai, found.c2pa_claim_generator) == (ai, "ImageMaker/1.0")
    assert found.c2pa_validation.startswith("Valid") and "signingCredential.untrusted" in found.c2pa_validation
    assert found.found and found.declares_ai == bool(ai) and found.error == ""


def test_media_without_credentials_or_marks_says_nothing(tmp_path):
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), cv2.imread(str(WATERMARK_BASE)))
    assert read_provenance(plain) == Provenance()
    assert read_provenance(WATERMARK_BASE) == Provenance()


def test_a_tampered_manifest_is_reported_invalid(tmp_path):
    signed = sign_c2pa(WATERMARK_BASE, tmp_path / "signed.jpg")
    data = bytearray(signed.read_bytes())
    data[-200] ^= 0xFF  # a pixel byte changed after signing
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    found = read_provenance(tampered)
    assert found.c2pa_ai == "generated" and found.c2pa_validation.startswith("Invalid")


@pytest.mark.parametrize("name", sorted(WATERMARKS))
def test_each_known_watermark_is_read_back_from_a_lossless_still(tmp_path, name):
    kind, payload, method = WATERMARKS[name]
    path = tmp_path / "marked.png"
    cv2.imwrite(str(path), watermarked(kind, payload, method))
    assert read_provenance(path).watermarks == (name,)


def test_the_factory_mark_survives_jpeg_and_the_fragile_marks_are_not_sought_there(tmp_path):
    marked = embed_watermark(cv2.imread(str(WATERMARK_BASE)))
    assert read_watermarks(marked) == ("deepfake-scanner-factory",)
    jpeg = tmp_path / "marked.jpg"
    cv2.imwrite(str(jpeg), marked, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert read_provenance(jpeg).watermarks == ("deepfake-scanner-factory",)  # DWT-DCT-SVD survives JPEG
    sdxl = tmp_path / "sdxl.jpg"
    cv2.imwrite(str(sdxl), watermarked("bits", SDXL_BITS), [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert read_provenance(sdxl).watermarks == ()  # DWT-DCT does not: not looked for in JPEG
    assert len(FACTORY_MARK) * 8 > 48


def test_provenance_travels_in_the_json_record_and_only_when_found():
    provenance = Provenance(("stable-diffusion-xl",), "generated", "ImageMaker/1.0", "Valid")
    verdict = Verdict("a.png", "ok", True, 0.9, 0.5, "gan_face:gan", 1, ("gan_face",), provenance=provenance)
    record = verdict_record(verdict)
    assert record["provenance"]["watermarks"] == ["stable-diffusion-xl"]
    assert verdict_from_record(record) == verdict
    bare = Verdict("b.png", "ok", False, 0.1, 0.5, "", 1, ("gan_face",), provenance=Provenance())
    assert "provenance" not in verdict_record(bare)


def test_any_file_name_and_any_size_is_read_safely(tmp_path):
    import os

    marked = embed_watermark(cv2.imread(str(WATERMARK_BASE)))
    odd = tmp_path / os.fsdecode(b"not-utf8-\xff.png")  # OpenCV's own reader crashes on such names
    ok, data = cv2.imencode(".png", marked)
    odd.write_bytes(data.tobytes())
    assert read_provenance(odd).watermarks == ("deepfake-scanner-factory",)
    big = tmp_path / "big.png"
    cv2.imwrite(str(big), cv2.resize(marked, (2000, 1500)))  # over the pixel cap: not searched
    assert read_provenance(big) == Provenance()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    found = read_provenance(broken)  # no crash: the C2PA reader's complaint is reported, nothing else
    assert found.watermarks == () and found.c2pa_claim_generator == "" and found.error.startswith("C2PA:")
