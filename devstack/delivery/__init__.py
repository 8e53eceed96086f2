"""How the code reaches the app container, chosen once when a stack is opened.

`base` (the Delivery protocol), `bind` (a bind mount: the engine sees this machine's
files), `synced` with `sync/` (the code synced into the container: a remote engine),
`location` (where the engine is). A third way of delivering the code is one class
implementing `base.Delivery` and one line in `for_location` below; nothing else changes.
"""

from devstack.delivery.base import Delivery
from devstack.delivery.bind import BindMount
from devstack.delivery.location import Location

__all__ = ["BindMount", "Delivery", "for_location"]


def for_location(location: Location) -> Delivery:
    """The delivery for an engine at `location`: synced when it cannot see this machine's
    files, else a bind mount."""
    if location.remote:
        from devstack.delivery.synced import Synced  # the sync's modules only when used

        return Synced(location)
    return BindMount(location)
