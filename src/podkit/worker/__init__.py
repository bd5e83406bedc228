"""The worker that runs in the GPU container under the runpod SDK.

`python -m podkit.worker` serves the built-in actions (`gpu_info`, `list_files`,
`disk_usage`) plus any registered with `@action` in modules named by `--actions` or
`PODKIT_ACTIONS`. Importing this package stays light: the SDK is only imported by `__main__`.
A handler of your own gets the built-ins with `with_builtins(handler)` (see `builtins`).
"""

from podkit.worker.builtins import with_builtins
from podkit.worker.dispatch import handle_job
from podkit.worker.registry import Action, ActionContext, NoInput, Registry, action, registry

__all__ = [
    "Action",
    "ActionContext",
    "NoInput",
    "Registry",
    "action",
    "handle_job",
    "registry",
    "with_builtins",
]
