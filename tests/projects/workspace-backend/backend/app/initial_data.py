"""Write the initial data once: the first item."""

import logging

from sqlalchemy import insert, select

from app.db import engine, items
from app.settings import FIRST_ITEM_TITLE

logging.basicConfig(level=logging.INFO)


def main() -> None:
    with engine.begin() as conn:
        found = conn.execute(select(items.c.id).where(items.c.title == FIRST_ITEM_TITLE)).first()
        if found is None:
            conn.execute(insert(items).values(title=FIRST_ITEM_TITLE))
            logging.info("initial data created")


if __name__ == "__main__":
    main()
