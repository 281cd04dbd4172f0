# wand exec payload (after prelude.py): runs the user's code and sends back what it printed. It runs
# in the target's main thread at a safe point (PEP 768), in a fresh namespace (no __file__), so it
# must never let an exception or SystemExit escape into the application, and must not keep the
# thread: past the request's "timeout" (seconds), or once wand withdraws the request (Ctrl+C: its
# request.json is gone), a watchdog thread stops the code with an asynchronous exception (without
# ctypes: through a trace hook).
class _WandThreadTee(object):
    """Captures writes from one thread only (the one running the user's code); the application's
    other threads keep their output."""

    def __init__(self, original, buffer, thread):
        import threading

        self._original = original
        self._buffer = buffer
        self._thread = thread
        self._ident = threading.get_ident

    def write(self, text):
        if self._ident() == self._thread:
            return self._buffer.write(text)
        return self._original.write(text)

    def flush(self):
        if self._ident() != self._thread and self._original is not None:
            self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)


def _wand_exec():
    import io
    import linecache
    import os
    import sys
    import threading
    import time
    import traceback

    request = _wand_request()
    if request is None:
        return

    source, filename, timeout = request["source"], request["filename"], request.get("timeout")
    me = threading.get_ident()

    class WandInterrupt(BaseException):
        """Raised only by the watchdog (never by the user's code); a BaseException, so the user's
        `except Exception` lets it through. Whether the code was interrupted is judged by the
        watchdog's record, not by this type, so user code cannot fake or hide a timeout."""

    # PyThreadState_SetAsyncExc (through ctypes): the exception is raised in our thread the next time
    # it runs bytecode (CPython checks its eval breaker between instructions); a thread blocked in C
    # (sleep, recv, a lock) sees it only once that call returns. Imported here, in the main thread,
    # so the watchdog never imports while the user's code may hold an import lock.
    try:
        import ctypes
    except Exception:  # a build without libffi/_ctypes: a trace hook checks the deadline instead
        ctypes = None

    def interrupt(exc):
        """Sends exc to our thread; None cancels one sent but not yet raised."""
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(me), ctypes.py_object(exc) if exc is not None else None)

    def check_deadline(frame, event, arg):
        """The trace hook used without ctypes: it runs on every line of the user's code (slower), and
        CPython drops a trace hook that raises, so it stops the code once."""
        if state["fired"] is not None and not state["done"]:
            raise WandInterrupt
        return check_deadline

    state = {"fired": None, "done": False}
    finished = threading.Event()
    request_file = os.path.join(_WAND_DIR, "request.json")
    deadline = None if timeout is None else time.monotonic() + timeout

    def watch():
        again = 0.0
        try:
            while not finished.wait(0.05):
                if state["done"]:
                    return
                now = time.monotonic()
                if state["fired"] is None:
                    if not os.path.exists(request_file):
                        reason = "withdrawn"  # wand went away (Ctrl+C) and removed the request
                    elif deadline is not None and now > deadline:
                        reason = "timeout"
                    else:
                        continue
                    state["fired"] = reason
                elif now < again or ctypes is None:
                    continue  # the trace hook raises it
                interrupt(WandInterrupt)
                again = now + 0.5  # and again while the code runs on (it may catch BaseException)
        except BaseException:
            pass  # never into the application; wand then says the code did not stop

    out, err = io.StringIO(), io.StringIO()
    saved_out, saved_err = sys.stdout, sys.stderr
    tee_out, tee_err = _WandThreadTee(saved_out, out, me), _WandThreadTee(saved_err, err, me)
    # Let tracebacks show the user's lines: the file does not exist in the target's filesystem.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    sys.stdout, sys.stderr = tee_out, tee_err
    watchdog = threading.Thread(target=watch, name="wand-exec-watchdog", daemon=True)

    def stop_watchdog():
        """Returns once the watchdog has ended and no interruption is pending, so none can reach the
        application after this payload returns. An interruption raised while in here is caught and
        the steps are simply taken again."""
        while True:
            try:
                state["done"] = True
                finished.set()
                watchdog.join()  # after this, it sends nothing more
                if state["fired"] is not None and ctypes is not None:
                    interrupt(None)  # one sent but not yet raised is cancelled
                return
            except WandInterrupt:
                pass

    error = None
    previous_trace = sys.gettrace()
    try:
        watchdog.start()
        try:
            code = compile(source, filename, "exec")
            if ctypes is None:
                sys.settrace(check_deadline)  # traces the frames made from here on: the user's, not this one
            exec(code, {"__name__": "__wand_exec__", "__builtins__": __builtins__})
        finally:
            if ctypes is None:
                sys.settrace(previous_trace)  # before stop_watchdog: its frame would be traced
            stop_watchdog()
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: the app must keep running
        if state["fired"] is not None:
            # Where the code was when it was stopped (whatever it raised then is not its own doing).
            error = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(e.__traceback__.tb_next))
        else:
            error = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
    finally:
        if sys.stdout is tee_out:
            sys.stdout = saved_out
        if sys.stderr is tee_err:
            sys.stderr = saved_err
        linecache.cache.pop(filename, None)

    _wand_result({"ok": error is None and state["fired"] is None, "stdout": out.getvalue(), "stderr": err.getvalue(),
                  "traceback": error, "interrupted": state["fired"]})


_wand_run(_wand_exec)
del _wand_exec, _WandThreadTee
