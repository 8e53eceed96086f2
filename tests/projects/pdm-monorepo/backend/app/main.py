from fastapi import FastAPI

app = FastAPI()
MESSAGE = "monorepo"


@app.get("/")
def root() -> dict[str, str]:
    return {"message": MESSAGE}
