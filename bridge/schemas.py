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


#: what a schema says beyond the models: the known kinds as an enum, the form of field ids
#: and practice names (the loaders check the same, with a message in words)
FIELD_ID = r"^[A-Za-z][A-Za-z0-9_.-]*$"
SNAKE = r"^[a-z][a-z0-9_]*$"


def mapping_schema() -> dict[str, Any]:
    from mappings.loader import known_kinds

    schema = MappingFile.model_json_schema()
    defs = schema["$defs"]
    defs["Meta"]["properties"]["kind"]["enum"] = known_kinds()
    defs["Meta"]["properties"]["custom_fields"]["additionalProperties"] = {
        "anyOf": [{"type": "string", "pattern": FIELD_ID}, {"type": "null"}]}
    practices = defs["Classification"]["properties"]["practices"]
    for choice in practices.get("anyOf", [practices]):
        if choice.get("type") == "object":
            choice["propertyNames"] = {"pattern": SNAKE}
    return {"$schema": DIALECT, "$id": MAPPING_ID, "title": "smo-bridge mapping file", **schema}


#: descriptions of configuration keys whose models carry none (definition -> key -> text)
CONFIG_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "": {"state": "the state store: an SQLAlchemy URL (sqlite:///FILE, postgresql+psycopg://...)",
         "push": "what is written back to the tools; without it nothing is",
         "daemon": "the daemon's schedule, push interval and health endpoint",
         "reporting": "workload periods and the at-risk thresholds of gates",
         "web": "the read-only board the daemon serves (docs/board.md)"},
    "WebConfig": {"enabled": "serve the board", "port": "the port the board listens on"},
    "WebAuthConfig": {"username": "the user name people sign in to the board with"},
    "DaemonConfig": {"schedule": "when every source is pulled (a source's own entry under "
                                 "`sources` overrides it)",
                     "push_interval_seconds": "seconds between push rounds"},
    "ScheduleConfig": {"interval_seconds": "seconds between pulls (a cron expression wins)",
                       "misfire_grace_seconds": "a pull that missed its time still runs within "
                                                "this many seconds"},
    "BasicAuth": {"kind": "basic: user name and password (or API token)",
                  "username": "the account's user name (Jira Cloud: its e-mail address)",
                  "password": "the password or API token; write ${ENV_NAME}, never the secret"},
    "BearerAuth": {"kind": "bearer: a personal access token",
                   "token": "the token; write ${ENV_NAME}, never the secret"},
    "OAuth2Auth": {"kind": "oauth2: the password grant of the instance's OAuth endpoint",
                   "client_id": "the OAuth client's id",
                   "client_secret": "the OAuth client's secret; write ${ENV_NAME}",
                   "username": "the account's user name",
                   "password": "the account's password; write ${ENV_NAME}"},
    "*Config": {"auth": "how the bridge signs in: basic, bearer or oauth2",
                "verify_tls": "check the server's TLS certificate (false only for a test instance)",
                "retry": "the retry policy of this source's requests",
                "page_size": "records per request",
                "tables": "tables to read (default: the stock tables the mapping needs)"},
}


def _describe(schema: dict[str, Any]) -> None:
    """Fill in CONFIG_DESCRIPTIONS where a property has no description of its own."""
    targets = [("", schema), *schema.get("$defs", {}).items()]
    for name, definition in targets:
        texts = CONFIG_DESCRIPTIONS.get(name) or (
            CONFIG_DESCRIPTIONS["*Config"] if name.endswith("Config") else {})
        for key, prop in definition.get("properties", {}).items():
            if "description" not in prop and key in texts:
                prop["description"] = texts[key]


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
    _describe(schema)
    return {"$schema": DIALECT, "$id": CONFIG_ID, "title": "smo-bridge configuration", **schema}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in (("mapping", mapping_schema()), ("configuration", config_schema())):
        path = folder / FILES[name]
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
