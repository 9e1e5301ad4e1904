"""The processes running in a container (`docker top`), as plain titles and rows."""

from dataclasses import dataclass

from .client import api, translate_errors


@dataclass(frozen=True)
class ProcessTable:
    """What `ps` printed inside the container: column titles, then one row per process."""

    titles: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def top(container_id: str) -> ProcessTable:
    """The container's processes (the engine runs `ps -ef` in its namespace).

    Raises NotFound, Conflict (the container isn't running), EngineUnavailable, EngineError.
    """
    with translate_errors():
        doc = api().top(container_id)
    return table_of(doc)


def table_of(doc: dict) -> ProcessTable:
    """The table one top document describes (pure)."""
    titles = tuple(str(title) for title in doc.get("Titles") or ())
    rows = tuple(tuple(str(cell) for cell in row) for row in doc.get("Processes") or ())
    return ProcessTable(titles=titles, rows=rows)
