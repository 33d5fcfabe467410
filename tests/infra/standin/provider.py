"""A stand-in Terraform provider, spoken to by real Terraform over the plugin protocol (PyPI `tf`).

What is the provider's and what is ours:

- The schema is the provider's: argument names and the nesting of blocks come from the jsii
  assembly of the cdktf provider package (tests/infra/provider_schema.py); the test writes the
  resource and data source types it needs to a JSON file named by STANDIN_SCHEMA. The assembly
  does not say which arguments are computed or what their types are beyond what the modules use,
  so every leaf is served as an optional string (every argument the modules set is a string) and
  `id` as optional + computed; data source leaves are optional + computed. Nested blocks are
  served as sets (`tf` implements set nesting only; google's `condition` and azurerm's `schedule`
  are lists of at most one in the real schemas, which changes nothing for one block).
- Which arguments force a new resource is OURS: the assemblies carry no ForceNew (0 mentions in
  azurerm and aws, none for google_project_iam_member), so REPLACE below is a hand-written table,
  each entry citing the Terraform Registry documentation of the resource (or, where the Registry
  page is silent, the provider's source).
- The "cloud" is ours: a JSON file named by STANDIN_CLOUD holds what exists, keyed by the
  identity the real API uses, and an event log. A create whose identity already exists fails the
  way azurerm fails (a provider-side rule); GCP IAM bindings are a set, so re-adding one is a no-op.

Run through a launcher named terraform-provider-<name> (written by tests/infra/standin/install.py)
with STANDIN_PROVIDER=<name>; Terraform finds it through a dev_overrides CLI config.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import tf.provider
from tf import runner
from tf.blocks import SetNestedBlock
from tf.iface import (
    Config,
    CreateContext,
    DataSource,
    DeleteContext,
    Provider,
    ReadContext,
    ReadDataContext,
    Resource,
    State,
    UpdateContext,
    UpgradeContext,
)
from tf.schema import Attribute, Block, Schema
from tf.types import String
from tf.utils import Diagnostics, _to_attribute_path, read_dynamic_value

# resource type -> top-level arguments (attributes or blocks) whose change forces a new resource.
REPLACE: dict[str, frozenset[str]] = {
    # google_project_iam_member. The Registry page (docs/resources/google_project_iam) does not
    # carry the "forces a new resource" sentence for it; the provider's source does, in
    # IamMemberBaseSchema (google/tpgiamresource/iam_member.go): `"role": {Type: TypeString,
    # Required: true, ForceNew: true}`, `"member": {... ForceNew: true ...}`, `"condition":
    # {Type: TypeList, Optional: true, MaxItems: 1, ForceNew: true, Elem: expression, title,
    # description each ForceNew}`; `project` is ForceNew in the project parent schema. The
    # resource has no Update: every change is a replacement.
    "google_project_iam_member": frozenset({"project", "role", "member", "condition"}),
    # azurerm_pim_active_role_assignment, Registry docs/resources/pim_active_role_assignment,
    # Argument Reference: "`principal_id` - (Required) Object ID of the principal for this role
    # assignment. Changing this forces a new resource to be created." and the same sentence for
    # `role_definition_id`, `scope`, `justification`, "`schedule` - (Optional) A `schedule` block
    # as defined below. Changing this forces a new resource to be created." and `ticket`. Its id:
    # "of the format `{scope}|{roleDefinitionId}|{principalId}`" (Import section).
    "azurerm_pim_active_role_assignment": frozenset(
        {"scope", "role_definition_id", "principal_id", "justification", "schedule", "ticket"}
    ),
}


def _identity(type_name: str, s: State) -> str:
    """The key the real API identifies the object by."""
    if type_name == "google_project_iam_member":
        cond = sorted(json.dumps(c, sort_keys=True) for c in s.get("condition") or [])
        return "|".join([s["project"], s["role"], s["member"], *cond])
    if type_name == "azurerm_pim_active_role_assignment":
        # the azurerm id of an active assignment: scope|role definition id|principal id
        return f"{s['scope']}|{s['role_definition_id']}|{s['principal_id']}"
    raise KeyError(type_name)


class Cloud:
    """The stand-in's world, a JSON file shared by every provider process of one test."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def change(self, fn: Any) -> Any:
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = json.loads(self.path.read_text()) if self.path.exists() else {}
            data.setdefault("objects", {})
            data.setdefault("events", [])
            out = fn(data)
            self.path.write_text(json.dumps(data, indent=1, sort_keys=True))
            return out


CLOUD = Cloud(Path(os.environ.get("STANDIN_CLOUD", "")))  # main() requires it


def _block(spec: dict[str, Any], data: bool) -> tuple[list[Attribute], list[SetNestedBlock]]:
    attrs, blocks = [], []
    for name, nested in sorted(spec.items()):
        if isinstance(nested, dict):
            a, b = _block(nested, data)
            blocks.append(SetNestedBlock(name, Block(attributes=a, block_types=b)))
        else:
            computed = data or name == "id"
            attrs.append(Attribute(name, String(), optional=True, computed=computed))
    return attrs, blocks


def _resource_class(type_name: str, spec: dict[str, Any]) -> type:
    attrs, blocks = _block(spec, data=False)
    replace = REPLACE.get(type_name, frozenset())
    for a in attrs:
        a.requires_replace = a.name in replace

    class R(Resource):
        def __init__(self, provider: Any) -> None:
            self.provider = provider

        @classmethod
        def get_name(cls) -> str:
            return type_name

        @classmethod
        def get_schema(cls) -> Schema:
            return Schema(attributes=attrs, block_types=blocks)

        def create(self, ctx: CreateContext, planned: State) -> State | None:
            key = _identity(type_name, planned)

            def go(data: dict[str, Any]) -> State | None:
                objects = data["objects"].setdefault(type_name, {})
                if key in objects and type_name.startswith("azurerm_"):
                    ctx.diagnostics.add_error(
                        f"A resource with the ID {key!r} already exists - to be managed via "
                        f"Terraform this resource needs to be imported into the State."
                    )
                    return None
                objects[key] = {k: v for k, v in planned.items() if k != "id"}
                data["events"].append(["create", type_name, key])
                return {**planned, "id": key}

            return CLOUD.change(go)

        def read(self, ctx: ReadContext, current: State) -> State | None:
            key = current.get("id")
            found = CLOUD.change(lambda d: key in d["objects"].get(type_name, {}))
            return current if found else None

        def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State | None:
            # One schema version, nothing to upgrade. (tf's default adds a warning, and Terraform
            # 1.11 returns early on any diagnostic when it reads a deposed object: the deposed
            # binding of a create_before_destroy replacement would never be destroyed.)
            return old

        def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
            # Every argument in the modules is in REPLACE, so Terraform never asks for an update
            # of these types; an update reaching here is a bug in the stand-in or the table.
            ctx.diagnostics.add_error(f"{type_name} has no update in the stand-in")
            return None

        def delete(self, ctx: DeleteContext, current: State) -> None:
            key = current["id"]

            def go(data: dict[str, Any]) -> None:
                data["objects"].get(type_name, {}).pop(key, None)
                data["events"].append(["delete", type_name, key])

            CLOUD.change(go)

    R.__name__ = type_name
    return R


def _data_class(type_name: str, spec: dict[str, Any]) -> type:
    attrs, blocks = _block(spec, data=True)

    class D(DataSource):
        def __init__(self, provider: Any) -> None:
            self.provider = provider

        @classmethod
        def get_name(cls) -> str:
            return type_name

        @classmethod
        def get_schema(cls) -> Schema:
            return Schema(attributes=attrs, block_types=blocks)

        def read(self, ctx: ReadDataContext, config: Config) -> State | None:
            if type_name != "azurerm_role_definition":
                ctx.diagnostics.add_error(f"the stand-in cannot read {type_name}")
                return None
            # a role definition's id: <scope>/providers/Microsoft.Authorization/roleDefinitions/<id>
            guid = uuid.uuid5(uuid.NAMESPACE_URL, f"role:{config['name']}")
            rid = f"{config['scope']}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
            return {**config, "id": rid, "role_definition_id": str(guid)}

    D.__name__ = type_name
    return D


class StandIn(Provider):
    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.schema = schema

    def get_model_prefix(self) -> str:
        return ""  # the classes carry full type names (google_project_iam_member)

    def full_name(self) -> str:
        return f"registry.terraform.io/hashicorp/{self.name}"

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        attrs, blocks = _block(self.schema.get("config", {}), data=False)
        return Schema(attributes=attrs, block_types=blocks)

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        pass

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        pass

    def get_resources(self) -> list[type[Resource]]:
        return [_resource_class(t, s) for t, s in sorted(self.schema["resources"].items())]

    def get_data_sources(self) -> list[type[DataSource]]:
        return [_data_class(t, s) for t, s in sorted(self.schema["data_sources"].items())]


def _canon(v: Any) -> Any:
    if isinstance(v, list):
        return sorted(json.dumps(x, sort_keys=True, default=str) for x in v)
    return v


class Servicer(tf.provider.ProviderServicer):
    """`tf` sets requires_replace for changed top-level attributes only; a changed nested block
    named in REPLACE (google's `condition`, azurerm's `schedule`) forces a new resource too."""

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        resp = super().PlanResourceChange(request, context)
        prior = read_dynamic_value(request.prior_state)
        proposed = read_dynamic_value(request.proposed_new_state)
        if not prior or not proposed:
            return resp
        blocks = self._get_res_blocks(request.type_name)
        for name in sorted(REPLACE.get(request.type_name, frozenset()) & set(blocks)):
            if _canon(prior.get(name)) != _canon(proposed.get(name)):
                resp.requires_replace.append(_to_attribute_path([name]))
        return resp


def main() -> None:
    for var in ("STANDIN_PROVIDER", "STANDIN_SCHEMA", "STANDIN_CLOUD"):
        if not os.environ.get(var):
            sys.exit(f"stand-in provider: {var} is not set (standin/install.py sets it)")
    name = os.environ["STANDIN_PROVIDER"]
    schema = json.loads(Path(os.environ["STANDIN_SCHEMA"]).read_text())[name]
    tf.provider.ProviderServicer = Servicer  # type: ignore[misc]
    runner.run_provider(StandIn(name, schema), sys.argv)


if __name__ == "__main__":
    main()
