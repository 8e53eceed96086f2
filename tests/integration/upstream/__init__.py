"""tiangolo's own image tests, written again against devstack's recipe.

One test here for each test of tiangolo/uvicorn-gunicorn-docker (tests/test_01_main ..
test_04_app_reload, 20 tests) at cb5abd5fddd4faa8b8a7c4765f8ed267b567476f and of
tiangolo/uvicorn-gunicorn-fastapi-docker (tests/test_01_main/test_defaults.py) at
072ed47b707297526c1de46a51a18b0da6f79b82: the same files in /app, the same environment, the
same checks (log lines, the printed config, responses, worker counts). Only the harness differs:
free ports on 127.0.0.1 instead of 8000, waiting for the server instead of sleeping, the docker
CLI instead of docker-py, and the in-container edits of the reload tests run as root (as
upstream's did: its image runs as root, devstack's as uid 10001). The one intended difference is
the worker class, uvicorn_worker.UvicornWorker instead of the deprecated
uvicorn.workers.UvicornWorker.
"""
