"""Deploys: podkit.toml -> a verified RunPod Serverless endpoint, in eight stages.

1. **load config**: `podkit.config` reads podkit.toml into a typed `Deployment`; nothing
   touches the network until the file is valid.
2. **preflight** (`preflight.py`): read-only checks (quota, GPU and datacenter availability,
   CUDA, volume placement, timeouts, digest pinning, secrets); every failure says what to
   change, and one failure stops the deploy before any write.
3. **read remote** (`snapshot.py`): list the account's volumes, templates and endpoints once
   and normalise them into the same field vocabulary as the desired state.
4. **plan** (`planner.py`): a pure function `(desired, snapshot) -> Plan` of frozen
   Create / Update / Delete changes in a total order, with field-level diffs and secrets
   masked. No client import.
5. **render** (`render.py`): the very same Plan as a terminal table, JSON or Markdown.
6. **execute** (`executor.py`): apply the Plan in dependency order (volume -> template ->
   endpoint; deletes in reverse); resources are found by name plus podkit's ownership marker,
   so a re-run after a crash converges without duplicates.
7. **verify** (`executor.py`): every write is read back and compared; a field that did not
   stick fails loudly.
8. **record** (`history.py`): a successful apply appends the applied desired state (image
   digest included) to `.podkit/history/<project>-<env>.json`; rollback re-applies one.

One at a time: `apply`, `rollback` and `destroy` run stages 3-8 holding the deploy lock of
their project and environment (`lock.py`), a template on the RunPod account whose name is
unique there; a crashed holder's lock expires. A write whose answer is lost is read back by
name and owner marker before anything is written again (`executor.py`).

Ownership: podkit names its objects `pk-<project>-<env>-<name>` and, where the object can
carry environment variables (endpoints, templates), also sets `PODKIT_OWNER=<project>/<env>`.
It only ever updates or deletes objects that carry both marks (volumes: the name alone).
"""
