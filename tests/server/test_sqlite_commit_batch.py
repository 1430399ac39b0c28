"""One group commit of many documents and updates: a few statements, same rows and sizes.

``_commit_batch`` writes a batch with one read of the documents' sizes, one UPDATE and
multi-row INSERTs (split to stay under SQLite's bound-value limit). A batch larger than
one statement can hold must still write every update in order and return every size.
"""

from __future__ import annotations

from pathlib import Path

from sync_server.sqlite_store import _commit_batch, _connect


def test_a_batch_beyond_one_statement_writes_everything_in_order(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "db.sqlite3", writer=True)
    try:
        # 12,000 documents (beyond one IN list / UPDATE) and 40,000 updates (beyond one
        # INSERT): half the documents exist already, half are created by this batch.
        first = [(f"doc{i}", b"x") for i in range(0, 12_000, 2)]
        assert _commit_batch(conn, first, 1.0, lambda name, gen: f"inc-{name}")["doc0"] == (1, 1)
        batch = [(f"doc{i % 12_000}", bytes([i % 251]) * (1 + i % 3)) for i in range(40_000)]
        sizes = _commit_batch(conn, batch, 2.0, lambda name, gen: f"inc-{name}")
        assert len(sizes) == 12_000
        expected: dict[str, list[int]] = {}
        for name, data in first + batch:
            e = expected.setdefault(name, [0, 0])
            e[0] += 1
            e[1] += len(data)
        assert sizes == {name: (c, b) for name, (c, b) in expected.items()}
        stored = conn.execute(
            "SELECT name, log_count, log_bytes FROM documents ORDER BY name"
        ).fetchall()
        assert {n: (c, b) for n, c, b in stored} == sizes
        rows = conn.execute("SELECT name, data FROM updates ORDER BY seq").fetchall()
        assert [(n, bytes(d)) for n, d in rows] == first + batch
    finally:
        conn.close()
