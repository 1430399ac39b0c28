"""Packaging tests: markers, and the switch that keeps the expensive ones opt-in.

The fast tests here (links, About box, icons, the ``--self-test`` mode run from source)
always run. Tests marked ``packaging`` build real artifacts (a PyInstaller bundle, a .deb,
a throwaway venv with ``pip install``): about 1-2 minutes and network access to PyPI, so
they run only with ``COSCRIBE_TEST_PACKAGING=1`` or on CI (``CI=true``).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ENABLE_VAR = "COSCRIBE_TEST_PACKAGING"


def packaging_enabled() -> bool:
    return os.environ.get(ENABLE_VAR) == "1" or os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"packaging: builds installers; runs with {ENABLE_VAR}=1 or CI=true"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if packaging_enabled():
        return
    skip = pytest.mark.skip(reason=f"builds installers (1-2 min); set {ENABLE_VAR}=1 to run")
    for item in items:
        if item.get_closest_marker("packaging") is not None:
            item.add_marker(skip)
