"""``witness.toml`` as text: the commented file ``init`` and ``logs add`` write.

Security rule: every string goes out as a JSON-escaped TOML string and must be free of
control characters, so no value can end its line and inject a key.
"""

from __future__ import annotations

import json

from forgekeep.witness.config import WitnessConfig, control_free


def _toml_str(value: str) -> str:
    return json.dumps(control_free(value, "a config value"), ensure_ascii=False)


def render_config(config: WitnessConfig) -> str:
    """``witness.toml`` with comments (``init`` and ``logs add`` both write this)."""
    c = config
    lines = [
        "# Forgekeep witness (c2sp.org/tlog-witness@v1.0.0).",
        "# Run: forgekeep witness run --config witness.toml",
        "# Relative paths are relative to this file's directory.",
        "",
        "# The witness name: its cosignatures are signed under this key name.",
        f"name = {_toml_str(c.name)}",
        "# The witness's private key (mode 0600; made by `forgekeep witness init`).",
        f"key = {_toml_str(c.key)}",
        "# Latest cosigned checkpoint of each log, and evidence of conflicts.",
        f"state = {_toml_str(c.state)}",
        "# Alarm (log an error, show in `status`) when a log sends nothing new this long.",
        f"freeze_window_seconds = {c.freeze_window_seconds}",
        "",
        "[listen]",
        f"host = {_toml_str(c.listen.host)}",
        f"port = {c.listen.port}",
        "",
        "# The HTTPS server certificate and key the witness serves with.",
        "[tls]",
        f"cert = {_toml_str(c.tls.cert)}",
        f"key = {_toml_str(c.tls.key)}",
        "",
        *c.http.render_toml(),
        "",
        "# One [[log]] per log this witness cosigns: its origin line and its vkey",
        "# (`forgekeep witness logs add --origin O --vkey V`).",
    ]
    for entry in c.log:
        lines += ["", "[[log]]", f"origin = {_toml_str(entry.origin)}"]
        lines.append(f"vkey = {_toml_str(entry.vkey)}")
    return "\n".join(lines) + "\n"
