"""Writing audit entries: one call per user action, success or failure."""

from audit.models import AuditEntry
from dockerweb import engines

_DETAIL_LIMIT = 4000


def record(
    user,
    action: str,
    *,
    target_type: str,
    target_id: str = "",
    target_name: str = "",
    ok: bool = True,
    detail: str = "",
    error: BaseException | str | None = None,
    engine: str | None = None,
) -> AuditEntry:
    """Record one action. An `error` marks it failed and is kept after `detail` (the reason).

    `engine` is the engine acted on: by default the current one (the request's, the
    socket's, the job's); "" for what concerns no engine (engines and users themselves)."""
    if error is not None:
        ok = False
        detail = f"{detail}: {error}" if detail else str(error)
    return AuditEntry.objects.create(
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "anonymous",
        engine=engines.current_name() if engine is None else engine,
        action=action,
        target_type=target_type,
        target_id=target_id[:128],
        target_name=target_name[:255],
        outcome=AuditEntry.Outcome.OK if ok else AuditEntry.Outcome.FAILED,
        detail=detail[:_DETAIL_LIMIT],
    )
