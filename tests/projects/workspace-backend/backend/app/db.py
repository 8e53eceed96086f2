"""The database: one engine, the items table."""

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from app.settings import database_url

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
)
engine = create_engine(database_url(), pool_pre_ping=True)
