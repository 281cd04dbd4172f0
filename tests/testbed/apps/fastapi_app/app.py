"""Sample FastAPI app for wand's end-to-end tests.

Tests find breakpoint lines by searching for the marker comments
(e.g. the one named "items"); keep each statement on its own line.
"""

from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/")
def root():
    return {"hello": "wand"}


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/items/{item_id}")
def read_item(item_id: int, request: Request, q: str | None = None):
    doubled = item_id * 2
    message = f"item {item_id} doubled is {doubled}"
    query = q if q is not None else ""
    return {"item_id": item_id, "doubled": doubled, "message": message, "q": query}  # BREAKPOINT: items


@app.get("/async-items/{item_id}")
async def read_async_item(item_id: int, q: str | None = None):
    query = q if q is not None else ""
    return {"item_id": item_id, "q": query}  # BREAKPOINT: async_items
