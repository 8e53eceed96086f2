import jwt
import sqlmodel
from fastapi import FastAPI
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    PROJECT_NAME: str = "uv-workspace"


settings = Settings()
app = FastAPI(title=settings.PROJECT_NAME)
MESSAGE = "uv-workspace"


@app.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE, "jwt": jwt.__version__, "sqlmodel": sqlmodel.__version__}
