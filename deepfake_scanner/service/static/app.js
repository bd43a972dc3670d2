"use strict";
// Everything users wrote (captions, reasons, file names) is put on the page as text
// (textContent), never as HTML: a caption cannot run script here.
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
const pct = (p) => (p === null || p === undefined) ? "n/a" : (100 * p).toFixed(1) + "%";
let chosen = null;

$("file").addEventListener("change", () => { chosen = $("file").files[0] || null; });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  chosen = e.dataTransfer.files[0] || null;
  $("upload-status").textContent = chosen ? "Chosen: " + chosen.name : "";
});

function upload(url, withCaption) {
  if (!chosen) { $("upload-status").textContent = "Choose a file first."; return; }
  const form = new FormData();
  form.append("file", chosen, chosen.name);
  if (withCaption) form.append("caption", $("caption").value);
  const request = new XMLHttpRequest();
  const bar = $("upload-progress");
  bar.hidden = false; bar.value = 0;
  request.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  request.onload = () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (err) { body = {}; }
    if (request.status >= 400) {
      $("upload-status").textContent = "Refused (" + request.status + "): " + (body.detail || request.statusText);
      return;
    }
    const scanId = withCaption ? body.scan_id : body.id;
    $("upload-status").textContent = withCaption ? "Posted; scanning before it is published..." : "Scanning...";
    follow(scanId, withCaption);
  };
  request.onerror = () => { bar.hidden = true; $("upload-status").textContent = "The upload failed."; };
  request.open("POST", url);
  request.send(form);
}
$("scan").addEventListener("click", () => upload("/api/scans", false));
$("post").addEventListener("click", () => upload("/api/posts", true));

async function follow(scanId, refreshPosts) {
  for (;;) {
    const response = await fetch("/api/scans/" + encodeURIComponent(scanId));
    if (!response.ok) { $("upload-status").textContent = "The scan could not be followed (" + response.status + ")."; return; }
    const scan = await response.json();
    if (scan.status === "done" || scan.status === "error") { showScan(scan); break; }
    $("upload-status").textContent = "Scan " + scan.status + "...";
    await new Promise((r) => setTimeout(r, 700));
  }
  if (refreshPosts) loadPosts();
}

function showScan(scan) {
  $("result").hidden = false;
  const result = scan.result || {};
  const verdict = result.verdict || {};
  const box = $("verdict");
  if (scan.status === "error" || verdict.status === "error") {
    box.textContent = "Could not scan: " + (scan.error || verdict.error); box.className = "verdict";
  } else if (verdict.status === "no_face") {
    box.textContent = "No face to judge"; box.className = "verdict";
  } else {
    box.textContent = (verdict.is_fake ? "Fake" : "Real") + " - " + pct(verdict.fake_probability) + " likely fake";
    box.className = "verdict " + (verdict.is_fake ? "fake" : "real");
  }
  $("verdict-detail").textContent = scan.filename + ": " + (verdict.frames_used || 0) + " frame(s) judged, threshold " +
    pct(verdict.threshold) + (verdict.likely_algorithm ? ", likely " + verdict.likely_algorithm : "");
  const provenance = verdict.provenance || {};
  const said = [];
  if (provenance.c2pa_claim_generator) {
    said.push("C2PA credentials by " + provenance.c2pa_claim_generator +
      (provenance.c2pa_ai ? " declare it AI-" + provenance.c2pa_ai : " declare no AI") +
      " (" + provenance.c2pa_validation + ")");
  }
  if ((provenance.watermarks || []).length) said.push("watermark: " + provenance.watermarks.join(", "));
  $("provenance").textContent = said.length ? "Provenance: " + said.join("; ") + "." : "No provenance (C2PA credentials or known watermark) found.";
  const rows = $("evidence"); rows.replaceChildren();
  for (const e of result.evidence || []) {
    const tr = el("tr"); tr.append(el("td", e.detector), el("td", e.max_score.toFixed(3)), el("td", e.detections)); rows.append(tr);
  }
  $("upload-status").textContent = "Done.";
  $("frame").src = scan.frame_url ? scan.frame_url + "?t=" + Date.now() : "";
}

async function loadPosts() {
  const posts = await (await fetch("/api/posts")).json();
  const list = $("posts"); list.replaceChildren();
  for (const post of posts) {
    const item = el("article", undefined, "post"); item.dataset.postId = post.id;
    const img = el("img"); img.alt = "post " + post.id;
    if (post.status !== "scanning") img.src = post.frame_url;
    const body = el("div");
    const caption = el("p", post.caption, "caption");
    const tags = el("p");
    for (const tag of post.tags) tags.append(el("span", tag, "tag"), " ");
    const meta = el("p", post.status + (post.fake_probability !== null ? " - " + pct(post.fake_probability) + " likely fake" : ""), "muted");
    const report = el("button", "Report as fake", "report");
    report.addEventListener("click", async () => {
      const reason = prompt("Why do you think this post is fake?");
      if (!reason) return;
      const response = await fetch("/api/posts/" + post.id + "/reports", {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({reason}),
      });
      meta.textContent = response.ok ? "Reported: scanned again and queued for a moderator." : "Report refused (" + response.status + ").";
    });
    body.append(caption, tags, meta, report);
    item.append(img, body);
    list.append(item);
  }
}

async function loadReports(message) {
  const token = $("token").value.trim();
  sessionStorage.setItem("moderatorToken", token);
  const response = await fetch("/api/reports", {headers: {"Authorization": "Bearer " + token}});
  const list = $("reports"); list.replaceChildren();
  if (!response.ok) { $("moderation-status").textContent = "Refused (" + response.status + ")."; return; }
  const reports = await response.json();
  $("moderation-status").textContent = (message ? message + " " : "") + reports.length + " open report(s).";
  for (const report of reports) {
    const item = el("article", undefined, "post"); item.dataset.reportId = report.id;
    const img = el("img"); img.alt = "report " + report.id;
    const scan = report.scan || {};
    if (scan.frame_url) img.src = scan.frame_url;
    const body = el("div");
    const verdict = (scan.result || {}).verdict || {};
    body.append(
      el("p", "Post " + report.post_id + ": " + report.reason, "reason"),
      el("p", "Re-scan: " + scan.status + (verdict.fake_probability !== undefined && verdict.fake_probability !== null ? ", " + pct(verdict.fake_probability) + " likely fake" : ""), "muted"),
    );
    for (const decision of ["fake", "real"]) {
      const button = el("button", decision === "fake" ? "Fake: tag #Deepfake" : "Real: no tag", "decide-" + decision);
      button.addEventListener("click", async () => {
        const r = await fetch("/api/reports/" + report.id + "/decision", {
          method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
          body: JSON.stringify({decision}),
        });
        loadReports(r.ok ? "Decided: " + decision + "." : "Refused (" + r.status + ").");
      });
      body.append(button, " ");
    }
    item.append(img, body);
    list.append(item);
  }
}

$("load-reports").addEventListener("click", () => loadReports());
$("show-feed").addEventListener("click", () => { $("feed-view").hidden = false; $("moderation-view").hidden = true; loadPosts(); });
$("show-moderation").addEventListener("click", () => {
  $("feed-view").hidden = true; $("moderation-view").hidden = false;
  $("token").value = sessionStorage.getItem("moderatorToken") || "";
});
loadPosts();
