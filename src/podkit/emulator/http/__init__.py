"""HTTP facades over the backend: v2, v1, the admin routes, fault injection and recording."""
