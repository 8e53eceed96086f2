"""Wait until the database answers (the seed template's own poll, kept as users have it)."""

import os
import time

from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"])
for attempt in range(60):
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        break
    except Exception as exc:
        print(f"database not ready ({attempt}): {exc.__class__.__name__}", flush=True)
        time.sleep(1)
else:
    raise SystemExit("database never answered")
