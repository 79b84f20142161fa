"""Every release setting goes through one check with one message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nsim.model.config import HostConfig
from nsim.nova.releases import at_least, known_release
from nsim.sim.scenario import HostSpec


def test_one_check_one_message() -> None:
    with pytest.raises(ValueError) as direct:
        known_release("bogus")
    with pytest.raises(ValidationError) as config:
        HostConfig(release="bogus")
    with pytest.raises(ValidationError) as spec:
        HostSpec(name="h", release="bogus")
    message = str(direct.value)
    assert message.startswith("unknown nova release 'bogus'; known: havana, icehouse")
    assert message in str(config.value) and message in str(spec.value)
    assert known_release("zed") == "zed"


def test_at_least_follows_the_release_order() -> None:
    assert at_least("train", "stein") and at_least("2023.1", "zed") and not at_least("pike", "queens")
