"""Every bound Forgekeep puts on untrusted input, in one place.

Security rule: a parser of untrusted bytes (stream headers, keyring files, agent
messages, config files, names) checks its input against a limit from this module
before it allocates or loops. Documented in ``docs/limits.md``; a test keeps the
two in step.
"""

from __future__ import annotations

from typing import Final

#: Asset, project and tag names: bytes of UTF-8.
MAX_NAME_BYTES: Final = 255
#: Tag keys and values, bytes of UTF-8.
MAX_TAG_BYTES: Final = 255
#: Tags on one asset version.
MAX_TAGS: Final = 64
#: Identifiers inside a stream header (key ring, domain, DEK id), bytes.
MAX_HEADER_ID_BYTES: Final = 64
#: Whole stream header, bytes.
MAX_STREAM_HEADER_BYTES: Final = 512
#: Stream v1 context passed to HKDF (tenant, asset, version, header hash), bytes.
MAX_CONTEXT_BYTES: Final = 1024
#: Largest plaintext one asset version may hold: 2**38 chunks of 16 KiB is the
#: format's bound; we stop far earlier, at 1 TiB.
MAX_ASSET_BYTES: Final = 1 << 40
#: A wrapped key (AES-GCM wrap, HPKE wraps with ML-KEM run to ~1.2 KB).
MAX_WRAPPED_KEY_BYTES: Final = 2048
#: The local keyring file, bytes.
MAX_KEYRING_FILE_BYTES: Final = 16 << 20
#: One request or reply on the unlock agent's socket, bytes.
MAX_AGENT_MESSAGE_BYTES: Final = 64 << 10
#: Workspace configuration file, bytes.
MAX_CONFIG_BYTES: Final = 1 << 20
#: Passphrase, bytes (Argon2id accepts more; nobody types more).
MAX_PASSPHRASE_BYTES: Final = 1024
#: Signed vetting records and other signed JSON documents, bytes.
MAX_SIGNED_DOCUMENT_BYTES: Final = 256 << 10
#: A sealed record (a principal's personal attributes), bytes.
MAX_SEALED_RECORD_BYTES: Final = 64 << 10
#: The clear JSON header of a ``local:`` keyring file, bytes (the u16 length
#: field allows 65535; a real header is about 145).
MAX_KEYRING_HEADER_BYTES: Final = 1024
#: Argon2id memory cost in a keyring header, KiB (1 GiB). The floor is Argon2's
#: own: 8 KiB per lane.
MAX_ARGON2_MEMORY_KIB: Final = 1 << 20
#: Argon2id passes (time cost) in a keyring header, smallest accepted.
MIN_ARGON2_ITERATIONS: Final = 1
#: Argon2id passes (time cost) in a keyring header, largest accepted.
MAX_ARGON2_ITERATIONS: Final = 32
#: Argon2id lanes (parallelism) in a keyring header, smallest accepted.
MIN_ARGON2_LANES: Final = 1
#: Argon2id lanes (parallelism) in a keyring header, largest accepted.
MAX_ARGON2_LANES: Final = 64
#: Argon2id salt in a keyring header, decoded bytes, smallest accepted.
MIN_KEYRING_SALT_BYTES: Final = 16
#: Argon2id salt in a keyring header, decoded bytes, largest accepted.
MAX_KEYRING_SALT_BYTES: Final = 64
#: An OIDC token (JWT) presented for authentication, bytes.
MAX_TOKEN_BYTES: Final = 16 << 10
#: A JWKS document fetched from an identity provider, bytes.
MAX_JWKS_BYTES: Final = 64 << 10
#: A residency rule such as ``EEA+CH`` or ``EU-HU``, characters.
MAX_RESIDENCY_RULE_BYTES: Final = 256
#: A Cedar policy file given to ``forgekeep policy``, bytes.
MAX_POLICY_FILE_BYTES: Final = 1 << 20
#: A policy test-case file given to ``forgekeep policy test``, bytes.
MAX_CASE_FILE_BYTES: Final = 1 << 20
#: Assets, and separately projects, named by one licence or export authorisation.
MAX_LICENCE_SCOPE_ITEMS: Final = 256
#: An API token's text (``fkt_<id>_<secret>`` is 64), characters, checked before parsing.
MAX_API_TOKEN_CHARS: Final = 128
#: An API token's lifetime, days.
MAX_TOKEN_TTL_DAYS: Final = 90
#: An API token's label, characters.
MAX_TOKEN_LABEL_CHARS: Final = 64
#: Unexpired, unrevoked API tokens one principal may hold.
MAX_ACTIVE_TOKENS: Final = 50
#: The client config (``config.toml``) and the ``credentials`` file, bytes each.
MAX_CLIENT_CONFIG_BYTES: Final = 64 << 10
#: Profiles in the client config.
MAX_PROFILES: Final = 256
#: Approvers an approval may require.
MAX_APPROVERS: Final = 9
#: How long an approval request stays open, hours (7 days).
MAX_APPROVAL_TTL_HOURS: Final = 168
#: The canonical JSON payload of one approval request, bytes (a policy set and its hash).
MAX_APPROVAL_PAYLOAD_BYTES: Final = 2 << 20
#: An approver's signer key file given to ``forgekeep approvals``, bytes.
MAX_SIGNER_KEY_FILE_BYTES: Final = 4096
#: How long one break-glass grant lasts, minutes (4 hours).
MAX_BREAK_GLASS_MINUTES: Final = 240
#: Assets one break-glass grant may cover.
MAX_BREAK_GLASS_ASSETS: Final = 32
#: Ledger entries waiting for the sequencer's next group; a submit beyond it waits 5 s, then fails.
MAX_LEDGER_QUEUED: Final = 100_000
#: ``--max-age`` of witness cosignatures in ``ledger verify``/``verify-proof``, seconds (1 year).
MAX_COSIGNATURE_AGE_SECONDS: Final = 366 * 24 * 3600
#: ``ledger checkpoint --follow --interval``, seconds at most.
MAX_FOLLOW_INTERVAL_SECONDS: Final = 3600
#: ``prove inclusion --wait`` / ``get --receipt --wait``: seconds a proof waits for a
#: cosigned checkpoint that covers its entry, at most.
MAX_PROOF_WAIT_SECONDS: Final = 3600
#: Newest checkpoints covering an entry that a proof checks for the witnesses' cosignatures.
MAX_PROOF_CHECKPOINTS_SCANNED: Final = 64
#: Events in one ledger append (one caller's events stay consecutive in one group).
MAX_LEDGER_BATCH: Final = 1000
#: A C2SP signed note (a checkpoint with its signatures), bytes.
MAX_NOTE_BYTES: Final = 128 << 10
#: Signature lines in one signed note (C2SP signed-note asks for at least 16).
MAX_NOTE_SIGNATURES: Final = 100
#: A ``c2sp.org/tlog-proof@v1`` file, bytes (entry, proof hashes and checkpoint).
MAX_TLOG_PROOF_BYTES: Final = 2 << 20
#: Hashes in one inclusion proof (a tree of at most 2**63 - 1 leaves needs 63).
MAX_INCLUSION_PROOF_HASHES: Final = 63
#: One ``add-checkpoint`` request body to a witness (old size, proof lines, signed note).
MAX_WITNESS_REQUEST_BYTES: Final = (128 << 10) + 4096
#: Consistency proof lines in one ``add-checkpoint`` request (c2sp.org/tlog-witness).
MAX_WITNESS_PROOF_LINES: Final = 63
#: One witness's ``add-checkpoint`` response body (cosignature lines), bytes.
MAX_WITNESS_RESPONSE_BYTES: Final = 16 << 10
#: One per-log state file of a witness (size, root and the latest note), bytes.
MAX_WITNESS_STATE_BYTES: Final = 256 << 10
#: Logs one witness is configured for (``[[log]]`` entries in ``witness.toml``).
MAX_WITNESS_LOGS: Final = 256
#: Evidence files one witness keeps before it stops adding more (and logs an error).
MAX_WITNESS_EVIDENCE: Final = 1000
#: Witnesses one workspace log submits its checkpoints to (``ledger witnesses add``).
MAX_LOG_WITNESSES: Final = 32
#: A database URL, in ``[database] url`` or in the file ``url_file`` names.
MAX_DATABASE_URL_BYTES: Final = 4096
#: ``[http] max_connections`` of an HTTPS runner, largest accepted (each needs a file descriptor).
MAX_HTTP_CONNECTIONS: Final = 65536
#: ``[http] max_requests`` (requests in flight at once) of an HTTPS runner, largest accepted.
MAX_HTTP_REQUESTS: Final = 4096
#: ``[http]`` header, body and idle deadlines of an HTTPS runner, seconds, largest accepted.
MAX_HTTP_TIMEOUT_SECONDS: Final = 600
#: ``[http] max_header_bytes`` (one request head) of an HTTPS runner, largest accepted.
MAX_HTTP_HEADER_BYTES: Final = 1 << 20
#: ``[http] max_header_bytes`` of an HTTPS runner, smallest accepted.
MIN_HTTP_HEADER_BYTES: Final = 1024
#: A witness's CA bundle (PEM) given to ``ledger witnesses add``, bytes.
MAX_WITNESS_CACERT_BYTES: Final = 64 * 1024
#: Missing entries one ``ledger repair`` mends (their leaf hashes go into one entry).
MAX_REPAIRED_ENTRIES: Final = 256
#: Findings ``ledger verify`` lists one by one; beyond this they are only counted.
MAX_LISTED_FINDINGS: Final = 1000
