"""The sidebar's engine switcher: the engines this user may use, each linked to the same
section of the portal on that engine (Containers stays Containers), with its state."""

from dataclasses import dataclass

from dockerweb import engine_access, engines
from dockerweb.engine_scope import engine_in_path
from dockerweb.engine_urls import SCOPED_FIRST_SEGMENTS, engine_prefix

STATE_TEXT = {"up": "up", "down": "down", "starting": "connecting", "stopped": "not watched"}


@dataclass(frozen=True)
class EngineChoice:
    name: str
    url: str
    current: bool
    state: str  # up, down, starting, stopped (the live model's sync state in this process)

    @property
    def state_text(self) -> str:
        return STATE_TEXT.get(self.state, self.state)


def choices(request) -> list[EngineChoice]:
    user = request.user
    if not user.is_authenticated:
        return []
    current = engines.current_name()
    scoped = engine_in_path(request.path_info)
    section = ""
    if scoped is not None:
        first = scoped[1].strip("/").split("/", 1)[0]
        section = f"{first}/" if first in SCOPED_FIRST_SEGMENTS else ""
    started = {engine.name: engine for engine in engines.all_started()}
    found = []
    for name in engine_access.usable_engines(user):
        engine = started.get(name)
        state = engine.sync.status if engine is not None else "stopped"
        found.append(EngineChoice(name, f"{engine_prefix(name)}/{section}", name == current, state))
    return found
