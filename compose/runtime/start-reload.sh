#!/bin/sh
# Development start (tiangolo's /start-reload.sh): one uvicorn process with --reload.
exec /opt/venv/bin/python /devstack/devstack_runtime.py start-reload "$@"
