"""Wait until the database accepts connections (a minute at most)."""

import logging
import time

from sqlalchemy import text

from app.db import engine

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)


def main() -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            logger.info("database is up")
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            logger.info("waiting for the database: %s", exc)
            time.sleep(1)


if __name__ == "__main__":
    main()
