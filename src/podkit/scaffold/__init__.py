"""Project scaffolding: `podkit init` and the GitHub Actions deploy workflow it writes."""
