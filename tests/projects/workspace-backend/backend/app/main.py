"""The backend: a health check and items stored in PostgreSQL."""

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import insert, select

from app.db import engine, items
from app.settings import PROJECT_NAME

VERSION = "one"


class ItemIn(BaseModel):
    title: str


class Item(ItemIn):
    id: int


router = APIRouter(prefix="/api/v1")


@router.get("/utils/health-check/")
def health_check() -> bool:
    return True


@router.get("/utils/version")
def version() -> dict[str, str]:
    return {"version": VERSION}


@router.post("/items/", status_code=201)
def create_item(item: ItemIn) -> Item:
    with engine.begin() as conn:
        new_id = conn.execute(insert(items).values(title=item.title).returning(items.c.id))
        return Item(id=new_id.scalar_one(), title=item.title)


@router.get("/items/{item_id}")
def read_item(item_id: int) -> Item:
    with engine.connect() as conn:
        row = conn.execute(select(items).where(items.c.id == item_id)).first()
    if row is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return Item(id=row.id, title=row.title)


@router.get("/items/")
def list_items() -> list[Item]:
    with engine.connect() as conn:
        rows = conn.execute(select(items).order_by(items.c.id)).all()
    return [Item(id=r.id, title=r.title) for r in rows]


app = FastAPI(title=PROJECT_NAME)
app.include_router(router)
