"""`devstack test`: the project's tests in a throw-away copy of the stack.

- `copy`: the copy's name, labels and compose layer (no host ports, fresh volumes and
  networks, the development image), opened as a `Stack` of its own;
- `owners`: whose copy it is (this machine, a process id) and whether that devstack lives;
- `orphans`: copies left by a killed devstack, found by their labels and removed;
- `command`: which test command runs, and why;
- `collect`: on a remote engine, the files the tests wrote copied back here;
- `run`: the run itself: up, tests, teardown, with its times.
"""
