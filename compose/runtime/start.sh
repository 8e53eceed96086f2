#!/bin/sh
# Production start (tiangolo's /start.sh): gunicorn with uvicorn workers.
exec /opt/venv/bin/python /devstack/devstack_runtime.py start "$@"
