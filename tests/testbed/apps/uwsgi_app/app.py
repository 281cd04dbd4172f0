"""A WSGI app for uWSGI (bookworm's uwsgi-plugin-python3: Python embedded through libpython3.11.so)."""

hits = 0


def application(environ, start_response):
    global hits
    hits += 1
    body = f"hit {hits}\n".encode()  # BREAKPOINT: handle
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
