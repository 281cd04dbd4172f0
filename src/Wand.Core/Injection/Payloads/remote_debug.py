"""remote_debug: start the debugger from your own code (shipped by rdg; pure Python 3.8+, debugpy 1.6+).

    import remote_debug
    host, port, remote_path = remote_debug.start_debugger()   # waits for the editor
    remote_debug.start_debugger(wait=False)                    # or: listen and go on ...
    remote_debug.pause()                                       # ... and stop right here later

Under `rdg debug` the address, port and session record are rdg's; in plain `python` (after
`rdg install-api`) it listens on the node's address that the login node reaches (never 0.0.0.0),
on port 5679 when free. Calling start_debugger() twice reuses the running server.
"""

import os
import socket
import sys

__all__ = ["start_debugger", "pause"]

DEFAULT_PORT = 5679
LOCAL_PORT = 5679


def _debugpy():
    try:
        import debugpy
    except ImportError:
        raise RuntimeError("remote_debug needs debugpy in this Python (%s): python -m pip install debugpy" % sys.executable)
    return debugpy


def _login_host():
    """Where the user came from: a configured value, the address of the SSH server they logged in to, the submit host."""
    configured = os.environ.get("RDG_LOGIN_HOST")
    if configured:
        return configured
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    if len(ssh) == 4:
        return ssh[2]
    return os.environ.get("SLURM_SUBMIT_HOST") or None


def _listen_host():
    """The node's address on the route to the login host (a UDP connect sends nothing), else loopback."""
    explicit = os.environ.get("RDG_LISTEN_HOST")
    if explicit:
        return explicit
    login = _login_host()
    if login:
        name = login.rsplit("@", 1)[-1]
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.connect((socket.gethostbyname(name), 22))
                return s.getsockname()[0]
            finally:
                s.close()
        except OSError:
            pass
    return "127.0.0.1"


def _free_port(host, preferred):
    for candidate in (preferred, 0):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, candidate))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise OSError("no free port on %s" % host)


def _print_info(host, port, remote_path):
    node = socket.getfqdn()
    user = os.environ.get("SLURM_JOB_USER") or os.environ.get("USER") or "user"
    login = _login_host()
    target = login if login and "@" in login else "%s@%s" % (user, login or "<login-host>")
    lines = [
        "--- Python Debugger Info ---",
        "Node: %s" % node,
        "Address: %s" % host,
        "Port: %d" % port,
        "Remote Path: %s" % remote_path,
        "PID: %d" % os.getpid(),
    ]
    if os.environ.get("SLURM_JOB_ID"):
        lines.append("Job ID: %s" % os.environ["SLURM_JOB_ID"])
    lines.append("Tunnel: ssh -N -L %d:%s:%d %s" % (LOCAL_PORT, host, port, target))
    if not login:
        lines.append("(login host unknown: set RDG_LOGIN_HOST=user@login.example.org)")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def start_debugger(wait=True, host=None, port=None):
    """Starts debugpy (once per process) and returns (hostname, port, remote_path); with wait, returns
    once an editor is attached."""
    debugpy = _debugpy()
    endpoint = getattr(debugpy, "_rdg_endpoint", None)
    remote_path = os.getcwd()
    if endpoint is None:
        host = host or _listen_host()
        port = _free_port(host, int(port if port is not None else os.environ.get("RDG_PORT") or DEFAULT_PORT))
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        endpoint = debugpy.listen((host, port))
        if not isinstance(endpoint, tuple):
            endpoint = (host, port)
        endpoint = (endpoint[0], int(endpoint[1]))
        debugpy._rdg_endpoint = endpoint
        _print_info(endpoint[0], endpoint[1], remote_path)
    if wait and not debugpy.is_client_connected():
        sys.stderr.write("waiting for the debugger to attach...\n")
        sys.stderr.flush()
        debugpy.wait_for_client()
    return socket.getfqdn(), endpoint[1], remote_path


def pause():
    """Stops in the caller's frame (starting the debugger and waiting for the editor if needed)."""
    debugpy = _debugpy()
    if getattr(debugpy, "_rdg_endpoint", None) is None or not debugpy.is_client_connected():
        start_debugger(wait=True)
    caller = sys._getframe(1)
    pydevd = sys.modules.get("pydevd")
    try:
        # What debugpy.breakpoint() does, but stopping in our caller rather than in this function.
        pydevd.settrace(suspend=True, trace_only_current_thread=True, patch_multiprocessing=False, stop_at_frame=caller, notify_stdin=False)
    except Exception:
        debugpy.breakpoint()
    finally:
        caller = None
