"""How the code reaches the app container: where the engine runs (location) and the code
sync for an engine that cannot see the project directory (sync)."""
