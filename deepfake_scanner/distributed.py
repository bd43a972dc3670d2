"""The same Scanner on Ray Data (issue 25): a local Ray runtime on this machine's cores, or a Ray
cluster by address, for folders one process does not finish.

The pipeline is Ray Data's, not a scheduler of our own: the file list becomes a dataset, and an
actor pool maps it, one `Scanner` per actor loaded once, each file decoded, sampled, searched for
faces, run through every detector and judged where the models are (a file is far smaller than
its decoded frames, so frames never cross the object store). Each file's whole `ScanResult`
(verdict, detections, people) comes back to the driver with the file's sha256, in input order,
where main_thread.py journals it exactly as a threaded scan does: --resume, the error rows and the
atomic final file are the same code.

Fault tolerance is Ray's: an actor that dies is restarted and the files it held are retried
(Ray Data's actor pools default to unbounded ``max_restarts`` and ``max_task_retries``), so every
file still gets one verdict; the driver also drops a second result for a path it already has.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from cnn_detector.registry import discover_detectors
from deepfake_scanner.defaults import JUDGE_DIR
from deepfake_scanner.output.scan_results import content_sha256
from deepfake_scanner.scanner import Scanner, ScanOptions, ScanResult

ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


class ScanActor:
    """One Ray Data actor: a Scanner loaded once, scanning the paths of each batch in turn."""

    def __init__(
        self, detector_dirs: list[str], judge_dir: str | None, options: ScanOptions, include_shipped: bool, cwd: str
    ):
        os.environ.update(ENVIRONMENT)
        if os.path.isdir(cwd):  # relative input paths mean what they mean on the driver
            os.chdir(cwd)
        self.scanner = Scanner.open(
            [Path(d) for d in detector_dirs],
            judge_dir,
            replace(options, threads=False),
            include_shipped=include_shipped,
        )

    def __call__(self, batch: dict) -> dict:
        out: dict[str, list] = {"path": [], "sha256": [], "result": []}
        for path in batch["path"]:
            path = str(path)
            out["path"].append(path)
            out["sha256"].append(content_sha256(path))
            out["result"].append(pickle.dumps(self.scanner.scan_file(path)))
        return out


class RayScanner:
    """What main_thread.py needs of a Scanner (``scan_many``, ``detector_names``, ``close``), run
    on Ray Data with ``workers`` actors. ``address``: None for a local runtime on this machine
    (``workers`` CPUs, default all), else a cluster's (``ray://HOST:10001`` or ``auto``)."""

    def __init__(
        self,
        detector_dirs: Iterable[Path | str] = (),
        judge_dir: Path | str | None = JUDGE_DIR,
        options: ScanOptions = ScanOptions(),
        *,
        include_shipped: bool = True,
        address: str | None = None,
        workers: int | None = None,
        progress: bool = False,
    ):
        import ray

        self.detector_dirs = [str(Path(d).resolve()) for d in detector_dirs]
        self.judge_dir = None if judge_dir is None else str(Path(judge_dir).resolve())
        self.options = options
        self.include_shipped = include_shipped
        found = discover_detectors(self.detector_dirs, include_default=include_shipped, include_environment=False)
        self._names = tuple(spec.name for spec in found.select(options.only, options.skip))
        self.workers = workers or (None if address else os.cpu_count() or 1)
        self.sha256: dict[str, str] = {}
        if not ray.is_initialized():
            settings = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, runtime_env={"env_vars": ENVIRONMENT}, **settings)
            else:
                ray.init(num_cpus=self.workers, runtime_env={"env_vars": ENVIRONMENT}, **settings)
            self._started_ray = True
        else:
            self._started_ray = False
        from ray.data import DataContext

        context = DataContext.get_current()
        context.execution_options.preserve_order = True  # results in input order, as a threaded scan
        context.enable_progress_bars = progress
        if self.workers is None:  # a cluster: one actor per CPU it has
            self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))

    @property
    def detector_names(self) -> tuple[str, ...]:
        return self._names

    def dataset(self, paths: list[str]):
        import ray

        items = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=max(1, len(paths)))
        return items.map_batches(
            ScanActor,
            fn_constructor_kwargs={
                "detector_dirs": self.detector_dirs,
                "judge_dir": self.judge_dir,
                "options": self.options,
                "include_shipped": self.include_shipped,
                "cwd": os.getcwd(),
            },
            batch_size=1,
            concurrency=self.workers,
            num_cpus=1,
        )  # Ray Data's actor pools default to max_restarts=-1 and max_task_retries=-1

    def scan_many(self, paths: Iterable[Path | str], stop: threading.Event | None = None) -> Iterator[ScanResult]:
        """One result per path (a path given twice is scanned once), in input order."""
        wanted = list(dict.fromkeys(str(p) for p in paths))
        if not wanted:
            return
        seen: set[str] = set()
        for row in self.dataset(wanted).iter_rows():
            if stop is not None and stop.is_set():
                return
            if row["path"] in seen:  # a retried file whose first result also came back
                continue
            seen.add(row["path"])
            self.sha256[row["path"]] = row["sha256"]
            yield pickle.loads(row["result"])

    def close(self) -> None:
        import ray

        if self._started_ray and ray.is_initialized():
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> RayScanner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
