"""Settings from the environment (the compose file's env_file and environment)."""

import os


def database_url() -> str:
    user = os.environ.get("POSTGRES_USER", "postgres")
    password = os.environ.get("POSTGRES_PASSWORD", "")
    host = os.environ.get("POSTGRES_SERVER", "localhost")
    port = os.environ.get("POSTGRES_PORT", "5432")
    name = os.environ.get("POSTGRES_DB", "app")
    return f"postgresql+psycopg://{user}:{password}@{host}:{port}/{name}"


PROJECT_NAME = os.environ.get("PROJECT_NAME", "backend")
FIRST_ITEM_TITLE = os.environ.get("FIRST_ITEM_TITLE", "first item")
