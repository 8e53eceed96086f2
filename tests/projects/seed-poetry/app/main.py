import os

from fastapi import FastAPI
from sqlalchemy import create_engine, text

app = FastAPI()
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
MESSAGE = "seed"


@app.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE}


@app.get("/items")
def items() -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("select name from items order by id"))]
