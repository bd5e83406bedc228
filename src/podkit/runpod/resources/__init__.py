"""Thin resources: `client.endpoints.get/list/create/update/delete` and friends."""
