"""The ``net`` fixture: a fresh switch namespace per test, hosts added on demand, every
peer killed and every namespace deleted afterwards (also when the test fails)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import skip_or_fail  # tests/conftest.py

from ._net import Net, netns_unusable


@pytest.fixture
def net() -> Iterator[Net]:
    why = netns_unusable()
    if why:
        skip_or_fail(why)
    n = Net()
    try:
        yield n
    finally:
        n.close()
