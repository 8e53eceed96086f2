"""Code sync for an engine that cannot see the project directory (devstack.delivery.synced).

`ignore` (what stays off), `tree` (the host's tree and tar archives of it), `_agent` (the
container's side, run there with python3), `channel` (the host's end of it), `push` (full
sync and pushes of changes), `session` (watch, push, reconnect), `forward` (ports),
`daemon` (the background sync that `up` starts and `down` stops).
"""
