"""CI helpers: the deploy summary a workflow writes to `$GITHUB_STEP_SUMMARY`."""

from podkit.ci.summary import DeploySummary, curl_commands, render_summary

__all__ = ["DeploySummary", "curl_commands", "render_summary"]
