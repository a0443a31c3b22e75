"""A store nothing has synced into yet: every page renders and says so."""

from __future__ import annotations

from pathlib import Path

from werkzeug.test import Client

from bridge.store import open_store
from bridge.web.app import board_app
from bridge.web.board import Board


def test_every_page_of_an_empty_store_says_there_is_nothing_yet(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        board = Board(store)
        client = Client(board_app(board))
        said = {}
        for name in board.page_names():
            response = client.get(f"/{name}")
            assert response.status_code == 200, name
            said[name] = response.get_data(as_text=True)
        assert "No transition matches." in said["index.html"]
        assert "No source has synced yet." in said["sync.html"]
        assert "No workload has been computed yet" in said["workloads-team-month.html"]
    finally:
        store.close()
