"""The real provider schemas, from the jsii assemblies of the CDK for Terraform provider packages
(npm @cdktf/provider-aws, -google, -azurerm; installed by scripts/bootstrap under the aliases in
package.json), and a checker of Terraform files against them.

cdktf generates each package from `terraform providers schema -json` of one provider release
(package.json: cdktf.provider.version). Every argument keeps its Terraform name in its doc link
(".../docs/resources/pim_active_role_assignment#principal_id ..."), and every nested block is a
struct type of its own, so the assembly gives back the resource types, data sources, provider
arguments and the nesting of blocks exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

LINK = re.compile(r"/docs(?:/(?:resources|data-sources)/\w+)?#(\w+)\s")
# class doc: "Represents a {@link https://.../resources/iam_role_policy aws_iam_role_policy}"
TYPE_LINK = re.compile(r"\{@link \S+/docs/(?:resources|data-sources)/\w+ (\w+)\}")
KINDS = {
    "cdktf.TerraformResource": "resource",
    "cdktf.TerraformDataSource": "data",
    "cdktf.TerraformProvider": "provider",
}
# Terraform's own arguments, valid in every resource/data block (and alias in a provider block)
META = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
LIFECYCLE = {
    "create_before_destroy",
    "prevent_destroy",
    "ignore_changes",
    "replace_triggered_by",
    "precondition",
    "postcondition",
}

Block = dict[str, Any]  # argument name -> None (attribute) or a nested Block


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _struct_fqns(t: Any) -> list[str]:
    if isinstance(t, dict):
        if "fqn" in t:
            return [t["fqn"]]
        return [f for v in t.values() for f in _struct_fqns(v)]
    if isinstance(t, list):
        return [f for v in t for f in _struct_fqns(v)]
    return []


def _block(types: dict, fqn: str, seen: frozenset[str] = frozenset()) -> Block:
    """Arguments of one config struct (nested blocks as nested Blocks)."""
    out: Block = {}
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        m = LINK.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
        name = m.group(1) if m else _snake(prop["name"])
        structs = [
            f
            for f in _struct_fqns(prop["type"])
            if not f.startswith("cdktf.") and types.get(f, {}).get("datatype") and f not in seen
        ]
        out[name] = _block(types, structs[0], seen | {fqn}) if structs else None
    return out


@dataclass(frozen=True)
class Schema:
    provider: str  # e.g. azurerm
    version: str  # the provider release the package was generated from
    config: Block
    resources: dict[str, Block]
    data_sources: dict[str, Block]

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def extract(package_dir: Path) -> Schema:
    meta = json.loads((package_dir / "package.json").read_text())
    provider_version = meta["cdktf"]["provider"]["version"]
    provider = meta["cdktf"]["provider"]["name"].rsplit("/", 1)[1]
    types = json.loads((package_dir / ".jsii").read_text())["types"]
    resources: dict[str, Block] = {}
    data: dict[str, Block] = {}
    config: Block = {}
    for fqn, t in types.items():
        kind = KINDS.get(t.get("base", ""))
        if t.get("kind") != "class" or kind is None or f"{fqn}Config" not in types:
            continue
        block = {k: v for k, v in _block(types, f"{fqn}Config").items() if k not in META}
        if kind == "provider":
            config = block
            continue
        m = TYPE_LINK.search(t.get("docs", {}).get("summary", ""))
        assert m, f"{fqn}: no Terraform type name in its docs"
        (resources if kind == "resource" else data)[m.group(1)] = block
    return Schema(provider, provider_version, config, resources, data)


def load(package_dir: Path, cache: Path) -> Schema:
    """extract(), cached by package and version (an assembly is up to a few hundred MB)."""
    meta = json.loads((package_dir / "package.json").read_text())
    cached = cache / f"{meta['name'].replace('/', '_')}-{meta['version']}.json"
    if cached.is_file():
        d = json.loads(cached.read_text())
        return Schema(**d)
    schema = extract(package_dir)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(schema.to_json())
    tmp.replace(cached)
    return schema


# --- the checker ----------------------------------------------------------------------------------


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] == '"' else s


def _body_problems(body: dict, schema: Block, where: str) -> list[str]:
    problems = []
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if key == "dynamic":
            for dyn in value:
                for label, spec in dyn.items():
                    name = _unquote(label)
                    if not isinstance(schema.get(name), dict):
                        problems.append(f"{where}: no block {name!r}")
                        continue
                    for content in spec.get("content", []):
                        problems += _body_problems(content, schema[name], f"{where}.{name}")
            continue
        if key not in schema:
            problems.append(f"{where}: unknown argument {key!r}")
            continue
        nested = schema[key]
        if isinstance(nested, dict) and isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and item.get("__is_block__"):
                    problems += _body_problems(item, nested, f"{where}.{key}")
    return problems


def _lifecycle_problems(body: dict, schema: Block, where: str) -> list[str]:
    problems = []
    for lc in body.get("lifecycle", []):
        for key in lc:
            if not key.startswith("__") and key not in LIFECYCLE:
                problems.append(f"{where}: unknown lifecycle argument {key!r}")
        for ref in lc.get("ignore_changes", []):
            top = re.split(r"[.\[]", _unquote(str(ref)))[0]
            if top not in schema:
                problems.append(f"{where}: ignore_changes names unknown argument {top!r}")
    return problems


def check_file(path: Path, schemas: dict[str, Schema]) -> tuple[list[str], set[str]]:
    """Problems in one .tf file, and the resource/data types it uses of the given providers."""
    doc = hcl2.loads(path.read_text())
    problems: list[str] = []
    used: set[str] = set()
    for section, table in (("resource", "resources"), ("data", "data_sources")):
        for entry in doc.get(section, []):
            for rtype_q, instances in entry.items():
                rtype = _unquote(rtype_q)
                provider = rtype.split("_", 1)[0]
                if provider not in schemas:
                    continue
                used.add(f"{section}.{rtype}")
                block = getattr(schemas[provider], table).get(rtype)
                if block is None:
                    problems.append(f"{path}: {section} type {rtype!r} does not exist")
                    continue
                for name_q, body in instances.items():
                    where = f"{path}: {section}.{rtype}.{_unquote(name_q)}"
                    rest = {k: v for k, v in body.items() if k not in META}
                    problems += _body_problems(rest, block, where)
                    problems += _lifecycle_problems(body, block, where)
    for entry in doc.get("provider", []):
        for name_q, body in entry.items():
            name = _unquote(name_q)
            if name in schemas:
                used.add(f"provider.{name}")
                rest = {k: v for k, v in body.items() if k != "alias"}
                problems += _body_problems(rest, schemas[name].config, f"{path}: provider.{name}")
    return problems, used


# --- version constraints ------------------------------------------------------------------------


def _v(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.split("."))


def admits(constraint: str, version: str) -> bool:
    """Terraform version constraints with the operators jitctl uses (>=, >, <=, <, =, ~>)."""
    v = _v(version)
    for part in constraint.split(","):
        op, want = re.fullmatch(r"\s*(>=|<=|>|<|=|~>)?\s*([\d.]+)\s*", part).groups()  # type: ignore[union-attr]
        w = _v(want)
        n = max(len(v), len(w))
        vv, ww = v + (0,) * (n - len(v)), w + (0,) * (n - len(w))
        if op == "~>":
            upper = (*w[:-2], w[-2] + 1) if len(w) > 1 else (w[0] + 1,)
            if not (vv >= ww and v[: len(upper)] < upper):
                return False
            continue
        ok = {
            ">=": vv >= ww,
            ">": vv > ww,
            "<=": vv <= ww,
            "<": vv < ww,
            "=": vv == ww,
            None: vv == ww,
        }[op]
        if not ok:
            return False
    return True


def required_providers(path: Path) -> dict[str, str]:
    doc = hcl2.loads(path.read_text())
    out = {}
    for tf in doc.get("terraform", []):
        for rp in tf.get("required_providers", []):
            for name, spec in rp.items():
                if not name.startswith("__"):
                    out[_unquote(name)] = _unquote(spec["version"])
    return out
