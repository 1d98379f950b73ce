"""The store's file: where it lives, what it keeps, and each way the file can fail.

Every failure test checks one of two contracts. The automatic path (``record``) never
raises and the warning callback gets exactly one line; then, for a fault that lasts
(not a database, a folder), the store turns off for the rest of the session, the
exchange that could not be written stays in ``unsaved``, and a command asked of the
store afterwards raises one ``StoreError`` line saying why; for a fault that passes
(a lock, a full disk, a read-only file), the store stays on, the exchanges wait in
``unsaved`` and are written once the file can take them (``tests/faults/
test_faults_store.py`` has those end to end).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from groq_magic.store import (
    ENV_VAR,
    Exchange,
    Store,
    StoreError,
    default_path,
    open_store,
    resolve_path,
)
from groq_magic.store._schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
MakeExchange = Callable[..., Exchange]


def assert_one_line(text: str) -> None:
    assert text, "an empty message"
    assert "\n" not in text, text
    assert "Traceback" not in text, text


def assert_turned_off(store: Store, warnings: list[str], fragment: str) -> None:
    """One warning line naming the problem; the store is off and says so in one line."""
    assert len(warnings) == 1, warnings
    assert_one_line(warnings[0])
    assert fragment in warnings[0]
    assert not store.enabled
    with pytest.raises(StoreError) as info:
        store.log()
    assert_one_line(str(info.value))
    assert fragment in str(info.value)


# ---- where the file lives ---------------------------------------------------------------


def test_explicit_path_beats_the_environment(tmp_path: Path) -> None:
    assert resolve_path(tmp_path / "a.sqlite") == tmp_path / "a.sqlite"
    assert resolve_path() == Path(os.environ[ENV_VAR])


def test_default_is_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv(ENV_VAR)
    assert resolve_path() == default_path()
    assert default_path().parent == Path(platformdirs.user_data_dir("groq_magic"))


@pytest.mark.parametrize("value", ["none", "NONE", " off "])
def test_none_turns_the_store_off(
    monkeypatch: pytest.MonkeyPatch, warnings: list[str], make_exchange: MakeExchange, value: str
) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    store = open_store(on_warning=warnings.append)
    assert not store.enabled
    assert store.record(make_exchange()) is None
    assert store.lookup("0" * 64) is None
    assert store.record_reset("default") is False
    with pytest.raises(StoreError, match=r"store is off \(GROQ_MAGIC_STORE=none\)") as info:
        store.log()
    assert_one_line(str(info.value))
    assert warnings == []  # the user asked for it: nothing to warn about
    assert not Path(value.strip()).exists()


def test_opening_is_lazy(tmp_path: Path) -> None:
    store = open_store(tmp_path / "sub" / "lazy.sqlite")
    assert not (tmp_path / "sub").exists()
    store.open()
    assert (tmp_path / "sub" / "lazy.sqlite").exists()
    store.close()


# ---- what it keeps --------------------------------------------------------------------------


def test_an_exchange_round_trips(store: Store, make_exchange: MakeExchange) -> None:
    sent = make_exchange(
        chat="drafts",
        cell_id="cell-1",
        notebook="notebooks/a.ipynb",
        reasoning="thinking...",
        tool_calls=[{"id": "call_1", "function": {"name": "f", "arguments": "{}"}}],
        turn_id="t1",
        options={"temperature": 0.5},
        system="Be brief.",
        request_id="req_1",
    )
    rowid = store.record(sent)
    assert rowid == sent.id == 1
    got = store.get(rowid)
    for name in (
        "request",
        "answer",
        "status",
        "model",
        "chat",
        "reasoning",
        "tool_calls",
        "usage",
        "timings",
        "finish_reason",
        "cell_id",
        "notebook",
        "turn_id",
        "options",
        "system",
        "request_id",
    ):
        assert getattr(got, name) == getattr(sent, name), name
    assert got.host == "api.groq.com"
    assert got.prompt == "Name a colour."
    assert abs((got.created - sent.created).total_seconds()) < 1e-3


def test_schema_version_table(store: Store, make_exchange: MakeExchange) -> None:
    store.record(make_exchange())
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path, warnings: list[str]) -> None:
    path = tmp_path / "newer.sqlite"
    Store(path).open().close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    store = Store(path, on_warning=warnings.append)
    with pytest.raises(StoreError, match="newer groq_magic") as info:
        store.open()
    assert_one_line(str(info.value))


def test_a_version_1_database_is_migrated_and_keeps_its_exchanges(
    tmp_path: Path, make_exchange: MakeExchange, warnings: list[str]
) -> None:
    path = tmp_path / "v1.sqlite"
    old = Store(path)
    old.record(make_exchange("From before."))
    old.close()
    with sqlite3.connect(path) as conn:  # what version 1 wrote: no replayed column
        conn.execute("DROP INDEX exchanges_usage")
        conn.execute("ALTER TABLE exchanges DROP COLUMN replayed")
        conn.execute(
            "CREATE INDEX exchanges_usage ON exchanges(model, batch, created, prompt_tokens,"
            " completion_tokens, cached_tokens, total_tokens)"
        )
        conn.execute("UPDATE schema_version SET version = 1")
    store = Store(path, on_warning=warnings.append)
    try:
        assert [row["prompt"] for row in store.log()] == ["From before."]
        store.record(make_exchange("A replay.", replayed=True))
        assert [row["status"] for row in store.log()] == ["replayed", "complete"]
        assert [row["exchanges"] for row in store.usage_summary()] == [1]
    finally:
        store.close()
    assert warnings == []
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == [1, 2, SCHEMA_VERSION] == [1, 2, 3]
        assert conn.execute("SELECT replayed FROM exchanges ORDER BY id").fetchall() == [(0,), (1,)]
        usage_index = [row[2] for row in conn.execute("PRAGMA index_info(exchanges_usage)")]
        assert usage_index[:3] == ["model", "batch", "replayed"]  # usage stays index-only


def test_a_version_2_database_is_migrated_and_keeps_its_exchanges_and_gets_runs(
    tmp_path: Path, make_exchange: MakeExchange, warnings: list[str]
) -> None:
    path = tmp_path / "v2.sqlite"
    old = Store(path)
    old.record(make_exchange("From before."))
    old.close()
    with sqlite3.connect(path) as conn:  # what version 2 wrote: no runs tables
        conn.execute("DROP TABLE runs")
        conn.execute("DROP TABLE run_rows")
        conn.execute("UPDATE schema_version SET version = 2")
    store = Store(path, on_warning=warnings.append)
    try:
        assert [row["prompt"] for row in store.log()] == ["From before."]
        assert store.runs() == []
        run = {"name": "first", "template": "Q: {q}", "models": ["alpha"], "rows": 2}
        run_id = store.record_run({**run, "pass_rates": {"json": 0.5}}, [[1, "a"], (2, None)])
        assert run_id == 1
        listed = store.runs()
        assert [(r["id"], r["name"], r["rows"], r["pass_rates"]) for r in listed] == [
            (1, "first", 2, {"json": 0.5})
        ]
        fields, rows = store.run(1)
        assert (fields["template"], fields["models"], rows) == (
            "Q: {q}",
            ["alpha"],
            [[1, "a"], [2, None]],
        )
        with pytest.raises(StoreError, match="no stored evaluation run with id 2"):
            store.run(2)
    finally:
        store.close()
    assert warnings == []
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == [2, SCHEMA_VERSION] == [2, 3]


def test_a_run_that_cannot_be_written_turns_the_store_off_with_one_line(
    tmp_path: Path, warnings: list[str]
) -> None:
    path = tmp_path / "runs.sqlite"
    store = Store(path, on_warning=warnings.append)
    store.open()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE run_rows")  # a write that fails inside the transaction
    assert store.record_run({"name": "x", "template": "t", "rows": 1}, [[1]]) is None
    assert_turned_off(store, warnings, "no such table: run_rows")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0  # rolled back


def test_log_lists_newest_first_with_cost(store: Store, make_exchange: MakeExchange) -> None:
    for i in range(5):
        store.record(make_exchange(f"prompt {i}", chat="a" if i % 2 else "b"))
    store.record(make_exchange("local", model="smollm2-135m-instruct"))
    store.record(make_exchange("mystery", model="no-such-model"))
    rows = store.log(limit=3)
    assert [r["prompt"] for r in rows] == ["mystery", "local", "prompt 4"]
    assert set(rows[0]) == {"id", "time", "chat", "model", "prompt", "status", "tokens", "cost"}
    assert rows[0]["cost"] is None  # unknown model: unknown, not free
    assert rows[1]["cost"] == 0.0  # the embedded model
    assert rows[2]["cost"] == pytest.approx((12 * 0.59 + 3 * 0.79) / 1e6)
    assert rows[2]["tokens"] == 15
    assert [r["prompt"] for r in store.log(chat="a")] == ["prompt 3", "prompt 1"]


def test_log_search(store: Store, make_exchange: MakeExchange) -> None:
    store.record(make_exchange("Turn this into a pandas DataFrame", answer="df = ..."))
    store.record(make_exchange("Name a fruit", answer="A mango."))
    store.record(make_exchange("100% sure?", answer="Yes_no"))
    assert [r["prompt"] for r in store.log(search="panda")] == ["Turn this into a pandas DataFrame"]
    assert [r["prompt"] for r in store.log(search="mango")] == ["Name a fruit"]  # the answer
    assert store.log(search="pandas mango") == []  # every word must match
    assert store.log(search='NEAR("x" -') == []  # FTS syntax in a search is just text
    assert [r["prompt"] for r in store.log(search="100%")] == ["100% sure?"]


def test_log_search_without_fts(
    store: Store, make_exchange: MakeExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.record(make_exchange("Turn this into a pandas DataFrame"))
    store.record(make_exchange("50%_off"))
    store.open()
    monkeypatch.setattr(store, "_fts", False)
    assert [r["prompt"] for r in store.log(search="as Data")] == [
        "Turn this into a pandas DataFrame"
    ]
    assert [r["prompt"] for r in store.log(search="%_")] == ["50%_off"]  # wildcards escaped


def test_usage_summary(store: Store, make_exchange: MakeExchange) -> None:
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 100,
        "total_tokens": 1100,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    store.record(make_exchange(model="openai/gpt-oss-20b", usage=usage))
    store.record(make_exchange(model="openai/gpt-oss-20b", usage=usage, batch=True))
    store.record(make_exchange(model="openai/gpt-oss-20b", status="error", answer="", usage={}))
    store.record(make_exchange(model="mystery-model", chat="other"))
    old = datetime.now(timezone.utc) - timedelta(days=3)
    store.record(make_exchange(model="llama-3.1-8b-instant", created=old))
    by_model = {row["model"]: row for row in store.usage_summary()}
    one = (600 * 0.075 + 400 * 0.0375 + 100 * 0.3) / 1e6
    oss = by_model["openai/gpt-oss-20b"]
    assert oss["exchanges"] == 3
    assert oss["prompt_tokens"] == 2000
    assert oss["cached_tokens"] == 800
    assert oss["cost"] == pytest.approx(one * 1.5)  # the batch one at half price
    assert by_model["mystery-model"]["cost"] is None
    assert "llama-3.1-8b-instant" not in {r["model"] for r in store.usage_summary(today=True)}
    assert [r["model"] for r in store.usage_summary(chat="other")] == ["mystery-model"]


def test_batches(store: Store) -> None:
    assert store.record_batch("batch_1", "https://api.groq.com/openai/v1", {"n": 1})
    assert store.record_batch("batch_2", "https://api.groq.com/openai/v1", {"n": 2})
    assert store.record_batch("batch_1", "https://api.groq.com/openai/v1", {"n": 3})
    rows = store.recent_batches(5)
    # An update keeps the job's place (when it was first recorded) and takes the new metadata.
    assert [(r["job_id"], r["metadata"]) for r in rows] == [
        ("batch_2", {"n": 2}),
        ("batch_1", {"n": 3}),
    ]
    assert rows[0]["host"] == "api.groq.com"
    assert len(store.recent_batches(1)) == 1


def test_record_never_raises_on_odd_values(
    store: Store, make_exchange: MakeExchange, warnings: list[str]
) -> None:
    class Odd:
        def __str__(self) -> str:
            return "odd"

    assert store.record(make_exchange(usage={"prompt_tokens": 1, "x": Odd()})) == 1
    assert store.get(1).usage["x"] == "odd"
    circular: list[Any] = []
    circular.append(circular)
    assert store.record(make_exchange(tool_calls=[{"args": circular}])) is None
    assert len(warnings) == 1
    assert "could not be saved" in warnings[0]
    assert store.enabled  # one bad exchange does not turn the store off
    assert store.record(make_exchange()) == 2


# ---- two processes ---------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys
    from groq_magic.store import Exchange, Store
    warnings = []
    store = Store(sys.argv[1], on_warning=warnings.append)
    for i in range(int(sys.argv[3])):
        ex = Exchange(
            request={"model": "m", "messages": [{"role": "user", "content": f"{sys.argv[2]} {i}"}]},
            answer="ok", model="m", base_url="http://127.0.0.1:1/v1", chat=sys.argv[2],
        )
        assert store.record(ex) is not None, warnings
    assert warnings == [], warnings
    print("wrote", sys.argv[3])
    """
)


def _write_from_two_processes(path: Path, rows: int) -> None:
    """Two interpreters write ``rows`` exchanges each into ``path`` at the same time."""
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(rows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name in ("left", "right")
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip() == f"wrote {rows}"


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    Store(path).open().close()  # both start on an existing database
    _write_from_two_processes(path, 200)
    with sqlite3.connect(path) as conn:
        counts = dict(conn.execute("SELECT chat, COUNT(*) FROM exchanges GROUP BY chat"))
        assert counts == {"left": 200, "right": 200}
        assert conn.execute("SELECT COUNT(*) FROM exchange_data").fetchone()[0] == 400
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_processes_create_the_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    _write_from_two_processes(path, 20)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] == 40
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1


def test_a_lock_held_past_the_busy_timeout_is_one_line_and_the_writes_wait(
    tmp_path: Path, warnings: list[str], make_exchange: MakeExchange
) -> None:
    path = tmp_path / "locked.sqlite"
    Store(path).open().close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as another kernel in the middle of a long write would
    store = Store(path, on_warning=warnings.append, busy_timeout=0.2)
    try:
        exchange = make_exchange()
        assert store.record(exchange) is None
        assert store.unsaved == [exchange]
        [line] = warnings
        assert_one_line(line)
        assert "locked by another process" in line
        assert "exchanges wait in memory" in line
        assert store.enabled
        assert store.record(make_exchange()) is None
        assert len(warnings) == 1  # one line for the fault, not one per cell
        assert len(store.unsaved) == 2
        assert store.log() == []  # readers do not wait for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.record(make_exchange()) == 3
    assert store.unsaved == []
    assert "can be written again: 3 exchanges saved" in warnings[-1]
    store.close()


# ---- a broken file, folder or disk -------------------------------------------------------------


def test_a_file_of_junk_is_one_line(
    tmp_path: Path, warnings: list[str], make_exchange: MakeExchange
) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(os.urandom(8192))
    store = Store(path, on_warning=warnings.append)
    assert store.record(make_exchange()) is None
    assert store.lookup("0" * 64) is None
    assert_turned_off(store, warnings, "is not a usable SQLite database")
    assert len(store.unsaved) == 1


def test_a_database_with_trashed_pages_is_one_line(
    tmp_path: Path, warnings: list[str], make_exchange: MakeExchange
) -> None:
    path = tmp_path / "trashed.sqlite"
    first = Store(path)
    for i in range(50):
        first.record(make_exchange(f"prompt {i}", answer="x" * 2000))
    first.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xde\xad\xbe\xef" * ((len(data) - 4096) // 4)  # keep the header page
    path.write_bytes(bytes(data))
    store = Store(path, on_warning=warnings.append)
    assert store.record(make_exchange()) is None
    assert len(warnings) == 1, warnings
    assert_one_line(warnings[0])
    assert str(path) in warnings[0]
    assert not store.enabled


def test_a_folder_as_the_path_is_one_line(
    tmp_path: Path, warnings: list[str], make_exchange: MakeExchange
) -> None:
    store = Store(tmp_path, on_warning=warnings.append)
    assert store.record(make_exchange()) is None
    assert_turned_off(store, warnings, "is a folder: give a file")


def test_a_folder_that_cannot_be_created_is_one_line(
    tmp_path: Path, warnings: list[str], make_exchange: MakeExchange
) -> None:
    # A regular file where the folder should be: mkdir fails even for root (ENOTDIR),
    # which chmod cannot arrange when the tests run as root.
    (tmp_path / "not-a-folder").write_text("x")
    store = Store(tmp_path / "not-a-folder" / "store.sqlite", on_warning=warnings.append)
    assert store.record(make_exchange()) is None
    assert_turned_off(store, warnings, "cannot create the store's folder")
    with pytest.raises(StoreError, match="cannot create the store's folder") as info:
        Store(tmp_path / "not-a-folder" / "x" / "s.sqlite").open()
    assert_one_line(str(info.value))


def test_a_full_disk_is_one_line_and_the_writes_wait(
    store: Store, warnings: list[str], make_exchange: MakeExchange
) -> None:
    # SQLite's own page limit gives the SQLITE_FULL error a full disk gives, without
    # filling one: this proves the handling of "database or disk is full", not ENOSPC.
    # The limit belongs to the connection, which the store closes on this fault: the
    # next write opens the file again without it, as if space had been freed.
    assert store.record(make_exchange()) == 1
    pages = store._connection().execute("PRAGMA page_count").fetchone()[0]
    store._connection().execute(f"PRAGMA max_page_count = {pages + 2}")
    for _ in range(5):
        if store.record(make_exchange(answer="x" * 20_000)) is None:
            break
    [line] = warnings
    assert_one_line(line)
    assert "is full" in line
    assert store.enabled
    assert len(store.unsaved) == 1  # what could not be written waits in memory
    assert store.record(make_exchange()) is not None
    assert store.unsaved == []
    assert "can be written again: 2 exchanges saved" in warnings[-1]


def _record_as_nobody(path: Path, conn: Any) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    warnings: list[str] = []
    # Everything is imported and the price table read before the switch; only the
    # store's own file access happens as nobody.
    store = Store(path, on_warning=warnings.append)
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    result = store.record(Exchange(request={"model": "m", "messages": []}, answer="a"))
    conn.send((result, store.enabled, warnings))
    conn.close()


def _run_as_nobody(path: Path, *, stays_on: bool = False) -> list[str]:
    """The warnings of a store that tried to write ``path`` from a child running as nobody
    (which failed; the store stays on for a fault that passes, else it is off)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_record_as_nobody, args=(path, child))
    process.start()
    assert parent.poll(60), "the child running as nobody did not answer"
    result, enabled, warnings = parent.recv()
    process.join(10)
    assert result is None
    assert enabled is stays_on
    return list(warnings)


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    """A folder outside tmp_path's private tree that another user can reach (0755)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="groq-store-"))
    folder.chmod(0o755)
    yield folder
    subprocess.run(["rm", "-rf", str(folder)], check=False)


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="forks a child that becomes user nobody, which needs root",
)


@needs_root
def test_a_read_only_folder_is_one_line(shared_dir: Path) -> None:
    # chmod does not stop root, so the writer is a forked child that has become nobody:
    # a real EACCES from a folder it may not write to.
    folder = shared_dir / "ro"
    folder.mkdir(mode=0o555)
    folder.chmod(0o555)
    [line] = _run_as_nobody(folder / "store.sqlite")
    assert_one_line(line)
    assert "cannot open" in line
    assert "writable" in line


@needs_root
def test_a_read_only_file_is_one_line(shared_dir: Path, make_exchange: MakeExchange) -> None:
    path = shared_dir / "store.sqlite"
    Store(path).record(make_exchange())
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.chmod(0o444)
    [line] = _run_as_nobody(path, stays_on=True)
    assert_one_line(line)
    assert str(path) in line
    assert "is read-only" in line
    assert "exchanges wait in memory" in line


def test_windows_that_share_message_objects_are_stored_whole(
    store: Store, make_exchange: MakeExchange
) -> None:
    # Windows reuse earlier turns' message dicts; the store cleans each once (a memo),
    # and must still store every window exactly, and notice a message that changed.
    first = {"role": "user", "content": "A?"}
    answer = {"role": "assistant", "content": "a"}
    second = {"role": "user", "content": "B?"}
    store.record(make_exchange(request={"model": "m", "messages": [first]}))
    store.record(make_exchange(request={"model": "m", "messages": [first, answer, second]}))
    first["content"] = "changed"
    store.record(make_exchange(request={"model": "m", "messages": [first, answer]}))
    assert store.get(1).request == {"model": "m", "messages": [{"role": "user", "content": "A?"}]}
    assert store.get(2).request["messages"] == [
        {"role": "user", "content": "A?"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "B?"},
    ]
    assert store.get(3).request["messages"][0] == {"role": "user", "content": "changed"}


def test_the_wal_is_checkpointed_in_a_pause_and_the_thread_stops_on_close(
    store: Store, make_exchange: MakeExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import groq_magic.store._db as db

    monkeypatch.setattr(db, "CHECKPOINT_IDLE", 0.05)
    store.record(make_exchange(answer="MARKER-in-the-main-file"))
    assert b"MARKER-in-the-main-file" not in store.path.read_bytes()  # only in the WAL yet
    deadline = time.monotonic() + 10
    while b"MARKER-in-the-main-file" not in store.path.read_bytes():
        assert time.monotonic() < deadline, "no checkpoint after the pause"
        time.sleep(0.05)
    thread = store._checkpointer
    assert thread is not None
    assert thread.is_alive()
    store.close()
    assert not thread.is_alive()
