"""The template's prestart shape: run as `python app/backend_pre_start.py`, it imports `app`."""

from app.main import settings

print("prestart:", settings.PROJECT_NAME)
