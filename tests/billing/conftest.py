"""The usage tests' site: a facility, a unit with a rate card, projects and their people."""

from tests.usage.conftest import site

__all__ = ["site"]
