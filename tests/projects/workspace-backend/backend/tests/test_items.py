"""The backend's own suite, run inside the stack (`devstack exec backend pytest`)."""

from app.main import app
from app.settings import FIRST_ITEM_TITLE
from fastapi.testclient import TestClient

client = TestClient(app)


def test_health_check() -> None:
    assert client.get("/api/v1/utils/health-check/").json() is True


def test_initial_data_was_written_by_prestart() -> None:
    titles = [item["title"] for item in client.get("/api/v1/items/").json()]
    assert FIRST_ITEM_TITLE in titles


def test_item_written_is_read_back() -> None:
    created = client.post("/api/v1/items/", json={"title": "from pytest"})
    assert created.status_code == 201
    item_id = created.json()["id"]
    assert client.get(f"/api/v1/items/{item_id}").json() == {"id": item_id, "title": "from pytest"}


def test_missing_item_is_404() -> None:
    assert client.get("/api/v1/items/999999").status_code == 404
