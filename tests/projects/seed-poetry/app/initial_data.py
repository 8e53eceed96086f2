import os

from sqlalchemy import create_engine, text

with create_engine(os.environ["DATABASE_URL"]).begin() as conn:
    if not conn.execute(text("select 1 from items where name = 'initial'")).first():
        conn.execute(text("insert into items (name) values ('initial')"))
print("initial data created", flush=True)
