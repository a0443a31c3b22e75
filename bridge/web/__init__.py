"""The SMO's read-only board: gate matrix, transitions, workloads and the sync, as HTML.

`board.Board` renders the pages from a state store; `app.board_app` serves them (WSGI,
optional basic auth, a strict Content-Security-Policy); `export.write_board` writes them
as files that open with no network.
"""
