"""podkit: from a GPU worker repo to a verified RunPod Serverless endpoint."""

from podkit.errors import PodkitError

# The one version source: the build (hatchling) reads it, `podkit --version` prints it.
__version__ = "0.1.0"

__all__ = ["PodkitError", "__version__"]
