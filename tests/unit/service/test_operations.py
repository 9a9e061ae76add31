"""The table of operations: each declared once, with a handler that takes the
context first, and request and result types read from the handler."""

from __future__ import annotations

import inspect
import io
import typing
from pathlib import Path

import pytest

from forgekeep.service.authz import SPECS, Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.operations import GROUPS, OPERATIONS, Assets, Bound, Group, Operation
from forgekeep.service.vault import Vault


def _declared() -> list[Operation[..., object]]:
    return [v for g in GROUPS.values() for v in vars(g).values() if isinstance(v, Operation)]


def test_names_are_unique_and_say_where_they_live() -> None:
    declared = _declared()
    assert len({op.name for op in declared}) == len(declared) == len(OPERATIONS)
    for key, group in GROUPS.items():
        for attr, value in vars(group).items():
            if isinstance(value, Operation):
                assert value.name == f"{key}.{attr}"


def test_each_handler_takes_the_context_first() -> None:
    for op in OPERATIONS.values():
        first = next(iter(inspect.signature(op.handler).parameters.values()))
        assert first.name == "ctx", op.name
        assert typing.get_type_hints(op.handler)["ctx"] is ServiceContext, op.name


def test_request_and_result_types_resolve_from_the_handler() -> None:
    for op in OPERATIONS.values():
        request = op.request_type()
        assert "ctx" not in request
        assert list(request) == list(inspect.signature(op.handler).parameters)[1:]
        assert op.result_type() is not None or op.name == "witnesses.rm"
    put = OPERATIONS["assets.put"]
    assert put.request_type()["project"] is str
    assert put.result_type().__name__ == "PutResult"
    assert OPERATIONS["witnesses.rm"].result_type() is type(None)


def test_each_action_is_in_the_specs_and_scoped() -> None:
    for op in OPERATIONS.values():
        if op.action is None:
            assert op.undecided
            continue
        assert op.spec == SPECS[op.action]
    assert OPERATIONS["assets.get"].spec == SPECS[Action.ASSET_GET]


def test_every_action_is_used_by_some_operation() -> None:
    used = {op.action for op in OPERATIONS.values()}
    # fsck --repair and the assets created by put are decided inside their handlers
    assert set(Action) - used == {Action.VAULT_REPAIR}


def test_a_class_attribute_is_the_declaration_and_an_instance_attribute_binds() -> None:
    assert isinstance(Assets.put, Operation)
    assert Assets.put is OPERATIONS["assets.put"]


def test_a_bound_operation_calls_its_handler_with_the_vaults_context(
    vault: Vault, tmp_path: Path
) -> None:
    bound = vault.assets.ls
    assert isinstance(bound, Bound)
    assert isinstance(vault.assets, Group)
    assert repr(bound) == "<operation assets.ls>"
    vault.projects.create("turbine", residency="DE")
    vault.assets.put(io.BytesIO(b"blade"), project="turbine", name="blade.step")
    assert [a.name for a in vault.assets.ls()] == ["blade.step"]


def test_put_names_a_file_after_itself_and_refuses_an_unnamed_stream(
    vault: Vault, tmp_path: Path
) -> None:
    vault.projects.create("turbine", residency="DE")
    source = tmp_path / "vane.step"
    source.write_bytes(b"vane")
    assert vault.assets.put(source, project="turbine").name == "vane.step"
    with pytest.raises(ValueError, match="name is required"):
        vault.assets.put(io.BytesIO(b"x"), project="turbine")
