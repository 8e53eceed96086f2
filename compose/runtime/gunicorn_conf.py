"""devstack's built-in gunicorn config: tiangolo's settings, read through devstack_runtime.

Used unless GUNICORN_CONF, /app/gunicorn_conf.py or /app/app/gunicorn_conf.py exists.
GUNICORN_CMD_ARGS still applies on top (gunicorn reads it itself). Run as a script, it prints
the settings as tiangolo's did (one JSON line); loaded by gunicorn, it also prints devstack's
start line (workers and why, worker class, CPUs).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import devstack_runtime

_cores = devstack_runtime.cores()
_settings = devstack_runtime.gunicorn_settings(os.environ, _cores)

loglevel = _settings["loglevel"]
workers = _settings["workers"]
bind = _settings["bind"]
worker_class = devstack_runtime.worker_class(os.environ)
errorlog = _settings["errorlog"]
accesslog = _settings["accesslog"]
graceful_timeout = _settings["graceful_timeout"]
timeout = _settings["timeout"]
keepalive = _settings["keepalive"]
worker_tmp_dir = "/dev/shm"  # heartbeat files off the (possibly slow) container disk

print(json.dumps(_settings), flush=True)
if __name__ != "__main__":
    print(devstack_runtime.start_line(os.environ, _cores), flush=True)
