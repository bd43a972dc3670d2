import pytest

from tests.tools.tiny_share import tiny_share
from tools import make_fakes


@pytest.fixture(scope="session")
def tiny_share_dir(tmp_path_factory):
    """A tiny share (copies of the shipped samples under the folder names the factory knows)."""
    root = tmp_path_factory.mktemp("tiny") / "share"
    tiny_share(root)
    return root


@pytest.fixture(scope="session")
def tiny_factory(tiny_share_dir):
    """tools/make_fakes.py's output for the tiny share."""
    factory = tiny_share_dir.parent / "factory"
    assert make_fakes.main(["--share", str(tiny_share_dir), "--out", str(factory), "--frames-per-video", "1"]) == 0
    return factory
