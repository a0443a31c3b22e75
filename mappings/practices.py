"""The standard practice catalogue: the 34 ITIL 4 practices, each with its capability tier.

This is the one source of truth for both shipped defaults (a mapping file's
`classification.practices` replaces it, whole). The tiers follow the capability model
the SMO is built on (docs/mappings.md, "classification"): the twelve practices it names
keep their tier; each other practice sits with the work it resembles: direction and
investment (strategic), design, control and change of services over weeks or months
(tactical), running services day to day (operational).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.models import Capability

Family = Literal["general", "service", "technical"]


@dataclass(frozen=True)
class Practice:
    name: str
    family: Family  # ITIL 4: general, service or technical management practice
    capability: Capability
    named_by_smo: bool = False  # one of the twelve the SMO's capability model names

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").replace("it asset", "IT asset").capitalize()


_S, _T, _O = Capability.STRATEGIC, Capability.TACTICAL, Capability.OPERATIONAL

CATALOGUE: tuple[Practice, ...] = (
    # general management practices
    Practice("strategy_management", "general", _S, True),
    Practice("relationship_management", "general", _S, True),
    Practice("risk_management", "general", _S, True),
    Practice("portfolio_management", "general", _S, True),
    Practice("architecture_management", "general", _S),
    Practice("service_financial_management", "general", _S),
    Practice("workforce_and_talent_management", "general", _S),
    Practice("organizational_change_management", "general", _S),
    Practice("continual_improvement", "general", _T, True),
    Practice("knowledge_management", "general", _T, True),
    Practice("supplier_management", "general", _T, True),
    Practice("information_security_management", "general", _T),
    Practice("project_management", "general", _T),
    Practice("measurement_and_reporting", "general", _O, True),
    # service management practices
    Practice("service_level_management", "service", _T, True),
    Practice("availability_management", "service", _T),
    Practice("business_analysis", "service", _T),
    Practice("capacity_and_performance_management", "service", _T),
    Practice("change_enablement", "service", _T),
    Practice("it_asset_management", "service", _T),
    Practice("release_management", "service", _T),
    Practice("service_catalogue_management", "service", _T),
    Practice("service_configuration_management", "service", _T),
    Practice("service_continuity_management", "service", _T),
    Practice("service_design", "service", _T),
    Practice("service_validation_and_testing", "service", _T),
    Practice("incident_management", "service", _O, True),
    Practice("problem_management", "service", _O, True),
    Practice("service_desk", "service", _O, True),
    Practice("service_request_management", "service", _O),
    Practice("monitoring_and_event_management", "service", _O),
    # technical management practices: building a service is tactical, running it operational
    Practice("software_development_and_management", "technical", _T),
    Practice("deployment_management", "technical", _O),
    Practice("infrastructure_and_platform_management", "technical", _O),
)

STANDARD_PRACTICES: dict[str, Capability] = {p.name: p.capability for p in CATALOGUE}
