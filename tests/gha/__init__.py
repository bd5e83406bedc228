"""A small, faithful runner for the `run:` steps of a GitHub Actions job, for tests.

It evaluates `${{ }}` expressions in `env:` and `if:`, runs each script with the runner's own
shell line (`bash --noprofile --norc -eo pipefail`), and carries `$GITHUB_OUTPUT`,
`$GITHUB_ENV` and `$GITHUB_STEP_SUMMARY` between steps the way the runner does. Steps that
need GitHub itself (`uses:` actions, the API) are skipped or given fixed outputs by the test.
"""
