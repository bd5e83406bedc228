"""Generic list/get/create/update/delete over one collection path, plus the operation table.

`OPERATIONS` names every request/response model per (generation, method, path); a test
checks each against the OpenAPI documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from podkit.errors import ServerError
from podkit.runpod._base import ApiBase, dump, path_id
from podkit.runpod.types._common import is_object_id, shown_id

T = TypeVar("T", bound=BaseModel)
C = TypeVar("C", bound=BaseModel)
U = TypeVar("U", bound=BaseModel)


@dataclass(frozen=True)
class Operation:
    """One API operation and its models, as the OpenAPI document names the path."""

    api: str
    method: str
    path: str
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    list_key: str | None = None


OPERATIONS: list[Operation] = []


def register(*ops: Operation) -> None:
    OPERATIONS.extend(ops)


def crud_operations(
    api: str,
    spec_path: str,
    item: type[BaseModel],
    create: type[BaseModel] | None,
    update: type[BaseModel] | None,
    *,
    list_key: str | None,
    id_param: str = "{id}",
) -> list[Operation]:
    """The table rows of a plain collection (list wrapper key None = bare array)."""
    one = f"{spec_path}/{id_param}"
    ops = [
        Operation(api, "GET", spec_path, None, item, list_key or "[]"),
        Operation(api, "GET", one, None, item),
        Operation(api, "DELETE", one, None, None),
    ]
    if create is not None:
        ops.append(Operation(api, "POST", spec_path, create, item))
    if update is not None:
        ops.append(Operation(api, "PATCH", one, update, item))
    return ops


class Collection(Generic[T, C, U]):
    """CRUD over `{path}` and `{path}/{id}`; lists wrapped in `list_key` (v2) or bare (v1)."""

    model: type[T]
    path: str
    list_key: str | None = None
    what: str = "object"

    def __init__(self, api: ApiBase) -> None:
        self._api = api

    def _one(self, resource_id: str) -> str:
        return f"{self.path}/{path_id(resource_id, self.what)}"

    def _parsed(self, data: Any, where: str) -> T:
        """The response as its model, its id checked: ids go into the next request's path."""
        item = self._api.parse(self.model, data, where)
        found = getattr(item, "id", None)
        if not is_object_id(found):
            raise ServerError(
                f"{where}: the API answered the id {shown_id(found)}, which cannot be one "
                "(ids are letters, digits, '-' and '_')",
                hint="the target may not be a RunPod API, or the API changed; check --target",
            )
        return item

    def list(self) -> list[T]:
        """Every object of this kind the key can see (the API does not paginate)."""
        data: Any = self._api.request("GET", self.path)
        items = data.get(self.list_key) if self.list_key and isinstance(data, dict) else data
        if not isinstance(items, list):  # not an empty list: a list that cannot be read
            shape = f'{{"{self.list_key}": [...]}}' if self.list_key else "[...]"
            raise ServerError(
                f"GET {self.path} answered {_json_kind(data)}, not {shape}: the {self.what} "
                "list cannot be read",
                status=200,
                method="GET",
                url=self.path,
                hint="the target may not be a RunPod API, or the API changed; check --target",
            )
        return [self._parsed(item, f"{self.what} list, item {n}") for n, item in enumerate(items)]

    def get(self, resource_id: str) -> T:
        data = self._api.request("GET", self._one(resource_id))
        return self._parsed(data, f"{self.what} {resource_id}")

    def create(self, body: C) -> T:
        data = self._api.request("POST", self.path, json=dump(body))
        return self._parsed(data, f"new {self.what}")

    def update(self, resource_id: str, body: U) -> T:
        data = self._api.request("PATCH", self._one(resource_id), json=dump(body))
        return self._parsed(data, f"{self.what} {resource_id}")

    def delete(self, resource_id: str) -> None:
        self._api.request("DELETE", self._one(resource_id))


def _json_kind(data: Any) -> str:
    """What a JSON document is, in words."""
    if data is None:
        return "nothing"
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    return kinds.get(type(data), "a number")
