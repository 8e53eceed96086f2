"""A heavier FastAPI app for reload measurements: SQLAlchemy models on in-memory SQLite,
pydantic models and settings, an httpx client, Jinja2 templates, form parsing and orjson.

GET / returns MESSAGE, defined here, so an edit of that line is observable in the response.
"""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import jinja2
import orjson
import yaml
from fastapi import Depends, FastAPI, Form, HTTPException
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel, EmailStr, Field
from pydantic_settings import BaseSettings
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.pool import StaticPool

MESSAGE = "hello from devstack"


class Settings(BaseSettings):
    app_name: str = "heavy"
    upstream: str = "http://127.0.0.1:9"


settings = Settings()


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(120), unique=True)
    books: Mapped[list[Book]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books")


engine = create_engine(
    "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
)


class AuthorIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    email: EmailStr


class AuthorOut(AuthorIn):
    id: int
    books: list[str] = []


class Info(BaseModel):
    message: str
    app: str
    now: dt.datetime


TEMPLATE = jinja2.Environment(autoescape=True).from_string("<h1>{{ message }}</h1>")


@asynccontextmanager
async def lifespan(_: FastAPI):
    Base.metadata.create_all(engine)
    async with httpx.AsyncClient(base_url=settings.upstream, timeout=1) as client:
        app.state.http = client
        yield


app = FastAPI(title="heavy", lifespan=lifespan, default_response_class=ORJSONResponse)


def session() -> Session:
    with Session(engine) as s:
        yield s


@app.get("/")
def index() -> dict[str, object]:
    return {"message": MESSAGE}


@app.get("/info", response_model=Info)
def info() -> Info:
    return Info(message=MESSAGE, app=settings.app_name, now=dt.datetime.now(dt.UTC))


@app.get("/html")
def html() -> dict[str, str]:
    return {"html": TEMPLATE.render(message=MESSAGE)}


@app.get("/yaml")
def as_yaml() -> dict[str, str]:
    return {"yaml": yaml.safe_dump({"message": MESSAGE}), "json": orjson.dumps(MESSAGE).decode()}


@app.post("/authors", response_model=AuthorOut)
def add_author(
    author: AuthorIn, db: Annotated[Session, Depends(session)]
) -> AuthorOut:
    row = Author(name=author.name, email=author.email)
    db.add(row)
    db.commit()
    return AuthorOut(id=row.id, name=row.name, email=row.email)


@app.post("/authors/{author_id}/books", response_model=AuthorOut)
def add_book(
    author_id: int, title: Annotated[str, Form()], db: Annotated[Session, Depends(session)]
) -> AuthorOut:
    author = db.get(Author, author_id)
    if author is None:
        raise HTTPException(404, "no such author")
    db.add(Book(title=title, author=author))
    db.commit()
    return AuthorOut(
        id=author.id, name=author.name, email=author.email, books=[b.title for b in author.books]
    )


@app.get("/authors", response_model=list[AuthorOut])
def authors(db: Annotated[Session, Depends(session)]) -> list[AuthorOut]:
    rows = db.scalars(select(Author)).all()
    return [
        AuthorOut(id=a.id, name=a.name, email=a.email, books=[b.title for b in a.books])
        for a in rows
    ]
