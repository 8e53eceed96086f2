"""The /app trees of the upstream tests: the base image's app (a hello app and a prestart.sh)
with each test's files on top, as `FROM tiangolo/uvicorn-gunicorn` + `COPY ./app /app` left
them. Written here from what upstream's files do, not copied."""

from __future__ import annotations

# An ASGI2 application class (scope first, then receive/send), as upstream's apps are.
ASGI_APP = """import sys

VERSION = f"{{sys.version_info.major}}.{{sys.version_info.minor}}"
TEXT = "{greeting} From Uvicorn with Gunicorn. Using Python "


class Greeter:
    def __init__(self, scope):
        assert scope["type"] == "http"

    async def __call__(self, receive, send):
        headers = [(b"content-type", b"text/plain")]
        await send({{"type": "http.response.start", "status": 200, "headers": headers}})
        await send({{"type": "http.response.body", "body": (TEXT + VERSION).encode()}})


{name} = Greeter
"""

PRESTART = """#! /usr/bin/env sh
echo "Running inside /app/prestart.sh, you could add migrations to this file, e.g.:"
echo "alembic upgrade head"
"""

CUSTOM_PRESTART = """#! /usr/bin/env sh
echo "Custom prestart script"
"""

# A project's own gunicorn config: three workers on port 8000, printing what it set.
OWN_GUNICORN_CONF = """import json

loglevel = "warning"
workers = 3
bind = "0.0.0.0:8000"
errorlog = "-"

print(json.dumps({"loglevel": loglevel, "workers": workers, "bind": bind}))
"""

FASTAPI_APP = """import sys

from fastapi import FastAPI

VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    text = "Hello world! From FastAPI running on Uvicorn with Gunicorn. Using Python "
    return {"message": text + VERSION}
"""


def app(greeting: str = "Test app.", name: str = "app") -> str:
    return ASGI_APP.format(greeting=greeting, name=name)


BASE = {"main.py": app("Hello world!"), "prestart.sh": PRESTART}
CUSTOM = {"custom_app/__init__.py": "", "custom_app/custom_main.py": app(name="custom_var")}
PACKAGE = {"app/__init__.py": "", "app/main.py": app()}

TREES: dict[str, dict[str, str]] = {
    "base": BASE,
    "custom_app": {**BASE, **CUSTOM, "custom_app/custom-prestart.sh": CUSTOM_PRESTART},
    "custom_app_reload": {**BASE, **CUSTOM},
    "package_app": {**BASE, **PACKAGE},
    "package_app_config": {**BASE, **PACKAGE, "gunicorn_conf.py": OWN_GUNICORN_CONF},
    "package_app_custom_config": {
        **BASE,
        **PACKAGE,
        "custom_gunicorn_conf.py": OWN_GUNICORN_CONF,
    },
    "package_app_sub_config": {**BASE, **PACKAGE, "app/gunicorn_conf.py": OWN_GUNICORN_CONF},
    "simple_app": {**BASE, "main.py": app()},
    # tiangolo/uvicorn-gunicorn-fastapi: FastAPI's app over the base.
    "fastapi": {"prestart.sh": PRESTART, "main.py": FASTAPI_APP},
}
