"""A small checker of JSON bodies against OpenAPI 3 schemas: types, required, extra keys."""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


class SchemaChecker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def response_schema(self, path: str, method: str, status: str = "200") -> dict[str, Any]:
        content = self.spec["paths"][path][method]["responses"][status]["content"]
        return dict(content["application/json"]["schema"])

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    def errors(self, value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
        schema = self.resolve(schema)
        if value is None:
            return (
                []
                if schema.get("nullable") or not schema.get("type")
                else [f"{where}: null where {schema.get('type')} expected"]
            )
        found: list[str] = []
        for part in schema.get("allOf", []):
            found += self.errors(value, part, where)
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if options and all(self.errors(value, o, where) for o in options):
                found.append(f"{where}: matches none of {key}")
        kind = schema.get("type")
        if kind:
            allowed = _TYPES[kind]
            if not isinstance(value, allowed) or (
                kind in ("integer", "number") and isinstance(value, bool)
            ):
                return [*found, f"{where}: {type(value).__name__} where {kind} expected"]
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{where}: {value!r} not in {schema['enum']}")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    found.append(f"{where}: missing required {name!r}")
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if name in props:
                    found += self.errors(item, props[name], f"{where}.{name}")
                elif extra is False and props:
                    found.append(f"{where}: unexpected property {name!r}")
                elif isinstance(extra, dict) and extra:
                    found += self.errors(item, extra, f"{where}.{name}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value[:20]):
                found += self.errors(item, schema["items"], f"{where}[{i}]")
        return found
