"""The [http] table: validated strictly, rendered and read back; the runner's fd headroom;
the rate-limited shed log; a gate without TLS serves nobody."""

from __future__ import annotations

import asyncio
import resource
import tomllib
from pathlib import Path
from typing import Any

import pytest
import structlog

from forgekeep import limits
from forgekeep.errors import ConfigError
from forgekeep.runner import HttpLimits
from forgekeep.runner._gate import FD_RESERVE, ConnectionGate, ensure_fd_headroom
from forgekeep.runner._shed import LOG_INTERVAL_SECONDS, ShedLog
from forgekeep.witness.state import init_witness, load_config, save_config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_connections", 0),
        ("max_connections", -1),
        ("max_connections", limits.MAX_HTTP_CONNECTIONS + 1),
        ("max_connections", True),
        ("max_connections", 10.0),
        ("max_requests", 0),
        ("max_requests", limits.MAX_HTTP_REQUESTS + 1),
        ("header_timeout_seconds", 0),
        ("header_timeout_seconds", -5.0),
        ("header_timeout_seconds", float("inf")),
        ("header_timeout_seconds", float("nan")),
        ("body_timeout_seconds", limits.MAX_HTTP_TIMEOUT_SECONDS + 1),
        ("idle_timeout_seconds", 0.0),
        ("idle_timeout_seconds", "5"),
        ("max_header_bytes", limits.MIN_HTTP_HEADER_BYTES - 1),
        ("max_header_bytes", limits.MAX_HTTP_HEADER_BYTES + 1),
    ],
)
def test_zero_negative_absurd_or_mistyped_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        HttpLimits(**{field: value})


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="max_conections"):
        HttpLimits(max_conections=10)  # type: ignore[call-arg]


def test_defaults_are_bounded() -> None:
    defaults = HttpLimits()
    assert defaults.max_connections == 1024
    assert defaults.header_timeout_seconds == 10.0
    assert defaults.body_timeout_seconds == 30.0
    assert defaults.idle_timeout_seconds == 5.0


def test_witness_toml_carries_the_http_table_and_reads_it_back(tmp_path: Path) -> None:
    witness, _ = init_witness(tmp_path / "w", "witness.example/w1")
    text = witness.path.read_text()
    assert tomllib.loads(text)["http"] == HttpLimits().model_dump()
    tight = HttpLimits(max_connections=50, header_timeout_seconds=2.5)
    save_config(witness, witness.config.model_copy(update={"http": tight}))
    assert load_config(witness.path).config.http == tight


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("max_connections = 0", "http.max_connections: Input should be greater than"),
        ("body_timeout_seconds = -1.0", "http.body_timeout_seconds: Input should be greater"),
        ("idle_timeout_seconds = 86400", "http.idle_timeout_seconds: Input should be less"),
        ("max_requests = true", "http.max_requests: Input should be a valid integer"),
        ("keepalive = 5", "http.keepalive: Extra inputs are not permitted"),
    ],
)
def test_a_bad_http_table_is_fk_config_001(tmp_path: Path, line: str, problem: str) -> None:
    witness, _ = init_witness(tmp_path / "w", "witness.example/w1")
    key = line.partition(" = ")[0]
    rows = [row for row in witness.path.read_text().splitlines() if not row.startswith(key)]
    rows.insert(rows.index("[http]") + 1, line)
    witness.path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ConfigError, match=problem) as caught:
        load_config(witness.path)
    assert caught.value.code == "FK-CONFIG-001"


def test_fd_headroom_raises_the_soft_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 100_000))
    monkeypatch.setattr(resource, "setrlimit", lambda _which, value: calls.append(value))
    ensure_fd_headroom(2000)
    assert calls == [(2000 + FD_RESERVE, 100_000)]
    calls.clear()
    ensure_fd_headroom(100)  # fits already
    assert calls == []


def test_fd_headroom_refuses_a_cap_the_hard_limit_cannot_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    with pytest.raises(ConfigError, match="max_connections = 5000 needs 5064 open files"):
        ensure_fd_headroom(5000)


def test_the_shed_log_writes_one_line_per_reason_per_interval_with_a_count() -> None:
    now = [100.0]
    log = ShedLog(clock=lambda: now[0])
    with structlog.testing.capture_logs() as lines:
        assert log.shed("header-deadline", peer="a")
        assert not log.shed("header-deadline", peer="b")
        assert not log.shed("header-deadline", peer="c")
        assert log.shed("over-capacity")  # another reason has its own budget
        now[0] += LOG_INTERVAL_SECONDS
        assert log.shed("header-deadline", peer="d")
    assert [(e["reason"], e["shed"]) for e in lines] == [
        ("header-deadline", 1),
        ("over-capacity", 1),
        ("header-deadline", 3),  # b, c and d
    ]
    assert all(e["event"] == "client shed" and e["log_level"] == "warning" for e in lines)


def test_a_gate_without_its_tls_context_serves_nobody() -> None:
    gate = ConnectionGate(HttpLimits())

    class Transport(asyncio.Transport):
        closed = False

        def close(self) -> None:
            self.closed = True

    protocol = gate(config=None, server_state=None, app_state={})  # type: ignore[arg-type]
    transport = Transport()
    protocol.connection_made(transport)
    assert transport.closed
    assert gate.open == 0
