"""One pydantic model per API type: `v2` (default) and `v1` modules use the same names."""
