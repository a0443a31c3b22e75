"""The SMO's policy, once for the product: the gate and the knowledge article.

A configuration may name one policy file (`policy: smo-policy.yaml`) holding a `gate:` and
optionally a `knowledge:` section, written as in a mapping file. Every transition is then
judged by it, whichever sources its projects come from; without one, a transition follows
the mapping of its primary project's source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError, Issue
from bridge.yamlfile import did_you_mean, load_yaml, salvage
from connectors.base import MappingDialect
from mappings.checks import TRANSITION_ROLES, Checker, Symbols
from mappings.compile import CompiledKnowledge
from mappings.gate import GateDef
from mappings.loader import knowledge_for
from mappings.schema import KnowledgeDef, _Strict

POLICY_DIALECT = MappingDialect(kind="policy", label="policy")


class PolicyFile(_Strict):
    """The product's gate and article: `gate` as in a mapping file, `knowledge` optional."""

    gate: GateDef
    knowledge: KnowledgeDef | None = None


@dataclass(frozen=True)
class Policy:
    gate: GateDef
    knowledge: CompiledKnowledge
    file: str


def load_policy(path: str | Path, roles: Iterable[str] = ()) -> Policy:
    """Load and check a policy file; `roles` are the contact roles the sources' mappings
    give, which a gate item may name besides the transition's own."""
    doc = load_yaml(path)
    if doc.data is None:
        doc.data = {}
    issues: list[Issue] = []
    # a part the model rejects is left out, so the rest is still checked in this run
    model, checked = salvage(PolicyFile, doc, issues)
    if model is not None:
        symbols = Symbols(POLICY_DIALECT)
        symbols.roles = {*TRANSITION_ROLES, *roles}
        Checker(checked, symbols, issues).check_gate(model.gate)
        accepting = model.gate.acceptance
        keys = [item.key for item in model.gate.items]
        if "acceptance" in model.gate.model_fields_set and accepting is not None \
                and accepting not in keys:
            hint = did_you_mean(accepting, keys)
            issues.append(checked.issue(("gate", "acceptance"), f"no gate item {accepting!r}"
                                        + (f"; did you mean {hint!r}?" if hint else "")))
    knowledge = knowledge_for((checked, model.knowledge) if model and model.knowledge else None,
                              issues) if model else None
    if issues or model is None or knowledge is None:
        raise ConfigError(f"{doc.file}: {len(issues)} problem(s) in the policy", issues)
    return Policy(model.gate, knowledge, doc.file)
