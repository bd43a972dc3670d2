#!/usr/bin/env python3
"""Attack each shipped frame detector and measure the input defenses (issue 24, parts 1-2).

For every shipped frame detector: the fake factory's held-out (test split) fakes of its own
methods, and the held-out real crops, in its input space. FGSM and PGD (L-inf, eps 2, 4 and 8
/255, white box through the detector's own frozen graph: deepfake_evaluation/attacks.py) push
the fakes towards "nothing here". Recall at the detector's min_score is measured clean and under
each attack, with no defense and with each input defense (resize 1/3 round trip, JPEG 15, both),
and the share of reals each defense flags (its clean cost). A transfer table scores each
detector's PGD eps 8 examples by every other detector. Writes OUT/attacks.md and attacks.json.

The defenses are applied here to the detector's input (the crop); the scanner applies them to the
whole frame before cropping (`--defense`), so these numbers are of the same kind, not the same.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import WORK_DIR

DEFENSE_ORDER = ("none", "resize", "jpeg", "both")


def load_images(paths: list[Path], size: tuple[int, int]) -> np.ndarray:
    import cv2

    from deepfake_evaluation.attacks import to_input

    images = [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for p in paths]
    return to_input(images, size)


def spread(paths: list[Path], limit: int) -> list[Path]:
    """At most ``limit`` of ``paths``, evenly spaced (sorted, so the same every run)."""
    paths = sorted(paths)
    if len(paths) <= limit:
        return paths
    return [paths[int(i * len(paths) / limit)] for i in range(limit)]


def measure(
    factory: Path, limit: int, steps: int, seed: int, roots: list[Path] | None = None, only: tuple[str, ...] = ()
) -> dict:
    from cnn_detector.frozen_graph import load_detector, read_and_verify_graph
    from cnn_detector.registry import discover_detectors
    from deepfake_evaluation.attacks import EPSILONS, GradientGraph, defended, fgsm, flagged, pgd, to_input

    scan = discover_detectors(roots or [], include_default=not roots, include_environment=False)
    specs = [s for s in scan.select(only) if not s.manifest.is_clip]
    detectors = {s.name: load_detector(s) for s in specs}
    reals_all = sorted((factory / "test" / "real").glob("*.jpg"))
    results: dict = {"limit": limit, "pgd_steps": steps, "epsilons": list(EPSILONS), "detectors": {}}
    adversarial: dict[str, np.ndarray] = {}
    for spec in specs:
        started = time.time()
        size = tuple(spec.manifest.input_size)
        fakes = [p for m in spec.manifest.algorithms for p in (factory / "test" / m).glob("*.jpg")]
        if not fakes:
            log.warning("%s: no held-out fakes of %s in %s", spec.name, spec.manifest.algorithms, factory)
            continue
        clean = load_images(spread(fakes, limit), size)
        reals = load_images(spread(reals_all, limit), size)
        detector = detectors[spec.name]
        graph = GradientGraph(read_and_verify_graph(spec.graph_path, spec.manifest.sha256).graph_def, size)
        attacked = {"clean": clean}
        rng = np.random.default_rng(seed)
        for eps in EPSILONS:
            attacked[f"fgsm {eps}/255"] = fgsm(graph, clean, eps)
            attacked[f"pgd {eps}/255"] = pgd(graph, clean, eps, steps, rng)
        graph.close()
        adversarial[spec.name] = (clean, attacked[f"pgd {EPSILONS[-1]}/255"])
        row = {"fakes": len(clean), "reals": len(reals), "methods": list(spec.manifest.algorithms), "recall": {}}
        for defense in DEFENSE_ORDER:
            row["recall"][defense] = {name: flagged(detector, defended(x, defense)) for name, x in attacked.items()}
            row.setdefault("real_flagged", {})[defense] = flagged(detector, defended(reals, defense))
        row["minutes"] = round((time.time() - started) / 60, 1)
        results["detectors"][spec.name] = row
        log.info("%s: %s", spec.name, json.dumps(row["recall"]["none"]))
    transfer = {}
    for source, (clean, examples) in adversarial.items():
        transfer[source] = {}
        for target in adversarial:
            size = tuple(detectors[target].spec.manifest.input_size)
            transfer[source][target] = [flagged(detectors[target], to_input(list(x), size)) for x in (clean, examples)]
    results["transfer_pgd_8"] = transfer
    for detector in detectors.values():
        detector.close()
    results["system_pgd_8"] = system_scores(adversarial)
    return results


def system_scores(adversarial: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """The whole shipped system (faces, every detector, the judge at its threshold) on each
    detector's fakes, clean and as that detector's PGD 8/255 examples: the share judged fake and
    the mean fake probability. Each crop is a still, as a user would upload it."""
    from deepfake_scanner.scanner import Scanner, ScanOptions

    rows = {}
    with Scanner.open(options=ScanOptions(provenance=False, threads=False)) as scanner:
        for source, pair in adversarial.items():
            judged, probability = [], []
            for images in pair:
                verdicts = [scanner.scan_image(image).verdict for image in images]
                judged.append(float(np.mean([v.is_fake is True for v in verdicts])))
                probability.append(float(np.mean([v.fake_probability or 0.0 for v in verdicts])))
            rows[source] = judged + probability  # clean, attacked, clean mean p, attacked mean p
    return rows


def markdown(results: dict) -> str:
    eps = results["epsilons"]
    columns = ["clean", *[f"fgsm {e}/255" for e in eps], *[f"pgd {e}/255" for e in eps]]
    lines = [
        "# Attacks and input defenses (tools/attack.py)",
        "",
        f"Held-out factory crops in each detector's input space (up to {results['limit']} fakes of its own methods",
        f"and {results['limit']} reals); PGD {results['pgd_steps']} steps. Recall at the detector's min_score; the",
        "last column is the share of real crops flagged (each defense's clean cost).",
        "",
        "| detector | defense | " + " | ".join(columns) + " | reals flagged |",
        "|---|---|" + "---|" * (len(columns) + 1),
    ]
    for name, row in results["detectors"].items():
        for defense in DEFENSE_ORDER:
            cells = " | ".join(f"{row['recall'][defense][c]:.2f}" for c in columns)
            lines.append(f"| {name} | {defense} | {cells} | {row['real_flagged'][defense]:.2f} |")
    names = list(results["transfer_pgd_8"])
    lines += [
        "",
        "Transfer: recall of each detector (columns) on the fakes of another's methods (rows), clean ->",
        "PGD 8/255 made on that other detector, resized to its own input; the diagonal is the white-box attack.",
        "",
        "| made on \\ scored by | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for source in names:
        cells = (results["transfer_pgd_8"][source][t] for t in names)
        lines.append(f"| {source} | " + " | ".join(f"{c:.2f} -> {a:.2f}" for c, a in cells) + " |")
    system = results.get("system_pgd_8", {})
    if system:
        lines += [
            "",
            "The whole system (faces, every shipped detector, the judge at its threshold) on the same crops, each",
            "scanned as a still: clean -> PGD 8/255 made on the detector of that row.",
            "",
            "| made on | judged fake | mean fake probability |",
            "|---|---|---|",
        ]
        for source, (clean, attacked, clean_p, attacked_p) in system.items():
            lines.append(f"| {source} | {clean:.2f} -> {attacked:.2f} | {clean_p:.3f} -> {attacked_p:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="attack.py", description=__doc__)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory", help="made by tools/make_fakes.py")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "attacks")
    parser.add_argument("--limit", type=int, default=48, help="fakes and reals per detector")
    parser.add_argument("--steps", type=int, default=10, help="PGD steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--detectors",
        type=Path,
        action="append",
        help="attack the detectors of this folder instead of frozen_models/ (e.g. an adversarially trained candidate)",
    )
    parser.add_argument("--only", default="", help="comma-separated detector names")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not (args.factory / "test" / "real").is_dir():
        log.error("%s: no held-out factory crops; make them with python tools/make_fakes.py", args.factory)
        return EXIT_USAGE
    from cnn_detector.atomic_file import atomic_write_text

    only = tuple(n.strip() for n in args.only.split(",") if n.strip())
    results = measure(args.factory, args.limit, args.steps, args.seed, args.detectors, only)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "attacks.json", json.dumps(results, indent=1) + "\n")
    atomic_write_text(args.out / "attacks.md", markdown(results))
    print(markdown(results))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
