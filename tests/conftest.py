"""Every test's runs record their history, results and variables under a temporary folder:
``dagshift run`` records to ``.dagshift/`` in the working directory by default, and a test run
from the checkout would otherwise leave one there. Each test gets its own folder; fixtures
wider than a test share one for the session. A test of that default removes these variables
itself."""

from __future__ import annotations

import pytest

_VARIABLES = ("DAGSHIFT_DB", "DAGSHIFT_VARIABLES")


def _point(patch: pytest.MonkeyPatch, folder) -> None:
    patch.setenv("DAGSHIFT_DB", str(folder / "dagshift.db"))
    patch.setenv("DAGSHIFT_VARIABLES", str(folder / "variables.json"))


@pytest.fixture(autouse=True, scope="session")
def _dagshift_state_off_the_checkout_for_the_session(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        _point(patch, tmp_path_factory.mktemp("dagshift-state"))
        yield


@pytest.fixture(autouse=True)
def _dagshift_state_off_the_checkout(tmp_path, monkeypatch):
    _point(monkeypatch, tmp_path / ".dagshift-test")
