"""``forgekeep keygen NAME -o KEYFILE``: a new Ed25519 signing key for an approver or issuer.

Security rules: the private key goes only to KEYFILE, written atomically with
mode 0600, and never to stdout (``-o -`` is refused); an existing file is
replaced only with ``--force``. Only the public verifier key is printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from forgekeep._durable import atomic_writer, write_new
from forgekeep.cli._common import JsonOpt, emit_json, info, stdout, wants_json
from forgekeep.errors import ConflictError, UsageError

KEY_FILE_MODE = 0o600


def keygen(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="Key name, e.g. approver-alice or issuer.example.com (no '+' or spaces).",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="KEYFILE",
            help="Where to write the PRIVATE key (created with mode 0600). Keep it secret.",
            show_default=False,
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace KEYFILE if it already exists.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create an Ed25519 signing key for an approver or an issuer.

    The private key is written to KEYFILE (mode 0600); it never appears on the
    screen. The public verifier key (vkey, NAME+KEYID+BASE64) is printed on
    stdout: give it to whoever must trust this signer, e.g. the workspace
    admin who registers approvers. Keep KEYFILE secret and backed up; anyone
    holding it can sign as NAME.
    """
    from forgekeep.crypto.signed import encode_signer_key, encode_vkey, generate_signer

    if str(output) == "-":
        raise UsageError(
            "refusing to write a private key to stdout",
            hint="name a file with -o KEYFILE; only the public vkey is printed",
        )
    if os.path.lexists(output) and not force:
        raise ConflictError(
            f"{output} already exists; not overwriting a key file",
            hint="choose another -o KEYFILE, or pass --force to replace it",
        )
    try:
        signer = generate_signer(name)
    except UsageError as exc:
        raise UsageError(
            f"invalid key name: {exc.message}",
            hint="a key name is 1-255 bytes without '+' or whitespace, e.g. approver-alice",
        ) from None
    line = (encode_signer_key(signer) + "\n").encode("ascii")
    if force:
        with atomic_writer(output, mode=KEY_FILE_MODE) as handle:
            os.fchmod(handle.fileno(), KEY_FILE_MODE)  # exactly 0600, whatever the umask
            handle.write(line)
    else:
        try:
            write_new(output, line, mode=KEY_FILE_MODE)  # never replaces a file
        except FileExistsError:
            raise ConflictError(
                f"{output} appeared while the key was written; not replaced",
                hint="choose another -o KEYFILE",
            ) from None
    vkey = encode_vkey(signer.verifier)
    if wants_json(ctx, json_out):
        emit_json({"name": name, "key_id": signer.key_id, "vkey": vkey, "file": str(output)})
        return
    stdout.print(vkey, highlight=False, markup=False, soft_wrap=True)
    info(ctx, f"wrote the private signing key {signer.key_id} to {output} (mode 0600)")
    info(ctx, "hint: the line above is the public vkey to share; keep the key file secret")
