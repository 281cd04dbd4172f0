# wand exec payload (after prelude.py): runs the user's code and sends back what it printed. It runs
# in the target's main thread at a safe point (PEP 768), in a fresh namespace (no __file__), so it
# must be quick and must never let an exception or SystemExit escape into the application.
def _wand_exec():
    import io
    import linecache
    import sys
    import threading
    import traceback

    request = _wand_request()
    if request is None:
        return

    source = request["source"]
    filename = request["filename"]
    me = threading.get_ident()

    class ThreadTee:
        """Captures writes from this thread only; the application's other threads keep their output."""

        def __init__(self, original, buffer):
            self._original = original
            self._buffer = buffer

        def write(self, text):
            if threading.get_ident() == me:
                return self._buffer.write(text)
            return self._original.write(text)

        def flush(self):
            if threading.get_ident() != me and self._original is not None:
                self._original.flush()

        def __getattr__(self, name):
            return getattr(self._original, name)

    out, err = io.StringIO(), io.StringIO()
    saved_out, saved_err = sys.stdout, sys.stderr
    tee_out, tee_err = ThreadTee(saved_out, out), ThreadTee(saved_err, err)
    # Let tracebacks show the user's lines: the file does not exist in the target's filesystem.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    sys.stdout, sys.stderr = tee_out, tee_err
    error = None
    try:
        code = compile(source, filename, "exec")
        exec(code, {"__name__": "__wand_exec__", "__builtins__": __builtins__})
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the app must keep running
        error = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
    finally:
        if sys.stdout is tee_out:
            sys.stdout = saved_out
        if sys.stderr is tee_err:
            sys.stderr = saved_err
        linecache.cache.pop(filename, None)

    _wand_result({"ok": error is None, "stdout": out.getvalue(), "stderr": err.getvalue(), "traceback": error})


_wand_run(_wand_exec)
del _wand_exec
