"""How long each step of a boot takes: seeded distributions, one per step of the duration model.

A duration is a number (fixed seconds) or a table such as
`{dist = "lognormal", mean = 2.0, sd = 0.5}`. Every boot draws its steps from its own
`random.Random`, so a boot's durations do not depend on what other boots do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DistName = Literal["fixed", "normal", "lognormal", "uniform", "exponential"]
MAX_SECONDS = 10 * 365.25 * 86400
"""The largest duration (or time offset) a scenario may give: 10 years, in seconds."""


class Distribution(BaseModel):
    """A non-negative random duration (or rate); `mean`/`sd` for normal and lognormal,
    `low`/`high` for uniform, `mean` for fixed and exponential."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: DistName = "fixed"
    mean: float = Field(default=0.0, ge=0, le=MAX_SECONDS)
    sd: float = Field(default=0.0, ge=0, le=MAX_SECONDS)
    low: float = Field(default=0.0, ge=0, le=MAX_SECONDS)
    high: float = Field(default=0.0, ge=0, le=MAX_SECONDS)

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: object) -> object:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"dist": "fixed", "mean": float(data)}
        return data

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        if self.dist == "uniform" and self.high < self.low:
            raise ValueError("uniform needs low <= high")
        if self.dist == "lognormal" and self.mean <= 0:
            raise ValueError("lognormal needs mean > 0")
        return self

    def sample(self, rng: random.Random) -> float:
        """One draw, never negative."""
        if self.dist == "fixed":
            return self.mean
        if self.dist == "normal":
            return max(0.0, rng.gauss(self.mean, self.sd))
        if self.dist == "lognormal":
            sigma2 = math.log1p((self.sd / self.mean) ** 2)
            return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))
        if self.dist == "uniform":
            return rng.uniform(self.low, self.high)
        return rng.expovariate(1.0 / self.mean) if self.mean > 0 else 0.0


def _d(mean: float, sd: float | None = None) -> Distribution:
    if sd is None:
        return Distribution(mean=mean)
    return Distribution(dist="lognormal", mean=mean, sd=sd)


class DurationModel(BaseModel):
    """Seconds (or MB/s for the two rates) of each boot step, in the order a boot meets them."""

    model_config = ConfigDict(extra="forbid")

    claim: Distribution = Field(default=_d(0.05, 0.02),
                                description='compute_resources held by instance_claim')
    build_prep: Distribution = Field(default=_d(0.3, 0.1),
                                     description='claim released -> "Start spawning" (networks, BDMs)')
    image_prep: Distribution = Field(default=_d(0.05, 0.02),
                                     description='"Start spawning" -> image cache (instance directory)')
    download_latency: Distribution = Field(default=_d(0.3, 0.1),
                                           description="image service answers the download request")
    download_bandwidth_mb_s: Distribution = Field(default=_d(60.0, 15.0),
                                                  description="image download rate, MB/s")
    qemu_img_info: Distribution = Field(default=_d(0.04, 0.01),
                                        description="one qemu-img info (or resize) command")
    convert_throughput_mb_s: Distribution = Field(default=_d(80.0, 20.0),
                                                  description="qemu-img convert to raw, MB/s")
    overlay: Distribution = Field(default=_d(0.06, 0.02),
                                  description="qemu-img create of the qcow2 overlay")
    guest_prep: Distribution = Field(default=_d(0.02, 0.01),
                                     description="disk ready -> guest XML (console log)")
    xml: Distribution = Field(default=_d(0.05, 0.02), description="_get_guest_xml")
    network: Distribution = Field(default=_d(2.0, 0.6),
                                  description="network allocation in the background (neutron)")
    vif_plug: Distribution = Field(default=_d(0.5, 0.2), description="os-vif plug")
    domain_start: Distribution = Field(default=_d(1.5, 0.5),
                                       description="libvirt creates the domain, paused")
    vif_event: Distribution = Field(default=_d(0.5, 0.3),
                                    description="domain started -> network-vif-plugged received")
    resume: Distribution = Field(default=_d(0.05, 0.02),
                                 description="event received -> VM Resumed")
    spawn_tail: Distribution = Field(default=_d(0.3, 0.1),
                                     description='VM Resumed -> "Instance spawned successfully."')
    destroy: Distribution = Field(default=_d(0.8, 0.2), description="libvirt destroy and cleanup")
    deallocate: Distribution = Field(default=_d(0.5, 0.2),
                                     description="network deallocation on delete")
    audit: Distribution = Field(default=_d(0.05, 0.02),
                                description="compute_resources held by the periodic audit")
    reschedule: Distribution = Field(default=_d(1.0, 0.3),
                                     description="re-scheduled -> next host starts the build")

    def sample(self, rng: random.Random) -> Steps:
        """Draw every step once, in a fixed order (same rng state, same steps)."""
        return Steps(**{name: getattr(self, name).sample(rng) for name in STEP_NAMES})


STEP_NAMES: tuple[str, ...] = tuple(DurationModel.model_fields)


@dataclass(frozen=True, slots=True)
class Steps:
    """One boot's drawn durations (seconds; the two rates in MB/s)."""

    claim: float
    build_prep: float
    image_prep: float
    download_latency: float
    download_bandwidth_mb_s: float
    qemu_img_info: float
    convert_throughput_mb_s: float
    overlay: float
    guest_prep: float
    xml: float
    network: float
    vif_plug: float
    domain_start: float
    vif_event: float
    resume: float
    spawn_tail: float
    destroy: float
    deallocate: float
    audit: float
    reschedule: float

    def download(self, size_mb: float) -> float:
        return self.download_latency + size_mb / max(self.download_bandwidth_mb_s, 1e-6)

    def convert(self, size_mb: float) -> float:
        return size_mb / max(self.convert_throughput_mb_s, 1e-6)
