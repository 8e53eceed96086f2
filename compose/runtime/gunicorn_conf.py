"""devstack's built-in gunicorn config: tiangolo's settings, read through devstack_runtime.

Used unless GUNICORN_CONF, /app/gunicorn_conf.py or /app/app/gunicorn_conf.py exists.
GUNICORN_CMD_ARGS still applies on top (gunicorn reads it itself).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import devstack_runtime

_settings = devstack_runtime.gunicorn_settings(os.environ, devstack_runtime.cores())

loglevel = _settings["loglevel"]
workers = _settings["workers"]
bind = _settings["bind"]
worker_class = _settings["worker_class"]
errorlog = _settings["errorlog"]
accesslog = _settings["accesslog"]
graceful_timeout = _settings["graceful_timeout"]
timeout = _settings["timeout"]
keepalive = _settings["keepalive"]
worker_tmp_dir = "/dev/shm"  # heartbeat files off the (possibly slow) container disk

print(json.dumps(_settings), flush=True)
