"""podkit.toml -> a typed, validated Deployment."""
