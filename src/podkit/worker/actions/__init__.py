"""The built-in actions; importing this package registers them."""

from podkit.worker.actions import disk_usage, gpu_info, list_files

__all__ = ["disk_usage", "gpu_info", "list_files"]
