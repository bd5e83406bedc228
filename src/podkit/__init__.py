"""podkit: from a GPU worker repo to a verified RunPod Serverless endpoint."""

from podkit.errors import PodkitError

__version__ = "0.1.0"

__all__ = ["PodkitError", "__version__"]
