"""devstack watch: what a file change means (changes), the actions it takes (actions),
and the loop that wires them (loop)."""
