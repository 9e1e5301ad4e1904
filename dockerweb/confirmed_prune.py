"""Prunes that remove exactly what the user confirmed (stopped containers, build cache,
dangling images, unused volumes).

Never the engine's engine-wide prune: an engine shared by a team (or a test suite) holds other
people's objects, and what became dangling or unused after the confirmation page was shown was
never confirmed. The page posts the ids it listed back; the POST checks each one again and
removes it with one engine call of its own, without force, so the engine itself refuses an
object that came into use between the check and the removal.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dockerweb import gateway
from dockerweb.sizes import human_size

# One confirmation page lists at most this many: the page stays small (the engine may hold
# thousands); prune again for the next ones.
CONFIRM_MAX = 100


def confirmed_ids(values: list[str], pattern: re.Pattern) -> list[str] | None:
    """The ids a confirmation posted back, or None if any is not one (or too many)."""
    ids = list(dict.fromkeys(v.strip() for v in values))
    if not ids or len(ids) > CONFIRM_MAX or not all(pattern.fullmatch(i) for i in ids):
        return None
    return ids


@dataclass
class Outcome:
    """What a confirmed prune did, object by object."""

    removed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (id, why)
    gone: list[str] = field(default_factory=list)
    reclaimed: int = 0  # bytes, from the removed objects' sizes
    unmeasured: int = 0  # removed objects whose size was not known


def remove_each(
    ids: list[str],
    *,
    why_kept: Callable[[str], str | None],
    remove: Callable[[str], None],
    size: Callable[[str], int | None],
) -> Outcome:
    """Remove each of `ids` unless `why_kept(id)` says why not ("" for: it is gone), one
    `remove(id)` each; NotFound counts as gone, Conflict (it came into use, the engine says
    how) as kept. Raises EngineUnavailable (what was done so far is lost to the caller's
    report, not undone: the engine's events still update every page)."""
    outcome = Outcome()
    for object_id in ids:
        why = why_kept(object_id)
        if why == "":
            outcome.gone.append(object_id)
            continue
        if why is not None:
            outcome.kept.append((object_id, why))
            continue
        known = size(object_id)
        try:
            remove(object_id)
        except gateway.NotFound:
            outcome.gone.append(object_id)
        except gateway.Conflict as exc:
            outcome.kept.append((object_id, str(exc)))
        else:
            outcome.removed.append(object_id)
            if known is None:
                outcome.unmeasured += 1
            else:
                outcome.reclaimed += known
    return outcome


def summary(outcome: Outcome, noun: str, *, label=lambda i: i, hedge=("up to ", "")) -> str:
    """One sentence for the user and the audit entry: what was removed, the space (between
    `hedge`'s words: the removed objects' sizes are seldom exactly what the disk gets back),
    what was kept and why, what was already gone. `noun` is singular ("dangling image")."""
    count = len(outcome.removed)
    text = f"Pruned {count} {noun}{'s' if count != 1 else ''}"
    if count:
        before, after = hedge
        space = human_size(outcome.reclaimed)
        text += f": {before}{space} reclaimed{after} ({outcome.reclaimed} bytes)"
        if outcome.unmeasured:
            text += f", not counting {outcome.unmeasured} whose size was not measured"
    text += "."
    if outcome.kept:
        kept = "; ".join(f"{label(i)} ({why})" for i, why in outcome.kept)
        text += f" Kept {len(outcome.kept)}: {kept}."
    if outcome.gone:
        text += f" Already gone: {', '.join(label(i) for i in outcome.gone)}."
    return text
