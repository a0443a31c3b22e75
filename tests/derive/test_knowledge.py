from __future__ import annotations

import pytest

from bridge.derive.knowledge import render_article
from bridge.errors import ConfigError
from bridge.models import ServiceTransition
from mappings.loader import template_environment

TEMPLATE = """<h1>{{ service }}</h1>
<p>Also called: {{ transition.service_aliases | join(", ") }}</p>
<p>Resolver group: {{ transition.resolver_group or "unknown" }}</p>
<p>Impact: {{ attributes.business_impact }}</p>"""


def transition(**kw: object) -> ServiceTransition:
    base: dict[str, object] = {"id": "jira:PAY", "service": "Payments", "service_aliases": ["PayHub", "payments"],
                               "resolver_group": "Payments Ops", "attributes": {"business_impact": "high"}}
    base.update(kw)
    return ServiceTransition.model_validate(base)


def test_renders_escaped_html_with_keywords() -> None:
    article = render_article(transition(service="Pay <b>ments</b>"), template_environment().from_string(TEMPLATE))
    assert "<h1>Pay &lt;b&gt;ments&lt;/b&gt;</h1>" in article.html
    assert "Also called: PayHub, payments" in article.html
    assert article.keywords == ["Pay <b>ments</b>", "PayHub", "payments"]  # no resolver group


def test_hash_is_stable_and_changes_with_content() -> None:
    template = template_environment().from_string(TEMPLATE)
    first = render_article(transition(), template)
    assert render_article(transition(), template).content_hash == first.content_hash
    assert render_article(transition(resolver_group="Core Ops"), template).content_hash != first.content_hash
    assert render_article(transition(), template, workflow_state="published").content_hash != first.content_hash


def test_the_sandbox_blocks_internals_and_a_render_failure_is_a_config_error() -> None:
    nasty = template_environment().from_string("{{ service.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError, match=r"knowledge template failed for jira:PAY"):
        render_article(transition(), nasty)
