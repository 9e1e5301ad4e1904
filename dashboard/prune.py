"""The dashboard's own prunes, stopped containers and build cache: exactly what was confirmed.

Not the engine-wide prune calls: an engine shared by a team (or a test suite) holds other
people's stopped containers, and "prune" must remove only the ones the confirmation page
listed. The page posts their ids back; the job checks each again (a container started
meanwhile is kept) and removes them one by one, without force, so the engine itself refuses
a container that started between the check and the removal.
"""

import re
from dataclasses import dataclass

from dockerweb import confirmed_prune, gateway
from dockerweb.confirmed_prune import CONFIRM_MAX
from dockerweb.gateway.types import ContainerSummary
from dockerweb.live_model import ContainerQuery
from jobs.runner import Reporter

# The engine's states a prune may remove, in the order they are offered.
STOPPED_STATES = ("exited", "created")
_CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")
# Build-cache record ids (BuildKit's are 25 lowercase letters and digits).
_RECORD_ID = re.compile(r"^[a-z0-9]{1,64}$")
_CHECK_BATCH = 100


@dataclass(frozen=True)
class Offer:
    """What a containers-prune confirmation page lists."""

    containers: list[ContainerSummary]
    total: int  # stopped containers on the engine, listed or not


def stopped_offer(model, q: str = "", limit: int = CONFIRM_MAX) -> Offer:
    """The stopped containers (exited and dead first, then never started) matching `q`
    (name, image or id prefix), oldest first, at most `limit`, from the live model (no
    engine call)."""
    chosen: list[ContainerSummary] = []
    total = 0
    for state in STOPPED_STATES:
        room = max(limit - len(chosen), 1)
        page = model.containers_page(
            ContainerQuery(q=q, state=state, sort="created", descending=False, per_page=room)
        )
        total += page.matched
        if len(chosen) < limit:
            chosen.extend(page.rows[: limit - len(chosen)])
    return Offer(chosen, total)


def confirmed_ids(values: list[str], pattern: re.Pattern = _CONTAINER_ID) -> list[str] | None:
    """The ids a confirmation posted back, or None if any is not one (or too many)."""
    return confirmed_prune.confirmed_ids(values, pattern)


def confirmed_records(values: list[str]) -> list[str] | None:
    return confirmed_ids(values, _RECORD_ID)


def prune_containers_work(ids: list[str], names: dict[str, str]):
    """A job's work: remove each confirmed container that is still stopped."""

    def work(reporter: Reporter) -> dict:
        removed, kept, gone = [], [], []
        for start in range(0, len(ids), _CHECK_BATCH):
            batch = ids[start : start + _CHECK_BATCH]
            now = gateway.containers.get_summaries(batch)
            for container_id in batch:
                label = names.get(container_id) or container_id[:12]
                summary = now.get(container_id)
                if summary is None:
                    gone.append(container_id)
                    reporter.line(f"{label}: already gone")
                elif summary.state not in (*STOPPED_STATES, "dead"):
                    kept.append(container_id)
                    reporter.line(f"{label}: kept, it is {summary.state} now")
                else:
                    try:
                        gateway.containers.remove(container_id)
                    except gateway.NotFound:
                        gone.append(container_id)
                        reporter.line(f"{label}: already gone")
                    except gateway.Conflict as exc:  # started after the check
                        kept.append(container_id)
                        reporter.line(f"{label}: kept ({exc})")
                    else:
                        removed.append(container_id)
                        reporter.line(f"{label}: removed")
                reporter.progress({"done": len(removed) + len(kept) + len(gone), "of": len(ids)})
        reporter.line(f"Removed {len(removed)}, kept {len(kept)}, already gone {len(gone)}.")
        return {"removed": removed, "kept": kept, "gone": gone}

    return work


def _unambiguous(record_id: str, known: set[str]) -> bool:
    """The engine's prune matches an id filter as a pattern, not exactly: a record is pruned
    by its id only if it exists and no other record's id contains it."""
    return record_id in known and not any(record_id in other for other in known - {record_id})


def prune_build_cache_work(ids: list[str]):
    """A job's work: prune each confirmed build-cache record that still exists (one engine
    call each)."""

    def work(reporter: Reporter) -> dict:
        known = {r.id for r in gateway.disk_usage.summary().build_records}
        reclaimed = 0
        for record_id in ids:
            if not _unambiguous(record_id, known):
                reporter.line(f"{record_id}: not pruned (no such record, or its id is ambiguous)")
                continue
            freed = gateway.system.prune_build_cache_record(record_id)
            reclaimed += freed
            reporter.line(
                f"{record_id}: {freed} bytes reclaimed"
                if freed
                else f"{record_id}: nothing (in use or gone)"
            )
        reporter.line(f"Reclaimed {reclaimed} bytes in all.")
        return {"reclaimed": reclaimed}

    return work
