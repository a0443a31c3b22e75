"""The board as files: every page and the bundled scripts, styles and licence."""

from __future__ import annotations

from pathlib import Path

from bridge.web.board import STATIC, Board, static_bytes


def write_board(board: Board, out_dir: Path) -> list[Path]:
    """Write every page into `out_dir` (created when missing); the pages link each other and
    `static/` relatively, so the folder opens from a disk or a share with no network."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "static").mkdir(exist_ok=True)
    written: list[Path] = []
    for name in board.page_names():
        html = board.page(name)
        if html is None:  # a transition removed while exporting
            continue
        path = out_dir / name
        path.write_text(html, encoding="utf-8")
        written.append(path)
    for name in STATIC:
        path = out_dir / "static" / name
        path.write_bytes(static_bytes(name))
        written.append(path)
    return written
