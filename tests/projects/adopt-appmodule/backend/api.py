import os

import redis
from fastapi import FastAPI

application = FastAPI()
store = redis.Redis.from_url(os.environ["REDIS_URL"])
MESSAGE = "adopt-appmodule"


@application.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE}


@application.post("/hits")
def hit() -> dict[str, int]:
    return {"hits": int(store.incr("hits"))}
