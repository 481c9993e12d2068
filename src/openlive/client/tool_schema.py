"""Python types and docstrings as the Live API's function schemas.

Types go through pydantic's ``TypeAdapter`` (JSON Schema for anything pydantic knows:
pydantic models, dataclasses, TypedDicts, enums, ``Literal``, ``Optional``, nested lists and
dicts), then into the OpenAPI subset Google's ``Schema`` takes: ``$ref`` resolved, ``anyOf``
with ``null`` as ``nullable``, titles and ``additionalProperties`` dropped (Google refuses
the latter: spec/protocol.md §3). Docstrings (Google, Sphinx, NumPy, Epydoc) are read by
``docstring_parser``.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

import docstring_parser
from pydantic import TypeAdapter

from ..wire.setup import Schema

_TYPES = {"string": "STRING", "integer": "INTEGER", "number": "NUMBER", "boolean": "BOOLEAN",
          "array": "ARRAY", "object": "OBJECT", "null": "NULL"}
_KEPT = ("format", "pattern", "minimum", "maximum", "min_items", "max_items",
         "min_length", "max_length")
_JSON_NAMES = {"min_items": "minItems", "max_items": "maxItems", "min_length": "minLength",
               "max_length": "maxLength"}
_MAX_DEPTH = 16  # a recursive model stops here (as a plain OBJECT)


def schema_for(hint: Any, description: str | None = None) -> Schema:
    """The Live API Schema of a Python type hint (unknown or ``Any``: STRING, what every
    model can produce)."""
    if typing.get_origin(hint) is typing.Annotated:
        args = typing.get_args(hint)
        extra = next((a for a in args[1:] if isinstance(a, str)), None)
        return schema_for(args[0], description or extra)
    if typing.is_typeddict(hint) and adapter(hint) is None:
        return _typed_dict(hint, description)
    json_schema = _json_schema(hint)
    schema = _convert(json_schema, json_schema.get("$defs", {}), 0)
    if description:
        schema = schema.model_copy(update={"description": description})
    return schema


def _typed_dict(hint: Any, description: str | None) -> Schema:
    """A ``typing.TypedDict`` (pydantic takes only typing_extensions' before Python 3.12)."""
    hints = typing.get_type_hints(hint, include_extras=True)
    required = [k for k in hints if k in getattr(hint, "__required_keys__", hints)]
    return Schema(type="OBJECT", properties={k: schema_for(v) for k, v in hints.items()},
                  required=required or None, description=description)


def adapter(hint: Any) -> TypeAdapter[Any] | None:
    """A validator for a parameter's values (None: take them as they come)."""
    try:
        return _adapter(hint)
    except TypeError:  # unhashable hint
        return None


@lru_cache(maxsize=512)
def _adapter(hint: Any) -> TypeAdapter[Any] | None:
    try:
        return TypeAdapter(hint)
    except Exception:  # a type pydantic cannot validate: values pass unchanged
        return None


def _json_schema(hint: Any) -> dict[str, Any]:
    found = adapter(hint)
    if found is None:
        return {}
    try:
        return found.json_schema()
    except Exception:  # e.g. a callable in the type: no schema
        return {}


def _convert(node: dict[str, Any], defs: dict[str, Any], depth: int) -> Schema:
    if depth > _MAX_DEPTH:
        return Schema(type="OBJECT")
    if "$ref" in node:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, depth + 1)
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        rest = [o for o in options if o.get("type") != "null"]
        nullable = True if len(rest) < len(options) else None
        if len(rest) == 1:
            inner = _convert({**rest[0], **_described(node)}, defs, depth + 1)
            return inner.model_copy(update={"nullable": nullable}) if nullable else inner
        return Schema(any_of=[_convert(o, defs, depth + 1) for o in rest],
                      nullable=nullable, description=node.get("description"))
    kind = node.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        rest = [k for k in kind if k != "null"]
        inner = _convert({**node, "type": rest[0] if rest else "null"}, defs, depth)
        return inner.model_copy(update={"nullable": True}) if len(rest) < len(kind) else inner
    fields: dict[str, Any] = {"description": node.get("description")}
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if kind is None and values:
        kind = "string" if all(isinstance(v, str) for v in values) else None
    if values and all(isinstance(v, str) for v in values):
        fields["enum"] = list(values)  # the proto's enum holds strings only
    if kind == "array":
        items = node.get("items") or (node.get("prefixItems") or [None])[0]
        if items:
            fields["items"] = _convert(items, defs, depth + 1)
    if kind == "object" and "properties" in node:
        fields["properties"] = {name: _convert(_without_default(p), defs, depth + 1)
                                for name, p in node["properties"].items()}
        fields["required"] = node.get("required") or None
    for key in _KEPT:
        value = node.get(_JSON_NAMES.get(key, key))
        if value is not None:
            fields[key] = value
    return Schema(type=_TYPES.get(kind, "STRING") if kind else "STRING", **fields)


def _described(node: dict[str, Any]) -> dict[str, Any]:
    return {"description": node["description"]} if "description" in node else {}


def _without_default(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "default"}


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """(summary, {param: description}) of a Google, Sphinx, NumPy or Epydoc docstring."""
    if not doc:
        return None, {}
    parsed = docstring_parser.parse(doc)
    params = {p.arg_name.lstrip("*"): " ".join((p.description or "").split())
              for p in parsed.params}
    summary = " ".join((parsed.short_description or "").split()) or None
    return summary, params
