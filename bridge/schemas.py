"""JSON Schemas (2020-12) of the files admins edit, for their editors: the configuration
file and mapping files. Written by `smo-bridge schema --write DIR`; the loaders stay the
authority (they also check what a schema cannot: roles, paths, references)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.config import _ConfigShape
from connectors.base import registry
from mappings.schema import MappingFile

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAPPING_ID = "urn:smo-bridge:schema:mapping"
CONFIG_ID = "urn:smo-bridge:schema:configuration"
FILES = {"mapping": "smo-bridge-mapping.schema.json",
         "configuration": "smo-bridge-config.schema.json"}


def mapping_schema() -> dict[str, Any]:
    schema = MappingFile.model_json_schema()
    return {"$schema": DIALECT, "$id": MAPPING_ID, "title": "smo-bridge mapping file", **schema}


def config_schema() -> dict[str, Any]:
    """The configuration file: each entry of `sources` is one connector's model, chosen by
    its `kind` (a misspelt kind matches none of them)."""
    schema = _ConfigShape.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    choices = []
    for kind, connector in sorted(registry().items()):
        model = connector.config_model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(model.pop("$defs", {}))
        model["properties"]["kind"] = {"const": kind, "description": "connector kind"}
        model.setdefault("required", [])
        if "kind" not in model["required"]:
            model["required"].append("kind")
        name = f"{connector.config_model.__name__}"
        defs[name] = model
        choices.append({"$ref": f"#/$defs/{name}"})
    schema["properties"]["sources"] = {
        "type": "array", "description": "the tools to read, each by its connector kind",
        "items": {"oneOf": choices}}
    return {"$schema": DIALECT, "$id": CONFIG_ID, "title": "smo-bridge configuration", **schema}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in (("mapping", mapping_schema()), ("configuration", config_schema())):
        path = folder / FILES[name]
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
