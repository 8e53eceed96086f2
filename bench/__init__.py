"""devstack's benchmark suite: devstack beside what a user would otherwise run (`bench/run`)."""
