"""What runs in the app container: devstack's recipe image, or the project's own image.

One interface, two implementations, chosen once when the stack is opened (`choose`).
The runtime decides WHAT goes where (the code's folder, where the image keeps it, the
app's command); the delivery (overlay.py, delivery/) decides HOW the code gets there
(a bind mount, or a sync to a remote engine).
"""

from devstack.runtime.base import FALLBACK_MARK, RUNTIME_MOUNT, Mount, Runtime
from devstack.runtime.choice import choose

__all__ = ["FALLBACK_MARK", "RUNTIME_MOUNT", "Mount", "Runtime", "choose"]
