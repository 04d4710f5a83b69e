"""The demo district: a synthetic school district whose exports exercise the whole platform.

``generate(out)`` writes one folder per source system (named by the source's ``landing``
name in ``sources/*.yml``), so ``out`` can serve as a landing root, and returns the facts
it planted (also written to ``out/_expected.json``) so end-to-end tests can assert on them.
"""

from wholechild.demo.generator import LANDING_NAMES, SCHOOL_YEAR, generate

__all__ = ["LANDING_NAMES", "SCHOOL_YEAR", "generate"]
