"""The seed's scenario: FastAPI beside Redis with a module (RediSearch) loaded."""

import os

import redis
from fastapi import FastAPI

app = FastAPI(title="fastapi-redis")
r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)

MESSAGE = "hello from devstack"


@app.get("/")
def index() -> dict[str, object]:
    return {"message": MESSAGE, "hits": r.incr("hits")}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def _search_version() -> int:
    for module in r.execute_command("MODULE", "LIST"):
        # redis-py gives a dict per module; a raw reply is a flat name/value list.
        fields = module if isinstance(module, dict) else dict(zip(module[::2], module[1::2]))
        if str(fields.get("name", "")).lower() in ("ft", "search"):
            return int(fields["ver"])
    raise RuntimeError("RediSearch is not loaded")


@app.get("/search")
def search(q: str = "devstack") -> dict[str, object]:
    """Proves the module is live: index a document, then find it (RediSearch 1.x or 2.x)."""
    version = _search_version()
    try:
        if version >= 20000:
            r.execute_command("FT.CREATE", "docs", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "title", "TEXT")
        else:
            r.execute_command("FT.CREATE", "docs", "SCHEMA", "title", "TEXT")
    except redis.ResponseError as exc:
        if "exists" not in str(exc).lower():
            raise
    title = f"{q} runs FastAPI beside Redis"
    if version >= 20000:
        r.hset("doc:1", mapping={"title": title})
    else:
        r.execute_command("FT.ADD", "docs", "doc:1", "1.0", "REPLACE", "FIELDS", "title", title)
    result = r.execute_command("FT.SEARCH", "docs", q)
    return {"module_version": version, "total": result[0], "ids": result[1::2]}
