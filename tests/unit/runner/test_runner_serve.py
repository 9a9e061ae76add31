"""The HTTPS configuration: TLS 1.2 floor, verified client certificates, fail-closed setup."""

from __future__ import annotations

import resource
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from forgekeep.errors import ConfigError
from forgekeep.runner import HttpLimits, https_config, run_https, serve_in_thread
from forgekeep.runner._gate import ConnectionGate
from forgekeep.runner._serve import RunnerConfig, _wait_started
from forgekeep.testing.pki import IssuedCert, TestCA


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover (never called)
    raise AssertionError


def _loaded(
    server_cert: IssuedCert, client_ca: Path | None, *, require_client_cert: bool
) -> uvicorn.Config:
    config = https_config(
        _app,
        host="127.0.0.1",
        port=0,
        certfile=server_cert.cert_path,
        keyfile=server_cert.key_path,
        client_ca=client_ca,
        require_client_cert=require_client_cert,
        limits=HttpLimits(),
    )
    config.load()
    return config


@pytest.mark.parametrize(
    ("with_ca", "required", "mode"),
    [
        (True, True, ssl.CERT_REQUIRED),
        (True, False, ssl.CERT_OPTIONAL),
        (False, False, ssl.CERT_NONE),
    ],
)
def test_context_settings(
    server_cert: IssuedCert, ca_file: Path, with_ca: bool, required: bool, mode: ssl.VerifyMode
) -> None:
    config = _loaded(server_cert, ca_file if with_ca else None, require_client_cert=required)
    assert config.ssl is None  # uvicorn listens on plain TCP: the gate does TLS
    assert config.tls is not None
    assert config.tls.minimum_version == ssl.TLSVersion.TLSv1_2
    assert config.tls.verify_mode == mode
    assert config.tls.options & ssl.OP_NO_RENEGOTIATION
    assert isinstance(config.http_protocol_class, ConnectionGate)
    assert config.http_protocol_class.tls is config.tls
    assert config.proxy_headers is False
    assert config.ws_protocol_class is None


def test_the_limits_reach_uvicorn_s_own_knobs(server_cert: IssuedCert) -> None:
    limits = HttpLimits(idle_timeout_seconds=2.5, max_header_bytes=4096, max_connections=10)
    config = https_config(
        _app,
        host="127.0.0.1",
        port=0,
        certfile=server_cert.cert_path,
        keyfile=server_cert.key_path,
        client_ca=None,
        require_client_cert=False,
        limits=limits,
    )
    assert config.timeout_keep_alive == 2.5
    assert config.h11_max_incomplete_event_size == 4096
    assert config.limit_concurrency is None  # the gate and the protocol enforce the caps
    assert config.gate.limits is limits


def test_a_cap_the_process_cannot_open_files_for_is_refused_at_load(
    server_cert: IssuedCert, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 1024))
    config = https_config(
        _app,
        host="127.0.0.1",
        port=0,
        certfile=server_cert.cert_path,
        keyfile=server_cert.key_path,
        client_ca=None,
        require_client_cert=False,
        limits=HttpLimits(max_connections=5000),
    )
    with pytest.raises(ConfigError, match="needs 5064 open files"):
        config.load()


def test_required_client_cert_without_a_ca_is_refused(server_cert: IssuedCert) -> None:
    with pytest.raises(ConfigError, match="no client CA"):
        _loaded(server_cert, None, require_client_cert=True)


def test_run_https_builds_the_config_and_runs_it(
    server_cert: IssuedCert, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: ran.append(self.config))
    run_https(
        _app,
        host="127.0.0.1",
        port=8443,
        certfile=server_cert.cert_path,
        keyfile=server_cert.key_path,
        client_ca=ca_file,
        require_client_cert=True,
        limits=HttpLimits(),
    )
    assert ran[0].port == 8443
    assert ran[0].ssl_cert_reqs == ssl.CERT_REQUIRED


def test_bad_tls_files_fail_in_the_caller(tmp_path: Path, ca_file: Path) -> None:
    missing = tmp_path / "missing.pem"
    with (
        pytest.raises(ConfigError, match="cannot load the TLS"),
        serve_in_thread(
            _app, certfile=missing, keyfile=missing, client_ca=ca_file, require_client_cert=True
        ),
    ):
        pass  # pragma: no cover


async def _failing_lifespan(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no"})


def test_mismatched_key_is_a_config_error(
    server_cert: IssuedCert, ca: TestCA, ca_file: Path
) -> None:
    other = ca.issue_client("someone-else")
    with pytest.raises(ConfigError, match="cannot load the TLS"):
        run_https(
            _app,
            host="127.0.0.1",
            port=0,
            certfile=server_cert.cert_path,
            keyfile=other.key_path,
            client_ca=ca_file,
            require_client_cert=True,
            limits=HttpLimits(),
        )


def test_a_server_that_dies_at_startup_is_reported(server_cert: IssuedCert, ca_file: Path) -> None:
    with (
        pytest.raises(ConfigError, match="did not start"),
        serve_in_thread(
            _failing_lifespan,
            certfile=server_cert.cert_path,
            keyfile=server_cert.key_path,
            client_ca=ca_file,
            require_client_cert=True,
        ),
    ):
        pass  # pragma: no cover


def test_a_server_that_never_starts_times_out() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        with pytest.raises(ConfigError, match="did not start"):
            _wait_started(uvicorn.Server(uvicorn.Config(_app)), thread, timeout=0.05)
    finally:
        release.set()
        thread.join()


def test_a_runner_config_without_tls_is_refused() -> None:
    config = RunnerConfig(_app, limits=HttpLimits(), host="127.0.0.1", port=0)
    with pytest.raises(ConfigError, match="without TLS"):
        config.load()
