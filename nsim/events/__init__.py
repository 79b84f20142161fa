"""The event catalog: typed nova-compute messages and their wording by release."""

from nsim.events.base import Event, Wording
from nsim.events.catalog import KINDS, classify

__all__ = ["KINDS", "Event", "Wording", "classify"]
