"""Guards for the whole suite: tests never touch the network or the machine's datasets."""

import urllib.parse
import urllib.request

import pytest

from cnn_numpy.data import datasets

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any URL opened outside 127.0.0.1 fails the test; the test servers on loopback work."""
    real_urlopen = urllib.request.urlopen

    def loopback_only(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        host = urllib.parse.urlsplit(url).hostname
        if host not in LOOPBACK:
            pytest.fail(f"test tried to reach the network: {url}")
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", loopback_only)


@pytest.fixture(autouse=True)
def no_installed_datasets(monkeypatch):
    """A Debian dataset package on the test machine must not change what tests load."""
    monkeypatch.setattr(datasets, "debian_dir", lambda package: None)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """The dataset checksum cache (data/verify.py) goes to a temporary folder, never the
    user's ~/.cache; session-wide, so module-scoped fixtures use it too."""
    from cnn_numpy.data import verify

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(verify.CACHE_ENV, str(tmp_path_factory.mktemp("cnn-numpy-cache")))
        yield


@pytest.fixture(autouse=True)
def close_figures():
    """The figures a test made (plot_* return them for the caller to show or save) are closed
    after it, so they do not pile up in pyplot over the suite."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
