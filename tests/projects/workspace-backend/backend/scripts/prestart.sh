#! /usr/bin/env bash
# One-shot before the backend starts: wait for the database, migrate, write initial data.
set -e
set -x

python app/backend_pre_start.py
alembic upgrade head
python app/initial_data.py
