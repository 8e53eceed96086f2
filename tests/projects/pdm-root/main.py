import os

import psycopg
from fastapi import FastAPI

api = FastAPI()
MESSAGE = "pdm-root"
URL = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


@api.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE}


@api.post("/hits")
def hit() -> dict[str, int]:
    with psycopg.connect(URL) as conn:
        conn.execute("create table if not exists hits (id serial primary key)")
        conn.execute("insert into hits default values")
        (count,) = conn.execute("select count(*) from hits").fetchone()
    return {"hits": count}
