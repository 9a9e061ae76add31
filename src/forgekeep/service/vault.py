"""The vault: one workspace opened as one acting principal, offered in groups.

``forgekeep.Workspace(path).open(passphrase=…, principal=…)`` (or
``forgekeep.open_workspace``) returns a :class:`Vault`. Its attributes are the
groups of :mod:`forgekeep.service.operations` (``vault.assets.put``,
``vault.ledger.checkpoint``, ``vault.licences.grant``, …): every operation is
declared once in that table, and none of the business rules live here.
"""

from __future__ import annotations

from types import TracebackType

from forgekeep.service import operations as ops
from forgekeep.service.context import ServiceContext


class Vault:
    """One workspace opened as one acting principal."""

    __slots__ = (
        "_ctx",
        "access",
        "approvals",
        "assets",
        "break_glass",
        "erasure",
        "export_auths",
        "holds",
        "ledger",
        "licences",
        "policy",
        "principals",
        "projects",
        "tokens",
        "vetting",
        "witnesses",
    )

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self.assets = ops.Assets(ctx)
        self.projects = ops.Projects(ctx)
        self.principals = ops.Principals(ctx)
        self.vetting = ops.Vetting(ctx)
        self.licences = ops.Licences(ctx)
        self.export_auths = ops.ExportAuths(ctx)
        self.tokens = ops.Tokens(ctx)
        self.approvals = ops.Approvals(ctx)
        self.policy = ops.Policy(ctx)
        self.access = ops.Access(ctx)
        self.break_glass = ops.BreakGlass(ctx)
        self.ledger = ops.Ledger(ctx)
        self.witnesses = ops.Witnesses(ctx)
        self.holds = ops.Holds(ctx)
        self.erasure = ops.Erasure(ctx)

    @property
    def tenant_id(self) -> str:
        return self._ctx.tenant_id

    @property
    def principal_id(self) -> str:
        return self._ctx.principal_id

    def close(self) -> None:
        for closer in reversed(self._ctx.closers):
            closer.__exit__(None, None, None)
        self._ctx.closers.clear()

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
