"""The shipped Grafana dashboard and Prometheus alert rules query only what the daemon
exposes: every metric name and every label they match on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from bridge.daemon import Metrics

CONFIG = Path(__file__).resolve().parents[2] / "config"
#: series Prometheus itself adds to every scrape target
PROMETHEUS_SERIES = {"up": {"job", "instance"}}
#: labels Prometheus attaches to every scraped series
TARGET_LABELS = {"job", "instance"}

# sample names per family type, as the exposition format writes them
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "summary": ("", "_sum", "_count", "_created"), "info": ("_info",),
            "gaugehistogram": ("_bucket", "_gsum", "_gcount")}

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan", "atan2"}
STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
RANGE = re.compile(r"\[[^\]]*\]")
MATCHERS = re.compile(r"\{[^}]*\}")
NAME = re.compile(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
SELECTOR = re.compile(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are neither a function
    call, a keyword, a label (in matchers or a grouping list) nor part of a number or range."""
    text = STRING.sub('""', expr)
    text = GROUPING.sub(" ", text)
    text = RANGE.sub(" ", text)
    text = MATCHERS.sub(" ", text)
    return {m.group(1) for m in NAME.finditer(text)
            if not m.group(2) and m.group(1).lower() not in KEYWORDS}


def matched_labels(expr: str) -> dict[str, set[str]]:
    """Per selected metric, the label names its matchers use."""
    found: dict[str, set[str]] = {}
    for name, matchers in SELECTOR.findall(STRING.sub('""', expr)):
        found.setdefault(name, set()).update(LABEL.findall(matchers))
    return found


@pytest.mark.parametrize(("expr", "names"), [
    ('up{job="smo-bridge"} == 0', {"up"}),
    ("time() - smo_bridge_last_success_timestamp_seconds > 3 * 900", {"smo_bridge_last_success_timestamp_seconds"}),
    ('increase(smo_bridge_pushes_total{outcome="failed"}[15m]) > 0', {"smo_bridge_pushes_total"}),
    ('histogram_quantile(0.95, sum by (source, le) (rate(a_bucket{instance=~"$instance"}[$__rate_interval])))',
     {"a_bucket"}),
    ("a unless on (instance, source) b", {"a", "b"}),
    ("sum without(le) (x) / ignoring(code) group_left(team) y offset 5m", {"x", "y"}),
    ('count(m{path="a{b}", x!~"or and(b)"}) > 1e3 and rate(n[1h:5m])', {"m", "n"}),
    ('sum(rate(other_metric_total{a="1"}[5m])) by (job) > bool 0.5', {"other_metric_total"}),
])
def test_metric_names_finds_exactly_the_selected_metrics(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_matched_labels_reads_the_matchers_of_each_selector() -> None:
    expr = 'a{x="1", y=~"b|c"} + on (z) b{w!="q,r=s"} + c'
    assert matched_labels(expr) == {"a": {"x", "y"}, "b": {"w"}}


def exposed() -> dict[str, set[str]]:
    """Every sample name the daemon's registry can expose, with the labels it carries."""
    metrics = Metrics()
    labels_of = {w._name: set(w._labelnames) for w in vars(metrics).values()
                 if isinstance(w, MetricWrapperBase)}
    names: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        labels = labels_of.get(family.name, set())
        labels |= {k for s in family.samples for k in s.labels}
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        if family.type == "info":
            names[family.name + "_info"] = labels | {"version"}
    names.update(PROMETHEUS_SERIES)
    return names


def alert_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load((CONFIG / "prometheus-alerts.yaml").read_text())
    rules = [r for group in doc["groups"] for r in group["rules"]]
    assert {"alert", "expr"} <= set(rules[0]) and len(rules) >= 5
    return [(r["alert"], r["expr"]) for r in rules]


def dashboard_exprs() -> list[tuple[str, str]]:
    doc = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    exprs = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
    for variable in doc["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            metric, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query).groups()  # type: ignore[union-attr]
            exprs.append((variable["name"], f"{metric}{{{label}!=\"\"}}"))
    return exprs


def test_alert_rules_have_the_shape_prometheus_loads() -> None:
    doc = yaml.safe_load((CONFIG / "prometheus-alerts.yaml").read_text())
    assert set(doc) == {"groups"}
    names = set()
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
            assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", rule["alert"]), rule["alert"]
            assert rule["alert"] not in names
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(")")
            assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s")), rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"])
    # the conditions operators asked for, each on its metric
    exprs = " ".join(rule["expr"] for group in doc["groups"] for rule in group["rules"])
    for needed in ("smo_bridge_last_success_timestamp_seconds", 'smo_bridge_pushes_total{outcome="failed"}',
                   'smo_bridge_transitions{status="overdue"}', 'smo_bridge_transitions{status="live_unready"}',
                   "smo_bridge_config_last_reload_ok"):
        assert needed in exprs


def test_dashboard_has_the_shape_grafana_imports() -> None:
    doc = json.loads((CONFIG / "grafana-dashboard.json").read_text())
    assert doc["uid"] and doc["title"] and isinstance(doc["schemaVersion"], int)
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert all(t["refId"] and t["expr"] for t in panel["targets"])
    variables = {v["name"] for v in doc["templating"]["list"]}
    used = set(re.findall(r"\$\{?(\w+)", json.dumps(doc["panels"])))
    assert used - {"__rate_interval", "__range", "__interval"} <= variables


@pytest.mark.parametrize("where", ["alerts", "dashboard"])
def test_every_query_names_metrics_and_labels_the_daemon_exposes(where: str) -> None:
    available = exposed()
    exprs = alert_exprs() if where == "alerts" else dashboard_exprs()
    assert exprs
    problems: list[str] = []
    for title, expr in exprs:
        names = metric_names(expr)
        if not names:
            problems.append(f"{title}: selects no metric: {expr}")
        problems += [f"{title}: no metric {n!r}" for n in sorted(names - set(available))]
        for name, labels in matched_labels(expr).items():
            unknown = labels - available.get(name, set()) - TARGET_LABELS
            problems += [f"{title}: {name} has no label {label!r}" for label in sorted(unknown)]
        problems += [f"{title}: grouping by unknown label {label!r}"
                     for group in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr)
                     for label in (x.strip() for x in group.split(","))
                     if label and not any(label in labels for labels in available.values())
                     and label not in TARGET_LABELS]
    assert problems == []


def test_the_check_catches_a_misspelt_metric_and_label() -> None:
    available = exposed()
    assert "smo_bridge_pushes_total" in available and "smo_bridge_pushes" not in available
    assert "smo_bridge_cycle_seconds_bucket" in available and "smo_bridge_build_info" in available
    assert "outcome" in available["smo_bridge_pushes_total"]
    assert "status" in available["smo_bridge_transitions"]
    assert "source" not in available["smo_bridge_pushes_total"]
