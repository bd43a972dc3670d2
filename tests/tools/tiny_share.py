"""A tiny share built from the shipped samples, for CI-sized runs of the training tools."""

import csv
import hashlib
import shutil

from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.share import split_of

SAMPLES = PROJECT_ROOT / "samples"


def tiny_share(root, plan=None):
    """MANIFEST.csv + copies of the sample photos under the folder names the factory knows;
    plan: (folder, label, source photos, count) per folder."""
    rows = []
    reals = sorted(SAMPLES.glob("real_*.jpg"))
    fakes = sorted(SAMPLES.glob("fake_*.jpg"))
    plan = plan or [("real_images/deepface", "real", reals, 16), ("fake_images/stylegan_boredhumans", "fake", fakes, 8)]
    for folder, label, sources, count in plan:
        (root / folder).mkdir(parents=True)
        for k in range(count):
            name = f"{folder}/copy{k}.jpg"
            shutil.copy(sources[k % len(sources)], root / name)
            data = (root / name).read_bytes()
            rows.append(
                {
                    "local_path": name,
                    "repo": "samples",
                    "commit": "",
                    "source_path": name,
                    "license": "MIT",
                    "label": label,
                    "method": label,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "derived": "no",
                }
            )
    with open(root / "MANIFEST.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {split_of(r["local_path"]) for r in rows}
