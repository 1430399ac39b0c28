"""The ``coscribe-server`` command line, run as a real process."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from shared.errors import CloseCode
from tests.server.processes import ServerProcess, run_cli
from tests.support.client import TestClient
from tests.support.waiting import wait_until


def test_help_lists_every_option_and_its_environment_variable() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option, env in [
        ("--host", "COSCRIBE_HOST"),
        ("--port", "COSCRIBE_PORT"),
        ("--data-dir", "COSCRIBE_DATA_DIR"),
        ("--max-message-size", "COSCRIBE_MAX_MESSAGE_SIZE"),
        ("--max-outbound", "COSCRIBE_MAX_OUTBOUND"),
        ("--max-rooms", "COSCRIBE_MAX_ROOMS"),
        ("--log-format", "COSCRIBE_LOG_FORMAT"),
    ]:
        assert option in result.stdout and env in result.stdout, option
    top = run_cli("--help")
    assert top.returncode == 0 and "serve" in top.stdout and "delete" in top.stdout


def _one_line_error(result: object) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected an error message"
    assert "Traceback" not in stderr, stderr
    return lines[-1]


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--port", str(port), "--data-dir", ":memory:")
    assert result.returncode == 2
    line = _one_line_error(result)
    assert f"port {port}" in line and "already in use" in line and "--port" in line


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("--port", "0", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2
    line = _one_line_error(result)
    assert "cannot write data directory" in line and "--data-dir" in line


def test_bad_option_values_are_clear_errors() -> None:
    result = run_cli("--port", "http")
    assert result.returncode == 2
    assert "not a port number: 'http'" in _one_line_error(result)
    result = run_cli("--port", "0", env={"COSCRIBE_MAX_ROOMS": "-3"})
    assert result.returncode == 2
    assert "must be positive" in _one_line_error(result)
    result = run_cli("--no-such-option")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in _one_line_error(result)


def test_environment_variables_configure_the_server(tmp_path: Path) -> None:
    data = tmp_path / "envdata"
    server = ServerProcess(env={"COSCRIBE_PORT": "0", "COSCRIBE_DATA_DIR": str(data)})
    try:
        server.start()
        assert server.port > 0
        assert (data / "server.lock").exists()
        assert server.terminate() == 0
    finally:
        server.stop()


def test_second_server_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = ServerProcess("--port", "0", "--data-dir", str(tmp_path))
    try:
        first.start()
        result = run_cli("--port", "0", "--data-dir", str(tmp_path))
        assert result.returncode == 2
        assert "in use by another coscribe-server" in _one_line_error(result)
        assert first.terminate() == 0
    finally:
        first.stop()


def test_delete_while_serving_moves_the_document_to_the_trash(tmp_path: Path) -> None:
    result = run_cli("delete", "../etc", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "document name" in _one_line_error(result)
    server = ServerProcess("--port", "0", "--data-dir", str(tmp_path))
    try:
        server.start()

        async def scenario() -> None:
            async with TestClient(f"{server.url}/notes") as c:
                await c.append("to be deleted")
                await wait_until(lambda: c.saved, "stored")
                result = await asyncio.to_thread(
                    run_cli, "delete", "notes", "--data-dir", str(tmp_path)
                )
                assert result.returncode == 0, result.stderr
                assert "moved notes to the trash" in result.stdout
                await wait_until(lambda: c.closed, "its peer closed", within=5)
                assert c.close_code == CloseCode.DOCUMENT_DELETED
            missing = await asyncio.to_thread(
                run_cli, "delete", "nothing", "--data-dir", str(tmp_path)
            )
            assert missing.returncode == 1 and "no document named nothing" in missing.stdout

        asyncio.run(scenario())
    finally:
        server.stop()
    result = run_cli("delete", "notes", "--data-dir", str(tmp_path))  # stopped: for good
    assert result.returncode == 0 and "deleted notes" in result.stdout


#: ServerConfig fields set only by code (tests, derived values, secrets read from files).
INTERNAL_FIELDS = {
    "data_dir", "secret", "sync_request_burst", "max_inbound_queue", "open_timeout",
    "close_timeout", "connection_burst_per_ip", "fd_reserve", "message_burst",
}  # fmt: skip


def test_every_config_knob_is_an_option_with_its_variable_or_declared_internal() -> None:
    """A new ServerConfig field cannot be forgotten on the command line: it carries its
    flag and environment variable (sync_server/options.py), or it is listed above."""
    import dataclasses

    from sync_server.config import ServerConfig
    from sync_server.options import cli_fields

    exposed = {f.name for f, _ in cli_fields(ServerConfig)}
    every = {f.name for f in dataclasses.fields(ServerConfig)}
    assert every - exposed == INTERNAL_FIELDS
    help_text = run_cli("serve", "--help").stdout
    for _, opt in cli_fields(ServerConfig):
        assert opt.flag in help_text and opt.env in help_text, opt.flag


def test_options_reach_the_config() -> None:
    from sync_server.__main__ import parse_args
    from sync_server.config import ServerConfig
    from sync_server.options import config_values

    args = parse_args(
        ["serve", "--max-message-size", "2M", "--allow-origin", "HTTPS://A.example/",
         "--ping-interval", "0", "--insecure-open", "--stall-timeout", "3"]
    )  # fmt: skip
    config = ServerConfig(**config_values(args, ServerConfig))
    assert config.limits.max_message_size == 2 * 1024 * 1024
    assert config.allowed_origins == frozenset({"https://a.example"})
    assert config.ping_interval is None and config.insecure_open and config.stall_timeout == 3
    assert config.port == 1234 and config.max_rooms == 10_000  # untouched defaults
