from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from bridge.derive.knowledge import compile_template, render_article
from bridge.errors import ConfigError
from bridge.models import ServiceTransition

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
    article = render_article(transition(service="Pay <b>ments</b>"), compile_template(TEMPLATE, "kb.j2"))
    assert "<h1>Pay &lt;b&gt;ments&lt;/b&gt;</h1>" in article.html
    assert "Also called: PayHub, payments" in article.html
    assert article.keywords == ["Pay <b>ments</b>", "PayHub", "payments", "Payments Ops"]


def test_hash_is_stable_and_changes_with_content() -> None:
    template = compile_template(TEMPLATE, "kb.j2")
    first = render_article(transition(), template)
    assert render_article(transition(), template).content_hash == first.content_hash
    assert render_article(transition(resolver_group="Core Ops"), template).content_hash != first.content_hash
    assert render_article(transition(), template, workflow_state="published").content_hash != first.content_hash


def test_template_errors_are_config_errors_and_sandbox_blocks_internals() -> None:
    with pytest.raises(ConfigError, match=r"kb.j2:1: template error"):
        compile_template("{% if %}", "kb.j2")
    nasty = compile_template("{{ service.__class__.__mro__[1].__subclasses__() }}", "kb.j2")
    with pytest.raises((SecurityError, ConfigError)):
        render_article(transition(), nasty)
