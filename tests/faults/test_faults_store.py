"""Issue 16, defect 6: the exchange store loses nothing silently.

Each test drives a live chat whose turns, undos and resets go to a real SQLite file in
``tmp_path`` (as the session sends them), breaks the file while the "kernel" runs, and
checks the promise: one line says what happened, the store stays on, nothing is
written to a file no one will read again, and a restore in a NEW process (a fresh
interpreter opening the path) gives every turn of the live chat, in order.

- the file deleted, renamed away, or replaced by another file (a copy of itself, or a
  stranger): noticed before the next write, made again (schema and all) or used as it
  is, this session's exchanges written to it again;
- a lock held by another process past the busy timeout, a full disk, a read-only file:
  the writes (exchanges and history edits) wait in order, and land once the file can
  take them: at the next write, at ``close()``, or at exit;
- a file that is not a database: the store turns off, in one line, as before.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fault_server as faults
import pytest

import groq_magic
import groq_magic.store._db as db
from groq_magic.chat import Conversation, Turn
from groq_magic.store import Exchange, Store, StoreError

# Child interpreters start here, so they import the groq_magic this test imported.
ROOT = Path(groq_magic.__file__).resolve().parents[1]
MODEL = "llama-3.3-70b-versatile"
BASE_URL = "https://api.groq.com/openai/v1"
NOTEBOOK = "analysis.ipynb"
BUSY = 0.2  # seconds: the busy timeout of the stores under test

_RESTORE = textwrap.dedent(
    """
    import json, sys
    from groq_magic.store import Store, conversations_from_turns
    store = Store(sys.argv[1], on_warning=lambda line: print(line, file=sys.stderr))
    chats = conversations_from_turns(store.turns_for_restore(notebook=sys.argv[2]))
    print(json.dumps({n: [[t.prompt, t.answer] for t in c.turns] for n, c in chats.items()}))
    store.close()
    """
)


def restored_elsewhere(path: Path, notebook: str = NOTEBOOK) -> dict[str, list[list[str]]]:
    """What ``%groq restore`` gives in a new process: each chat's (prompt, answer) turns."""
    done = subprocess.run(
        [sys.executable, "-c", _RESTORE, str(path), notebook],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    result: dict[str, list[list[str]]] = json.loads(done.stdout)
    return result


class Chat:
    """A live conversation whose turns and edits go to ``store`` as the session sends them."""

    def __init__(self, store: Store, name: str = "default") -> None:
        self.store = store
        self.conv = Conversation(name=name)

    def turn(self, prompt: str, answer: str | None = None) -> Turn:
        turn = Turn(prompt=prompt, answer=answer or f"answer to {prompt}", model=MODEL)
        self.conv.record(turn)
        self.store.record(
            Exchange(
                request={"model": MODEL, "messages": [{"role": "user", "content": prompt}]},
                answer=turn.answer,
                model=MODEL,
                base_url=BASE_URL,
                chat=self.conv.name,
                notebook=NOTEBOOK,
                turn_id=turn.id,
                user_message=turn.user_message,
                created=turn.created_at,
            )
        )
        return turn

    def undo(self) -> None:
        turn = self.conv.undo()
        self.store.record_undo(self.conv.name, turn.id, notebook=NOTEBOOK)

    def reset(self) -> None:
        self.conv.reset()
        self.store.record_reset(self.conv.name, notebook=NOTEBOOK)

    def live(self) -> list[list[str]]:
        return [[t.prompt, t.answer] for t in self.conv.turns]


def one_line(text: str) -> str:
    assert text, "an empty line"
    assert "\n" not in text, text
    assert "Traceback" not in text, text
    return text


def count(path: Path, table: str = "exchanges") -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "exchanges.sqlite"


@pytest.fixture
def store(path: Path, warnings: list[str]) -> Iterator[Store]:
    opened = Store(path, on_warning=warnings.append, busy_timeout=BUSY)
    yield opened
    opened.close()


# -- the file deleted, moved away or replaced --------------------------------------------------


@pytest.mark.parametrize("companions", [False, True], ids=["file", "file-wal-shm"])
def test_a_store_deleted_mid_session_is_made_again_and_a_restore_gives_every_turn(
    store: Store, path: Path, warnings: list[str], companions: bool
) -> None:
    chat = Chat(store)
    chat.turn("one")
    chat.turn("two")
    chat.turn("three")
    chat.undo()
    os.remove(path)  # `rm exchanges.sqlite` (or with its -wal and -shm) in a terminal
    if companions:
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    chat.turn("four")
    [line] = warnings
    assert one_line(line) == (
        f"groq_magic: the store file {path} was deleted or moved away while this kernel ran;"
        " a new one is made there, and exchanges are saved to it, this session's 3 earlier"
        " ones again"
    )
    assert path.exists()
    chat.turn("five")
    assert store.waiting == 0
    assert len(warnings) == 1
    store.close()
    assert [prompt for prompt, _ in chat.live()] == ["one", "two", "four", "five"]
    assert restored_elsewhere(path) == {"default": chat.live()}
    assert count(path, "history_edits") == 1  # the undo came along


def test_a_store_renamed_away_keeps_what_it_had_and_the_path_gets_every_turn(
    store: Store, path: Path, warnings: list[str]
) -> None:
    chat = Chat(store)
    chat.turn("one")
    chat.turn("two")
    moved = path.with_name("old.sqlite")
    os.rename(path, moved)
    chat.turn("three")
    assert "was deleted or moved away while this kernel ran" in one_line(warnings[0])
    store.close()
    assert count(moved) == 2  # the renamed file is whole: its WAL went into it
    assert restored_elsewhere(moved) == {"default": chat.live()[:2]}
    assert restored_elsewhere(path) == {"default": chat.live()}


def test_a_store_replaced_by_a_copy_of_itself_keeps_each_turn_once(
    store: Store, path: Path, warnings: list[str]
) -> None:
    chat = Chat(store)
    chat.turn("one")
    chat.undo()
    chat.turn("two")
    copy = path.with_name("copy.sqlite")
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)  # a backup or sync tool's copy, taken now
    chat.turn("three")
    os.replace(copy, path)  # ... and moved into place, as such tools do
    chat.turn("four")
    [line] = warnings
    assert one_line(line).startswith(
        f"groq_magic: the store file {path} was replaced by another file while this kernel ran;"
        " the file now there is used"
    )
    store.close()
    assert restored_elsewhere(path) == {"default": chat.live()}
    assert count(path) == 4  # "one", "two", "three", "four": none twice
    assert count(path, "history_edits") == 1


def test_a_store_replaced_by_another_store_gets_this_sessions_turns_beside_its_own(
    store: Store, path: Path, tmp_path: Path, warnings: list[str]
) -> None:
    chat = Chat(store)
    chat.turn("one")
    stranger_path = tmp_path / "stranger.sqlite"
    stranger = Store(stranger_path)
    other = Chat(stranger, "other")
    other.turn("elsewhere")
    stranger.close()
    os.replace(stranger_path, path)
    chat.turn("two")
    assert "was replaced by another file" in one_line(warnings[0])
    store.close()
    assert restored_elsewhere(path) == {"default": chat.live(), "other": other.live()}


def test_a_store_replaced_by_a_file_that_is_not_a_database_turns_off_in_one_line(
    store: Store, path: Path, warnings: list[str]
) -> None:
    chat = Chat(store)
    chat.turn("one")
    junk = path.with_name("junk")
    junk.write_bytes(os.urandom(8192))
    os.replace(junk, path)
    chat.turn("two")
    [line] = warnings
    assert "is not a usable SQLite database" in one_line(line)
    assert "exchanges are no longer saved in this session" in line
    assert not store.enabled
    with pytest.raises(StoreError, match="is not a usable SQLite database"):
        store.log()


# -- a lock held by another process --------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    conn.close()
    """
)


class LockHolder:
    """Another process holding the store's write lock (``BEGIN EXCLUSIVE``) until released."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("go\n")
            self.process.stdin.flush()
            assert self.process.wait(timeout=60) == 0


@pytest.fixture
def holder(store: Store, path: Path) -> Iterator[Any]:
    """Start a lock holder on ``path`` when called; released (at the latest) after the test."""
    started: list[LockHolder] = []

    def start() -> LockHolder:
        started.append(LockHolder(path))
        return started[-1]

    yield start
    for running in started:
        running.release()


def test_a_lock_held_past_the_busy_timeout_keeps_the_writes_in_order_until_released(
    store: Store, path: Path, warnings: list[str], holder: Any
) -> None:
    chat = Chat(store)
    chat.turn("one")
    lock = holder()
    chat.turn("two")
    [line] = warnings
    assert one_line(line) == (
        f"groq_magic: {path} stayed locked by another process for over {BUSY:g} s; exchanges"
        " wait in memory and are written once it can be written again"
        " (%groq cache info counts them)"
    )
    assert store.enabled
    chat.turn("three")
    chat.undo()
    chat.turn("four")
    # Later attempts waited for the lock RETRY_WAIT each, not the whole busy timeout again.
    assert store._conn_wait == db.RETRY_WAIT
    assert [e.prompt_text for e in store.unsaved] == ["two", "three", "four"]
    assert store.waiting == 4
    info = {row["what"]: row["value"] for row in store.cache_info().as_rows()}
    why = f"{path} stayed locked by another process for over {BUSY:g} s"
    assert info["waiting to be written"] == f"4: {why}"
    assert info["exchanges"] == 1  # readers do not wait for the lock
    assert len(warnings) == 1
    lock.release()
    chat.turn("five")
    assert store.waiting == 0
    assert one_line(warnings[-1]) == (
        f"groq_magic: {path} can be written again: 4 exchanges and 1 history edit saved"
    )
    store.close()
    assert restored_elsewhere(path) == {"default": chat.live()}
    assert [p for p, _ in chat.live()] == ["one", "two", "four", "five"]


def test_writes_that_land_late_take_their_place_by_time_not_by_row_id(
    store: Store, path: Path, warnings: list[str], holder: Any
) -> None:
    # Two kernels on one notebook's chat: ours waits for a lock while the other writes.
    ours = Chat(store)
    ours.turn("one")
    lock = holder()
    ours.turn("two")  # waits
    ours.reset()  # waits too: the restore starts after it
    ours.turn("three")  # waits
    lock.release()
    other_store = Store(path, busy_timeout=BUSY)
    other = Chat(other_store)  # the same notebook's chat, open in a second kernel
    other.turn("from the other kernel")  # written now, before ours land: a lower row id
    other_store.close()
    ours.turn("four")
    store.close()
    with sqlite3.connect(path) as conn:
        by_id = [r[0] for r in conn.execute("SELECT snippet FROM exchanges ORDER BY id")]
    assert by_id == ["one", "from the other kernel", "two", "three", "four"]
    assert restored_elsewhere(path) == {
        "default": [
            ["three", "answer to three"],
            ["from the other kernel", "answer to from the other kernel"],
            ["four", "answer to four"],
        ]
    }


def test_close_makes_what_waits_once_the_lock_is_gone(
    store: Store, path: Path, warnings: list[str], holder: Any
) -> None:
    store.open()
    chat = Chat(store)
    lock = holder()
    chat.turn("one")
    chat.turn("two")
    lock.release()
    store.close()
    assert store.waiting == 0
    assert restored_elsewhere(path) == {"default": chat.live()}


_EXITING_KERNEL = textwrap.dedent(
    """
    import sys
    from groq_magic.store import Exchange, Store
    store = Store(sys.argv[1], busy_timeout=0.2, on_warning=lambda l: print(l, flush=True))
    for prompt in ("one", "two"):
        store.record(Exchange(
            request={"model": "m", "messages": [{"role": "user", "content": prompt}]},
            answer="a", model="m", chat="default", notebook="analysis.ipynb",
        ))
    print("waiting", store.waiting, flush=True)
    sys.stdin.readline()
    # no close(): the interpreter exits, as a kernel does
    """
)


@pytest.mark.parametrize("released", [True, False], ids=["released", "still-locked"])
def test_at_exit_what_waits_is_written_or_said_lost(
    store: Store, path: Path, holder: Any, released: bool
) -> None:
    store.open()
    lock = holder()
    kernel = subprocess.Popen(
        [sys.executable, "-c", _EXITING_KERNEL, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert kernel.stdout is not None
    assert kernel.stdin is not None
    first = kernel.stdout.readline()
    assert "stayed locked by another process" in first
    assert kernel.stdout.readline().strip() == "waiting 2"
    if released:
        lock.release()
    kernel.stdin.write("exit\n")
    kernel.stdin.flush()
    out, err = kernel.communicate(timeout=60)
    assert kernel.returncode == 0, err
    lock.release()
    if released:
        assert one_line(out.strip()).endswith("can be written again: 2 exchanges saved")
        assert count(path) == 2
    else:
        assert one_line(out.strip()) == (
            f"groq_magic: 2 exchanges could not be written to {path} before exit ({path}"
            " stayed locked by another process for over 0.2 s): they are lost"
        )
        assert count(path) == 0


def test_past_the_bound_the_oldest_waiting_write_is_dropped_and_that_is_said(
    path: Path, warnings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "MAX_UNSAVED", 3)
    store = Store(path, on_warning=warnings.append, busy_timeout=BUSY)
    store.open()
    lock = LockHolder(path)
    try:
        chat = Chat(store)
        for n in range(5):
            chat.turn(f"turn {n}")
    finally:
        lock.release()
    assert len(warnings) == 2
    assert one_line(warnings[1]) == (
        f"groq_magic: 3 writes wait for {path}; from now on the oldest is dropped for each"
        " new one (%groq cache info counts them)"
    )
    assert [e.prompt_text for e in store.unsaved] == ["turn 2", "turn 3", "turn 4"]
    info = {row["what"]: row["value"] for row in store.cache_info().as_rows()}
    assert info["waiting to be written"] == "0 (2 more were dropped, past 3)"
    store.close()
    assert (
        "can be written again: 3 exchanges saved (2 dropped while it could not be)" in (warnings[2])
    )
    assert [p for p, _ in restored_elsewhere(path)["default"]] == ["turn 2", "turn 3", "turn 4"]


# -- a full disk ---------------------------------------------------------------------------------


def test_a_full_disk_keeps_the_writes_until_there_is_room_again(
    store: Store, path: Path, warnings: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's page limit gives the SQLITE_FULL a full disk gives. It belongs to a
    # connection: every connection the store opens gets it while the "disk" is full.
    full = {"pages": 0}
    opener = Store._open

    def open_on_a_full_disk(self: Store, *args: Any) -> sqlite3.Connection:
        conn = opener(self, *args)
        if full["pages"]:
            conn.execute(f"PRAGMA max_page_count = {full['pages']}")
        return conn

    monkeypatch.setattr(Store, "_open", open_on_a_full_disk)
    chat = Chat(store)
    chat.turn("one")
    full["pages"] = store._connection().execute("PRAGMA page_count").fetchone()[0]
    store._connection().execute(f"PRAGMA max_page_count = {full['pages']}")
    big = "x" * 50_000
    chat.turn("two", big)
    chat.turn("three", big)
    chat.undo()
    [line] = warnings
    assert f"the disk holding {path} is full" in one_line(line)
    assert "exchanges wait in memory" in line
    assert store.waiting == 3
    full["pages"] = 0  # space freed
    chat.turn("four")
    assert store.waiting == 0
    assert "can be written again: 3 exchanges and 1 history edit saved" in warnings[-1]
    store.close()
    assert restored_elsewhere(path) == {"default": chat.live()}


# -- a read-only file ------------------------------------------------------------------------------


def _read_only_kernel(path: Path, user: tuple[int, int] | None, pipe: Any) -> None:
    """A kernel (forked child, as ``user`` when given) writing to a read-only store."""
    store = Store(path, on_warning=lambda line: pipe.send(("warning", line)), busy_timeout=BUSY)
    if user is not None:
        os.setgid(user[1])
        os.setuid(user[0])
    chat = Chat(store)
    chat.turn("one")
    chat.turn("two")
    chat.undo()
    pipe.send(("waiting", store.waiting, store.enabled))
    pipe.recv()  # the file was made writable
    chat.turn("three")
    pipe.send(("waiting", store.waiting, store.enabled))
    store.close()
    pipe.send(("live", chat.live()))
    pipe.close()


@pytest.fixture
def shared_folder() -> Iterator[tuple[Path, tuple[int, int] | None]]:
    """A folder the writing child may use; as root, the child becomes ``nobody`` (root
    ignores file permissions, so a read-only file would not be read-only for it)."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="groq-faults-"))
    user = None
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        user = (nobody.pw_uid, nobody.pw_gid)
        os.chown(folder, *user)
    yield folder, user
    shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_file_made_writable_again_gets_every_waiting_write(
    shared_folder: tuple[Path, tuple[int, int] | None],
) -> None:
    import multiprocessing

    folder, user = shared_folder
    path = folder / "exchanges.sqlite"
    Store(path).open().close()
    if user is not None:
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                os.chown(f"{path}{suffix}", *user)
    path.chmod(0o444)  # its -wal and -shm, made by the child's SQLite, will be read-only too
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=_read_only_kernel, args=(path, user, child))
    process.start()
    try:
        assert parent.poll(60), "the writing child did not answer"
        kind, line = parent.recv()
        assert kind == "warning"
        assert f"{path} is read-only" in one_line(line)
        assert "exchanges wait in memory" in line
        assert parent.recv() == ("waiting", 3, True)
        path.chmod(0o644)  # `chmod u+w exchanges.sqlite`, the companions left as they are
        parent.send("writable")
        assert parent.poll(60)
        kind, line = parent.recv()
        assert kind == "warning"
        assert (
            line == f"groq_magic: {path} can be written again: 3 exchanges and 1 history edit saved"
        )
        assert parent.recv() == ("waiting", 0, True)
        kind, live = parent.recv()
    finally:
        process.join(30)
    assert kind == "live"
    assert live == [["one", "answer to one"], ["three", "answer to three"]]
    assert restored_elsewhere(path) == {"default": live}


# -- through %%groq cells ---------------------------------------------------------------------


def _cell(shell: Any, server: Any, capsys: Any, source: str, answer: str = "") -> str:
    """Run one cell (answered with ``answer`` when it asks the server); its stdout."""
    if answer:
        server.enqueue(faults.answer(pieces=[answer]))
    capsys.readouterr()
    result = shell.run_cell(source)
    assert result.error_in_exec is None, capsys.readouterr()
    out: str = capsys.readouterr().out
    return out


def _notes(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("groq_magic:")]


@pytest.fixture
def stored(shell: Any, path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell, its store at ``path`` (read when the store first opens); closed after."""
    monkeypatch.setenv("GROQ_MAGIC_STORE", str(path))
    yield shell
    log = getattr(shell._groq_magics.session, "_log", None)
    if log is not None:
        log.store.close()


def _restart(shell: Any) -> None:
    """A kernel restart: a new session on the same store file, nothing in memory."""
    magics = shell._groq_magics
    old = magics.session
    magics.session = magics.make_session(old.backend)
    old.log.store.close()


def test_cells_after_the_store_was_deleted_are_restored_after_a_restart(
    stored: Any, server: Any, capsys: Any, path: Path
) -> None:
    shell = stored
    assert _notes(_cell(shell, server, capsys, "%%groq\nOne?", "1.")) == []
    _cell(shell, server, capsys, "%%groq\nTwo?", "2.")
    os.remove(path)
    out = _cell(shell, server, capsys, "%%groq\nThree?", "3.")
    assert _notes(out) == [
        f"groq_magic: the store file {path} was deleted or moved away while this kernel ran;"
        " a new one is made there, and exchanges are saved to it, this session's 2 earlier"
        " ones again"
    ]
    assert "3." in out
    _restart(shell)
    out = _cell(shell, server, capsys, "%groq restore")
    assert "restored 'default' (3 turns)" in out
    turns = shell._groq_magics.session.store.current.turns
    assert [(t.prompt, t.answer) for t in turns] == [
        ("One?", "1."),
        ("Two?", "2."),
        ("Three?", "3."),
    ]


def test_cache_info_counts_the_exchanges_that_wait_and_says_why(
    stored: Any, server: Any, capsys: Any, path: Path
) -> None:
    shell = stored
    _cell(shell, server, capsys, "%%groq\nOne?", "1.")
    shell._groq_magics.session.log.store._timeout = BUSY  # a short busy timeout for the test
    lock = LockHolder(path)
    try:
        out = _cell(shell, server, capsys, "%%groq\nTwo?", "2.")
        why = f"{path} stayed locked by another process for over {BUSY:g} s"
        assert _notes(out) == [
            f"groq_magic: {why}; exchanges wait in memory and are written once it can be"
            " written again (%groq cache info counts them)"
        ]
        assert "2." in out  # the chat goes on
        info = shell.run_cell("%groq cache info").result
        rows = {row["what"]: row["value"] for row in info.rows}
        assert rows["waiting to be written"] == f"1: {why}"
        assert rows["exchanges"] == 1
    finally:
        lock.release()
    out = _cell(shell, server, capsys, "%%groq\nThree?", "3.")
    assert _notes(out) == [f"groq_magic: {path} can be written again: 2 exchanges saved"]
    rows = {r["what"]: r["value"] for r in shell.run_cell("%groq cache info").result.rows}
    assert (rows["waiting to be written"], rows["exchanges"]) == (0, 3)
