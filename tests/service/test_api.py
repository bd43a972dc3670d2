"""The service's API through an HTTP client, against the real app, a real SQLite file and the
real Scanner (issue 23)."""

from __future__ import annotations

import json

import cv2
import numpy as np

from tests.service.conftest import (
    FAKE_IMAGE,
    FAKE_VIDEO,
    REAL_IMAGE,
    REAL_VIDEO,
    THRESHOLD,
    make_service,
    upload,
    wait_for,
)

VERDICT_FIELDS = ("status", "is_fake", "fake_probability", "threshold", "likely_algorithm", "frames_used", "detectors")


def _main_thread_verdicts(tmp_path, files) -> dict[str, dict]:
    from deepfake_scanner.cli.main_thread import main

    folder = tmp_path / "input"
    folder.mkdir()
    for path in files:
        (folder / path.name).symlink_to(path)
    out = tmp_path / "verdicts.jsonl"
    assert main(["--input", str(folder), "--output", str(out), "--threshold", str(THRESHOLD), "--no-progress"]) == 0
    return {json.loads(line)["source"].rsplit("/", 1)[-1]: json.loads(line) for line in out.read_text().splitlines()}


def test_the_service_gives_the_verdicts_main_thread_gives(service, tmp_path):
    client, _ = service
    files = [FAKE_IMAGE, REAL_IMAGE, FAKE_VIDEO, REAL_VIDEO]
    ids = {path.name: upload(client, path).json()["id"] for path in files}
    served = {name: wait_for(client, scan_id)["result"]["verdict"] for name, scan_id in ids.items()}
    expected = _main_thread_verdicts(tmp_path, files)
    for name in ids:
        assert {k: served[name][k] for k in VERDICT_FIELDS} == {k: expected[name][k] for k in VERDICT_FIELDS}, name
    assert served[FAKE_IMAGE.name]["is_fake"] and not served[REAL_IMAGE.name]["is_fake"]


def test_a_scan_reports_evidence_boxes_and_an_annotated_frame(service):
    client, _ = service
    response = upload(client, FAKE_VIDEO)
    assert response.status_code == 202 and response.json()["status"] in ("queued", "running")
    scan = wait_for(client, response.json()["id"])
    result = scan["result"]
    assert scan["status"] == "done" and scan["media_kind"] == "video" and scan["attempts"] == 1
    assert {e["detector"] for e in result["evidence"]} == set(result["verdict"]["detectors"])
    assert result["detections"], "the swap video has boxes"
    top = result["detections"][0]
    assert all(0.0 <= v <= 1.0 for v in top["box"]) and top["score"] == max(d["score"] for d in result["detections"])
    assert result["telling_frame"] == top["frame_index"]
    frame = client.get(scan["frame_url"])
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR)
    capture = cv2.VideoCapture(str(FAKE_VIDEO))
    assert image.shape[:2] == (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)))


def test_identical_uploads_reuse_one_scan(service, scanner):
    client, _ = service
    first = upload(client, REAL_IMAGE)
    wait_for(client, first.json()["id"])
    again = upload(client, REAL_IMAGE, name="renamed.jpg")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert scanner.calls[f"{first.json()['sha256']}.jpg"] == 1


def test_posts_are_scanned_before_they_are_published_and_fakes_are_tagged(service):
    client, _ = service
    fake = upload(client, FAKE_IMAGE, "/api/posts", caption="a celebrity")
    real = upload(client, REAL_VIDEO, "/api/posts", caption="my holiday")
    assert fake.status_code == 202 and fake.json()["status"] == "scanning" and fake.json()["tags"] == []
    for post in (fake, real):
        wait_for(client, post.json()["scan_id"])
    posts = {p["caption"]: p for p in client.get("/api/posts").json()}
    assert posts["a celebrity"]["status"] == "published" and posts["a celebrity"]["tags"] == ["#Deepfake"]
    assert posts["my holiday"]["status"] == "published" and posts["my holiday"]["tags"] == []
    assert [p["caption"] for p in client.get("/api/posts").json()] == ["my holiday", "a celebrity"]  # newest first
    again = upload(client, FAKE_IMAGE, "/api/posts", caption="the same picture again")
    assert again.status_code == 201 and again.json()["tags"] == ["#Deepfake"]  # the finished scan, reused


def test_a_report_rescans_the_post_and_only_a_moderator_decides(service, scanner):
    from deepfake_scanner.service.app import add_moderator

    client, app = service
    post = upload(client, REAL_IMAGE, "/api/posts", caption="looks real").json()
    wait_for(client, post["scan_id"])
    report = client.post(f"/api/posts/{post['id']}/reports", json={"reason": "the ear is wrong"})
    assert report.status_code == 201 and report.json()["status"] == "open"
    wait_for(client, report.json()["scan"]["id"])
    assert sum(scanner.calls.values()) == 2  # scanned again
    missing = client.get("/api/reports")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/reports", headers={"Authorization": "Bearer not-a-token"}).status_code == 403
    token = add_moderator(app.state.sessions, "alice")
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/reports", headers=auth).json()
    assert [r["reason"] for r in listed] == ["the ear is wrong"] and listed[0]["scan"]["status"] == "done"
    decision = f"/api/reports/{listed[0]['id']}/decision"
    assert client.post(decision, json={"decision": "fake"}).status_code == 401
    assert client.post(decision, json={"decision": "maybe"}, headers=auth).status_code == 422
    assert client.post(decision, json={"decision": "fake", "note": "ear"}, headers=auth).status_code == 200
    assert client.post(decision, json={"decision": "real"}, headers=auth).status_code == 409
    assert client.get(f"/api/posts/{post['id']}").json()["tags"] == ["#Deepfake"]
    assert client.get("/api/reports", headers=auth).json() == []


def test_moderator_tokens_are_stored_hashed(service):
    from sqlalchemy import select

    from deepfake_scanner.service.app import add_moderator
    from deepfake_scanner.service.models import Moderator

    _, app = service
    token = add_moderator(app.state.sessions, "bob")
    with app.state.sessions() as session:
        stored = session.scalar(select(Moderator).where(Moderator.name == "bob"))
    assert token not in stored.token_sha256 and len(stored.token_sha256) == 64


def test_refused_uploads_leave_nothing_behind(tmp_path, scanner):
    data = tmp_path / "data"
    with make_service(data, scanner, max_upload_bytes=20_000) as (client, _):
        text = client.post("/api/scans", files={"file": ("holiday.jpg", b"not an image at all, whatever the name")})
        assert text.status_code == 415
        with open(FAKE_VIDEO, "rb") as handle:  # larger than 20 kB
            assert client.post("/api/scans", files={"file": ("v.mp4", handle)}).status_code == 413
        assert client.post("/api/scans", data={"caption": "no file"}).status_code == 400
        assert client.post("/api/scans", json={"file": "x"}).status_code == 400
        assert client.post("/api/posts/999/reports", json={"reason": "x"}).status_code == 404
        assert client.get("/api/scans/nope").status_code == 404
        assert client.get("/api/stats").json() == {"scans": {}}
    assert not list((data / "incoming").iterdir()) and not (data / "media").exists()


def test_a_full_queue_answers_429_with_retry_after(tmp_path, scanner):
    scanner.gate.clear()  # the first scan waits, so it stays pending
    try:
        with make_service(tmp_path / "data", scanner, workers=1, max_pending=1, retry_after_s=7) as (client, _):
            first = upload(client, REAL_IMAGE)
            assert first.status_code == 202
            busy = upload(client, FAKE_IMAGE)
            assert busy.status_code == 429 and busy.headers["retry-after"] == "7"
            assert upload(client, REAL_IMAGE).status_code == 200  # the pending scan of the same bytes is reused
            scanner.gate.set()
            assert wait_for(client, first.json()["id"])["status"] == "done"
            assert upload(client, FAKE_IMAGE).status_code == 202
    finally:
        scanner.gate.set()


def test_names_and_captions_from_strangers_stay_data(tmp_path, scanner):
    data = tmp_path / "data"
    caption = "<script>alert(1)</script>'; DROP TABLE posts; --"
    with make_service(data, scanner) as (client, _):
        tricky = upload(client, FAKE_IMAGE, "/api/posts", name="../../../etc/passwd.jpg", caption=caption).json()
        unicode = upload(client, REAL_IMAGE, name="фото 😀\u202e.jpg").json()
        scan = wait_for(client, tricky["scan_id"])
        assert scan["filename"] == "passwd.jpg" and scan["result"]["verdict"]["source"] == "passwd.jpg"
        assert wait_for(client, unicode["id"])["filename"] == "фото 😀.jpg"  # the direction override is gone
        assert [p["caption"] for p in client.get("/api/posts").json()] == [caption]
        report = client.post(f"/api/posts/{tricky['id']}/reports", json={"reason": "1; DELETE FROM reports"})
        assert report.json()["reason"] == "1; DELETE FROM reports"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    stored = sorted(p.name for p in (data / "media").iterdir())
    assert stored == sorted(f"{sha}.jpg" for sha in (scan["sha256"], unicode["sha256"]))


def test_health_and_the_page(service):
    client, _ = service
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and "temporal_face" in health["detectors"] and health["judge"]
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP below forbids it
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = client.get("/static/app.js").text
    assert "textContent" in script and "innerHTML" not in script
    assert client.get("/openapi.json").json()["paths"]["/api/scans"]


def test_provenance_is_reported_beside_the_verdict_and_tags_the_post(service, tmp_path):
    from tests.provenance_fixtures import sign_c2pa

    client, _ = service
    signed = sign_c2pa(REAL_IMAGE, tmp_path / "generated.jpg", generator="ImageMaker")
    post = upload(client, signed, "/api/posts", caption="made with a generator").json()
    scan = wait_for(client, post["scan_id"])
    verdict = scan["result"]["verdict"]
    assert verdict["provenance"]["c2pa_ai"] == "generated"
    assert verdict["provenance"]["c2pa_claim_generator"] == "ImageMaker/1.0"
    assert verdict["is_fake"] is False  # the detectors' judgement stands apart from what the file declares
    assert client.get(f"/api/posts/{post['id']}").json()["tags"] == ["#AIGenerated"]
    lines = _main_thread_verdicts(tmp_path, [signed])
    assert lines["generated.jpg"]["provenance"]["c2pa_ai"] == "generated"  # the CLI's JSON lines carry it too


def test_a_scan_interrupted_too_often_is_given_up_and_its_post_not_published(tmp_path, scanner):
    from deepfake_scanner.service.app import ServiceSettings, open_database
    from deepfake_scanner.service.jobs import MAX_ATTEMPTS
    from deepfake_scanner.service.models import Post, Scan

    data = tmp_path / "data"
    engine, sessions = open_database(ServiceSettings(data_dir=data))
    with sessions.begin() as session:  # what a process that died on this media each time leaves
        session.add(
            Scan(
                id="a" * 32,
                sha256="0" * 64,
                filename="crash.mp4",
                media_path=str(FAKE_VIDEO),
                media_kind="video",
                size=1,
                status="running",
                progress=0.1,
                attempts=MAX_ATTEMPTS,
                error="",
            )
        )
        session.flush()
        session.add(Post(caption="x", scan_id="a" * 32, status="scanning", tags=""))
    engine.dispose()
    with make_service(data, scanner) as (client, _):
        scan = client.get(f"/api/scans/{'a' * 32}").json()
        assert scan["status"] == "error" and "interrupted" in scan["error"]
        assert client.get("/api/posts/1").json()["status"] == "rejected"
        assert client.get("/api/posts").json() == []  # the feed shows published posts only
    assert sum(scanner.calls.values()) == 0
