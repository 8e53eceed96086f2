"""FastAPI with SQLAlchemy + Alembic against PostgreSQL, plus Redis."""

import os

import redis
from fastapi import FastAPI
from sqlalchemy import text

from app.db import engine

app = FastAPI(title="fastapi-postgres")
r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)

MESSAGE = "hello from devstack"


@app.get("/")
def index() -> dict[str, object]:
    return {"message": MESSAGE, "hits": r.incr("hits")}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items")
def items() -> list[dict[str, object]]:
    """Reads the table created by the first migration."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM items ORDER BY id")).all()
    return [{"id": row.id, "name": row.name} for row in rows]


@app.post("/items/{name}")
def add_item(name: str) -> dict[str, object]:
    with engine.begin() as conn:
        new_id = conn.execute(text("INSERT INTO items (name) VALUES (:n) RETURNING id"), {"n": name}).scalar_one()
    return {"id": new_id, "name": name}
