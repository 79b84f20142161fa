"""What a replay finds: violations of named rules, and assumptions about the unseen."""

from __future__ import annotations

from dataclasses import dataclass

# Every rule a replay checks, with what it means.
RULES: dict[str, str] = {
    "claim-total": "a claim's logged total equals the host's total",
    "claim-used": "a claim's logged usage equals reserved + baseline + live claims, or what "
                  "nothing unlogged (unsized claims, instances of unknown size, failed builds "
                  "nova may still count) can explain",
    "claim-free": "a claim's logged free amount equals limit - used",
    "claim-limit": "a claim's logged limit equals total x allocation ratio (when the ratio is known)",
    "claim-decision": "a claim succeeds exactly when it fits (requested <= limit - used)",
    "final-view": "Final resource view totals and usage equal the model's",
    "lock-exclusive": "a lock is held by one request at a time (a hold is [released - held, "
                      "released])",
    "lock-waited": "a lock's logged wait equals acquired - acquiring stamps",
    "lock-held": "a lock's logged hold time equals released - acquired stamps",
    "cache-double-fetch": "an image is downloaded/converted only when its base file is not cached",
    "force-raw": "a non-raw image is converted to raw only when force_raw_images is on",
    "cache-filename": "the base file is <instances_path>/_base/sha1(image_id)",
    "cache-backing-ready": "an overlay's backing file is a base file that is present",
    "cache-active": "the cache manager lists every base file a live instance uses as active",
    "cache-remove-in-use": "the cache manager never removes a base file an instance uses",
    "cache-remove-age": "a base file is removed only after remove_unused_original_minimum_age_seconds",
    "instance-disk-path": "the instance disk is <instances_path>/<uuid>/disk",
    "instances-path": "all paths of one host share one instances_path",
    "task-order": "task_state never goes back: networking -> block_device_mapping -> spawning",
    "sync-power-state": "sync_power_state never shows a task_state the build has already left",
    "spawned-after-running": "'Instance spawned successfully' ends the spawn: no disk or guest "
                             "XML step of the same build comes after it",
    "took-seconds": "'Took N seconds ...' agrees with the stamps within the tolerance",
    "xml-flavor": "the guest XML's flavor sizes equal the claim",
}


@dataclass(frozen=True)
class Violation:
    source: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Assumption:
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"
