import os

import redis
from fastapi import FastAPI

app = FastAPI()
store = redis.Redis.from_url(os.environ["REDIS_URL"])
MESSAGE = "pep621"


@app.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE}


@app.post("/hits")
def hit() -> dict[str, int]:
    return {"hits": int(store.incr("hits"))}
