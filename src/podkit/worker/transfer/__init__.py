"""Model sync engine: put declared models on the network volume, verified and resumable.

Plan first, then a bounded pool (STYLE habit 7): list each source, compare with the state
file on the volume (a no-op re-sync makes no data requests), then fetch what is missing under
one global connection budget (fixed, or grown while the rate follows): large objects as
parallel byte ranges with a chunk journal, small files many at a time. Every file goes to a
unique `*.incomplete` temp, is verified (GCS crc32c, S3 ETag, Hugging Face sha256 / git sha1,
HTTPS length + optional sha256) and is renamed into place. Progress is a callback (habit 8);
credentials come from the environment.
"""

from podkit.worker.transfer.engine import EntryReport, SyncReport, plan_models, sync_models
from podkit.worker.transfer.jobs import SyncOptions
from podkit.worker.transfer.progress import Progress, ProgressCallback
from podkit.worker.transfer.scaling import ConnectionSetting, options_for

__all__ = [
    "ConnectionSetting",
    "EntryReport",
    "Progress",
    "ProgressCallback",
    "SyncOptions",
    "SyncReport",
    "options_for",
    "plan_models",
    "sync_models",
]
