"""gunicorn, as `python -m gunicorn` runs it, with health probes kept out of the access log.

python devstack_gunicorn.py -k WORKER_CLASS -c CONF APP_MODULE   (what /start.sh runs)
"""

import os
import sys

import devstack_accesslog

if __name__ == "__main__":
    devstack_accesslog.install(os.environ)
    from gunicorn.app.wsgiapp import run

    sys.exit(run())
