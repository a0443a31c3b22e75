"""Jira rich text as plain text: Atlassian Document Format (API v3) or wiki markup (v2).

Cloud's v3 API sends comment bodies, worklog comments and descriptions as ADF trees;
Server/DC and v2 send strings. Mappings and tag look-ups want text: `adf_text` gives the
same text for both, one line per block, inline nodes concatenated as they are rendered.
"""

from __future__ import annotations

from typing import Any

#: Nodes that end a line when rendered.
_BLOCKS = {
    "paragraph",
    "heading",
    "blockquote",
    "codeBlock",
    "listItem",
    "tableCell",
    "tableHeader",
    "panel",
    "rule",
    "mediaSingle",
    "decisionItem",
    "taskItem",
}


def adf_text(body: object) -> str:
    """`body` as text: a string as it is, an ADF document flattened."""
    if isinstance(body, str):
        return body
    return _node(body).strip()


def _node(node: Any) -> str:
    if isinstance(node, list):
        return "".join(_node(child) for child in node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    found = node.get("attrs")
    attrs: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "date", "inlineCard"):
        for name in ("text", "shortName", "url", "timestamp"):
            if attrs.get(name):
                return str(attrs[name])
        return ""
    inner = _node(node.get("content") or [])
    if kind in _BLOCKS:
        return inner.rstrip("\n") + "\n"
    return inner
