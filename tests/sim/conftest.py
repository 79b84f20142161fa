"""Fixtures shared with tests/compare: the real logs of ../shared/real-logs/."""

from tests.compare.conftest import real_logs

__all__ = ["real_logs"]
