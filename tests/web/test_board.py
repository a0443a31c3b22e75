"""The board's pages over a store a sandbox sync filled: what they say, what they never
show, and how they are served (headers, auth, read-only) and exported."""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.test import Client

from bridge.cli.serve import auth_from_env, board_for
from bridge.derive.workloads import compute, load_ticket_columns
from bridge.errors import ConfigError
from bridge.models import ServiceTransition
from bridge.store import Store
from bridge.store.schema import outbox, runs, transitions
from bridge.web.app import BasicAuth, board_app
from bridge.web.board import CSP, Board, transition_page
from bridge.web.data import cell_state
from tests.helpers import clean_env
from tests.web.conftest import HOSTILE_PROJECT, HOSTILE_SERVICE, Synced


def _client(synced: Synced, store: Store, auth: BasicAuth | None = None) -> Client:
    return Client(board_app(board_for(synced.config, store), auth))


def _text(html: str) -> str:
    """What a person reads: the page without its tags, entities resolved."""
    class Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.parts = []
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _stored(store: Store) -> list[ServiceTransition]:
    with store.engine.connect() as conn:
        return [ServiceTransition.model_validate(p)
                for p in conn.execute(select(transitions.c.payload)).scalars()]


def test_the_matrix_has_a_row_per_transition_with_its_status_and_items(
        synced: Synced, store: Store) -> None:
    page = _client(synced, store).get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    stored = _stored(store)
    assert len(stored) >= 6
    rows = re.findall(r'<tr data-status="([a-z_]+)"', html)
    assert sorted(rows) == sorted(t.gate.status.value for t in stored)
    today = datetime.now(UTC).date()
    for t in stored:
        met = sum(1 for i in t.gate.items if i.status.value in ("met", "waived"))
        row = html.split(f'href="{transition_page(t.id)}"', 1)[1].split("</tr>", 1)[0]
        assert f">{met}/{len(t.gate.items)}<" in row
        states = re.findall(r'<td class="cell ([a-z]+)" data-item="([a-z_]+)"', row)
        assert sorted(states) == sorted((cell_state(i, today), i.key) for i in t.gate.items)
    # an unmet item past its day reads late, and the seeded world has some
    assert 'class="cell late"' in html
    text = _text(html)
    assert "live unready" in text and "passed" in text
    assert "delivers: project manager" in text and "approves: " in text


def test_cells_link_to_the_evidence_in_jira_and_servicenow(synced: Synced, store: Store) -> None:
    html = _client(synced, store).get("/").get_data(as_text=True)
    links = set(re.findall(r'class="evidence" href="([^"]+)"', html))
    assert any(u.startswith(f"{synced.jira_url}/browse/") for u in links), links
    assert any(u.startswith(f"{synced.servicenow_url}/nav_to.do?uri=pm_project_task.do") for u in links)
    # an article's evidence names its number: the knowledge base's own view of it
    assert any(u.startswith(f"{synced.servicenow_url}/kb_view.do?sysparm_article=KB") for u in links)
    # without the configuration the board knows no addresses, and shows no link
    bare = Client(board_app(Board(store))).get("/").get_data(as_text=True)
    assert 'class="evidence"' not in bare


def test_filters_narrow_the_rows(synced: Synced, store: Store) -> None:
    client = _client(synced, store)
    stored = _stored(store)
    passed = [t for t in stored if t.gate.status.value == "passed"]
    html = client.get("/index.html?status=passed").get_data(as_text=True)
    assert re.findall(r'<tr data-status="([a-z_]+)"', html) == ["passed"] * len(passed)
    team = stored[0].resolver_group
    html = client.get("/", query_string={"team": team}).get_data(as_text=True)
    assert set(re.findall(r'data-team="([^"]+)"', html)) == {team}
    assert len(re.findall(r"<tr data-status", html)) == sum(1 for t in stored if t.resolver_group == team)
    html = client.get("/?window=none&status=passed").get_data(as_text=True)
    assert "No transition matches." in html or all(
        w == "none" for w in re.findall(r'data-window="([a-z0-9]+)"', html))


def test_a_transition_page_says_what_explain_says_and_its_history(
        synced: Synced, store: Store) -> None:
    client = _client(synced, store)
    t = next(t for t in _stored(store) if t.gate.status.value == "overdue")
    html = client.get(f"/{transition_page(t.id)}").get_data(as_text=True)
    text = _text(html)
    assert t.gate.reason and t.gate.reason in text
    for item in t.gate.items:
        assert item.title in text
        if item.missing:
            assert item.missing in text
        for evidence in item.evidence:
            assert evidence.detail in text
    with store.engine.connect() as conn:
        versions = conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.operation == "gate_status",
            outbox.c.payload["status"]["transition"].as_string() == t.id)).scalar_one()
    assert versions >= 1  # the sync planned its pushes: the history reads them
    history = html.split('class="history"', 1)[1].split("</table>", 1)[0]
    assert f"s-{t.gate.status.value}" in history
    assert client.get("/transition-nothing-00000000.html").status_code == 404


def test_workload_tables_add_up_to_the_one_workload_definition(synced: Synced, store: Store) -> None:
    html = _client(synced, store).get("/workloads-capability-month.html").get_data(as_text=True)
    with store.engine.connect() as conn:
        columns = load_ticket_columns(conn)
        sync_time = conn.execute(select(func.max(runs.c.finished_at))).scalar_one()
    expected = {(r["capability"], r["period"]): r
                for r in compute(columns, ["capability"], "month", ZoneInfo("UTC"),
                                 sync_time.replace(tzinfo=UTC))}
    for measure, key in (("opened", "opened"), ("closed", "closed"), ("open_backlog", "open_backlog")):
        table = html.split(f'id="t-{measure}"', 1)[1].split("</table>", 1)[0]
        groups = re.findall(r'<th scope="col">([a-z]+)</th>', table)
        assert groups == ["operational", "strategic", "tactical"]
        shown = 0
        for period, cells in re.findall(r'<tr><th scope="row">([0-9-]+)</th>(.*?)</tr>', table):
            values = re.findall(r'<td class="num">([0-9.]*)</td>', cells)
            for group, value in zip(groups, values, strict=True):
                want = expected.get((group, period), {key: 0})[key]
                assert int(value) == want, (measure, group, period)
                shown += 1
        assert shown >= 3 * 6
    assert "<canvas" in html and "static/chart.umd.min.js" in html


def test_the_sync_page_shows_sources_cycles_and_the_outbox(synced: Synced, store: Store) -> None:
    html = _client(synced, store).get("/sync.html").get_data(as_text=True)
    with store.engine.connect() as conn:
        delivered = conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.status == "delivered")).scalar_one()
        ran = conn.execute(select(func.count()).select_from(runs)).scalar_one()
    assert delivered > 0
    assert f'<span data-outbox="delivered">{delivered} delivered</span>' in html
    assert re.search(r'<tr data-source="jira"><th scope="row">jira</th><td>\d{4}-\d\d-\d\d', html)
    assert re.search(r'<tr data-source="snow"><th scope="row">snow</th><td>\d{4}-\d\d-\d\d', html)
    assert len(re.findall(r'<tr class="run-ok">', html)) == ran


def test_hostile_text_is_shown_as_text_on_every_page(synced: Synced, store: Store) -> None:
    board = board_for(synced.config, store)
    client = Client(board_app(board))
    seen = 0
    for name in board.page_names():
        html = client.get(f"/{name}").get_data(as_text=True)
        # markup from data never reaches the page as markup
        assert "<script>window" not in html and "<img" not in html, name
        if "HR &lt;script&gt;" in html:
            seen += 1
            assert HOSTILE_SERVICE in _text(html)
    assert seen >= 2  # the matrix and the transition's own page
    page = client.get(f"/{transition_page('snow:PRJ0010005')}").get_data(as_text=True)
    assert HOSTILE_PROJECT in _text(page)
    assert "&#34;&gt;&lt;img src=x onerror=" in page


def test_no_page_shows_a_secret_or_a_raw_payload(synced: Synced, store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    auth = BasicAuth("smo", "board-Pa55-word-xyz")
    client = _client(synced, store, auth)
    header = {"Authorization": "Basic " + base64.b64encode(b"smo:board-Pa55-word-xyz").decode()}
    board = board_for(synced.config, store)
    for name in board.page_names():
        html = client.get(f"/{name}", headers=header).get_data(as_text=True)
        assert "board-Pa55-word-xyz" not in html
        # raw records' own fields never appear: only derived statuses, names and counts
        for raw_field in ("sys_updated_on", "sys_created_by", '"payload"', "customfield_",
                          '"fields"'):
            assert raw_field not in html, (name, raw_field)


def test_served_pages_carry_a_policy_that_forbids_remote_sources(synced: Synced, store: Store) -> None:
    client = _client(synced, store)
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert policy == CSP
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert not re.search(r"https?:|\*|'unsafe", policy)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/chart.umd.min.js").headers["Content-Type"].startswith("text/javascript")
    # only the bundled files, never a path out of the folder
    for path in ("/static/../board.py", "/static/%2e%2e/board.py", "/static/board.py", "/../x"):
        assert client.get(path).status_code == 404, path
    assert client.post("/").status_code == 405


def test_basic_auth_admits_only_the_configured_user(synced: Synced, store: Store,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client(synced, store, BasicAuth("smo", "s3cret-board"))

    def basic(value: bytes) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(value).decode()}

    assert client.get("/").status_code == 401
    assert client.get("/").headers["WWW-Authenticate"].startswith("Basic ")
    assert client.get("/", headers=basic(b"smo:wrong")).status_code == 401
    assert client.get("/", headers=basic(b"other:s3cret-board")).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!"}).status_code == 401
    assert client.get("/", headers=basic(b"smo:s3cret-board")).status_code == 200
    assert "s3cret-board" not in caplog.text


def test_serve_needs_both_user_and_password_or_neither(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMO_BRIDGE_WEB_USER", raising=False)
    monkeypatch.delenv("SMO_BRIDGE_WEB_PASSWORD", raising=False)
    assert auth_from_env() is None
    monkeypatch.setenv("SMO_BRIDGE_WEB_USER", "smo")
    with pytest.raises(ConfigError, match="SMO_BRIDGE_WEB_PASSWORD"):
        auth_from_env()
    monkeypatch.setenv("SMO_BRIDGE_WEB_PASSWORD", "pw")
    assert auth_from_env() == BasicAuth("smo", "pw")


def test_the_export_opens_from_a_folder_with_every_link_inside_it(
        synced: Synced, tmp_path: Path) -> None:
    out = tmp_path / "board"
    result = CliRunner().invoke(
        __import__("bridge.cli.main", fromlist=["cli"]).cli,
        ["--config", str(synced.config_path), "report", "board", "--output", str(out)])
    assert result.exit_code == 0, result.output
    pages = sorted(out.glob("*.html"))
    assert len(pages) >= 2 + 6 + 6
    assert (out / "static" / "chart.umd.min.js").stat().st_size > 100_000
    assert "MIT License" in (out / "static" / "chart.js-LICENSE.md").read_text()
    for page in pages:
        html = page.read_text()
        for target in re.findall(r'(?:href|src|action)="([^"#?]+)', html):
            if target.startswith(("http://127.0.0.1", "data:")):
                continue  # evidence links, to the tools (here the sandbox); the empty icon
            assert "://" not in target and not target.startswith("/"), (page.name, target)
            assert (out / target).exists(), (page.name, target)


def test_serve_answers_on_loopback_until_stopped(synced: Synced) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli.main", "--config", str(synced.config_path), "serve",
         "--port", "0"], stderr=subprocess.PIPE, text=True,
        env=clean_env(SMO_BRIDGE_WEB_USER="smo", SMO_BRIDGE_WEB_PASSWORD="serve-Pa55"))
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"board on (http://127\.0\.0\.1:\d+/) \(basic auth\)", line)
        assert found, line
        import requests

        assert requests.get(found.group(1), timeout=10).status_code == 401
        page = requests.get(found.group(1) + "sync.html", auth=("smo", "serve-Pa55"), timeout=10)
        assert page.status_code == 200 and "Recent cycles" in page.text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "serve-Pa55" not in err



def test_an_article_links_only_when_one_source_holds_a_knowledge_base() -> None:
    from bridge.web.data import Links

    one = Links({"jira": ("jira", "https://j.example"), "snow": ("servicenow", "https://s.example")})
    assert one.url("KB0010001") == "https://s.example/kb_view.do?sysparm_article=KB0010001"
    two = Links({"a": ("servicenow", "https://a.example"), "b": ("servicenow", "https://b.example")})
    assert two.url("KB0010001") is None
