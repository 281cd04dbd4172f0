"""Sample Flask app under werkzeug's stat reloader, for wand's end-to-end tests.

Run as `python app.py PORT`: the first process is werkzeug's reloader; it runs the app in a worker
(WERKZEUG_RUN_MAIN=true), and when a source file changes the worker's main thread raises
SystemExit(3) and the reloader starts the next worker. Tests find breakpoint lines by searching for
the marker comments; keep each statement on its own line.
"""

import os
import sys

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/items/<int:item_id>")
def read_item(item_id):
    pid = os.getpid()
    return {"item_id": item_id, "pid": pid}  # BREAKPOINT: items


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), use_reloader=True, reloader_type="stat")
