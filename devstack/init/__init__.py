"""devstack init: the scaffold for a project with no Docker set-up (scaffold), adopting
a project's own compose files (adoption), and its dependency manager (dependencies)."""
