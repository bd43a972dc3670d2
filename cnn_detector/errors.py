"""Exceptions with messages that name the file and say what was expected and found."""


class DeepfakeScannerError(Exception):
    """Base of every error this project raises on purpose."""


class LabelMapError(DeepfakeScannerError):
    """A labelmap .pbtxt is malformed or violates the id/name rules."""


class ManifestError(DeepfakeScannerError):
    """A detector.yaml is missing, malformed or fails the schema."""


class UntrustedGraphError(DeepfakeScannerError):
    """A detector graph failed a trust check and must not run."""


class DuplicateDetectorError(DeepfakeScannerError):
    """Two detector directories declare the same name."""


class UnknownDetectorError(DeepfakeScannerError):
    """A detector name was asked for that no registered directory declares."""


class MediaError(DeepfakeScannerError):
    """An input image or video cannot be read; the message names the file and why."""
