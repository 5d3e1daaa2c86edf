"""Just enough JSON Schema for the replica's OpenAPI description: check a value against a
schema, and draw values from one with hypothesis (the subset the description uses)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]


def resolve(schema: Schema, spec: Schema) -> Schema:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _full_pattern(pattern: str) -> str:
    """The description's ``^...$`` as the inner pattern, to be used with fullmatch."""
    return pattern.removeprefix("^").removesuffix("$")


def violations(value: Any, schema: Schema, spec: Schema, where: str = "$") -> list[str]:
    """What is wrong with ``value`` under ``schema``; empty when it conforms."""
    schema = resolve(schema, spec)
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        problems = [
            f"{where}: missing {key}" for key in schema.get("required", []) if key not in value
        ]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                problems += violations(item, properties[key], spec, f"{where}.{key}")
            elif extra is False:
                problems.append(f"{where}: unexpected {key}")
            elif isinstance(extra, dict):
                problems += violations(item, extra, spec, f"{where}.{key}")
        return problems
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: not an integer"]
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return [f"{where}: {value} out of range"]
        return []
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: not a string"]
        pattern = schema.get("pattern")
        if pattern and not re.fullmatch(_full_pattern(pattern), value):
            return [f"{where}: {value!r} does not match {pattern}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} not one of {schema['enum']}"]
        return []
    return []


def valid_values(schema: Schema, spec: Schema) -> st.SearchStrategy[Any]:
    """Values that conform to ``schema`` (objects with their required properties)."""
    schema = resolve(schema, spec)
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(_full_pattern(schema["pattern"]), fullmatch=True)
        return st.text()
    if kind == "object":
        properties = schema.get("properties", {})
        return st.fixed_dictionaries(
            {key: valid_values(properties[key], spec) for key in schema.get("required", [])}
        )
    return st.none()


JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def mutated_values(schema: Schema, spec: Schema) -> st.SearchStrategy[Any]:
    """Values near the schema and far from it: a valid object with one field replaced or
    removed, an unknown field added, or any JSON value at all."""
    schema = resolve(schema, spec)
    valid = valid_values(schema, spec)
    if schema.get("type") != "object":
        return valid | JSON_VALUES
    keys = list(schema.get("properties", {}))

    @st.composite
    def near(draw: st.DrawFn) -> Any:
        value = dict(draw(valid))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        key = draw(st.sampled_from(keys))
        if action == "replace":
            value[key] = draw(JSON_VALUES)
        elif action == "remove":
            value.pop(key, None)
        else:
            value[draw(st.text(min_size=1))] = draw(JSON_VALUES)
        return value

    return near() | JSON_VALUES
