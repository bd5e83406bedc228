"""Smoke tests: `[[smoke]]` calls against a live endpoint, checked and timed cold and warm.

`run_smoke` drives each test twice through a short `/runsync` + polling (the first meets a cold
worker, the second a warm one), `check` compares a call with the test's expectations
(pure), and `report` renders the results for the terminal and as Markdown for a CI job
summary.
"""

from podkit.smoke.runner import Attempt, SmokeResult, check, run_smoke

__all__ = ["Attempt", "SmokeResult", "check", "run_smoke"]
