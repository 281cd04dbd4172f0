# Unit tests of rdg_launcher.py's functions, run with the standard library's unittest in each of the
# testbed's interpreters (RdgLauncherPythonTests copies this file beside the launcher rdg ships and runs
# `python -m unittest`). No debugpy here: what needs a real debugger is covered end to end (RdgDebugTests).
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import types
import unittest

import rdg_launcher as L
import rdg_rank


class _Saved(object):
    """Puts back what running a program changes in this interpreter: sys.argv, sys.path, __main__."""

    def __enter__(self):
        self.argv = list(sys.argv)
        self.path = list(sys.path)
        self.main = sys.modules["__main__"]
        return self

    def __exit__(self, *exc):
        sys.argv[:] = self.argv
        sys.path[:] = self.path
        sys.modules["__main__"] = self.main
        return False


def _write(folder, name, text):
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def _folder(test):
    """A private folder, removed after the test."""
    folder = tempfile.mkdtemp(prefix="rdg-unit-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


def _wait(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("waited %ss for %s" % (timeout, what))


class SplitPythonArgvTests(unittest.TestCase):
    def test_script_with_options_and_args(self):
        self.assertEqual(rdg_rank.split_python_argv(["python", "-u", "-X", "dev", "train.py", "--lr", "0.1"]), (["-u", "-X", "dev"], "script", "train.py", ["--lr", "0.1"]))

    def test_module_and_code_forms(self):
        self.assertEqual(rdg_rank.split_python_argv(["python", "-m", "pkg.mod", "a"]), ([], "module", "pkg.mod", ["a"]))
        self.assertEqual(rdg_rank.split_python_argv(["python", "-Bc", "print(1)", "x"]), (["-B"], "code", "print(1)", ["x"]))
        self.assertEqual(rdg_rank.split_python_argv(["python", "-mpkg"]), ([], "module", "pkg", []))

    def test_stdin_or_nothing_is_not_a_program(self):
        self.assertIsNone(rdg_rank.split_python_argv(["python", "-"]))
        self.assertIsNone(rdg_rank.split_python_argv(["python", "-u"]))
        self.assertIsNone(rdg_rank.split_python_argv(["python", "-m"]))


class CompileProgramTests(unittest.TestCase):
    SOURCE = '"doc"\nfrom __future__ import annotations\n\nx = 1\ny = x + 1\n'

    def setUp(self):
        self.stops = []
        debugpy = types.ModuleType("debugpy")
        debugpy.breakpoint = lambda: self.stops.append((sys._getframe(1).f_code.co_filename, sys._getframe(1).f_lineno, dict(sys._getframe(1).f_globals)))
        entry = types.ModuleType("_rdg_entry")
        entry.wanted = lambda: self.wanted
        self.wanted = True
        self.saved = {n: sys.modules.get(n) for n in ("debugpy", "_rdg_entry")}
        sys.modules.update({"debugpy": debugpy, "_rdg_entry": entry})

    def tearDown(self):
        for name, module in self.saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module

    def run_code(self, code):
        g = {"__name__": "__main__"}
        exec(code, g)
        return g

    def test_without_stop_the_program_is_unchanged(self):
        g = self.run_code(L.compile_program(self.SOURCE, "/p/prog.py", False, True))
        self.assertEqual((g["__doc__"], g["y"], self.stops), ("doc", 2, []))

    def test_stop_comes_before_the_first_statement_on_its_line_in_the_programs_frame(self):
        g = self.run_code(L.compile_program(self.SOURCE, "/p/prog.py", True, True))
        self.assertEqual(len(self.stops), 1)
        filename, line, seen = self.stops[0]
        self.assertEqual((filename, line), ("/p/prog.py", 4))
        self.assertNotIn("x", seen)  # before `x = 1`
        self.assertEqual((g["__doc__"], g["annotations"].compiler_flag != 0, g["y"]), ("doc", True, 2))

    def test_stop_is_skipped_when_the_entry_check_says_so(self):
        self.wanted = False
        self.run_code(L.compile_program(self.SOURCE, "/p/prog.py", True, True))
        self.assertEqual(self.stops, [])

    def test_launcher_not_hidden_stops_without_the_entry_check(self):
        self.wanted = False
        self.run_code(L.compile_program("x = 1\n", "/p/prog.py", True, False))
        self.assertEqual(len(self.stops), 1)

    def test_entry_is_wanted_without_a_debugger(self):
        self.assertTrue(L.entry_wanted())


class RunProgramTests(unittest.TestCase):
    REPORT = "import sys\nRESULT = (__name__, globals().get('__file__'), list(sys.argv), sys.path[0])\n"

    def setUp(self):
        self.dir = _folder(self)

    def run_target(self, kind, value, args, safe_path=False):
        with _Saved():
            L.run_program({"target": {"kind": kind, "value": value, "args": args}, "safe_path": safe_path}, False, False)
            return sys.modules["__main__"].RESULT

    def test_script_runs_in_a_fresh_main_as_python_would(self):
        script = _write(self.dir, "prog.py", self.REPORT)
        main_before = sys.modules["__main__"]
        name, file, argv, path0 = self.run_target("script", script, ["a", "-p"])
        self.assertEqual((name, file, argv, path0), ("__main__", script, [script, "a", "-p"], os.path.dirname(os.path.realpath(script))))
        self.assertIs(sys.modules["__main__"], main_before)

    def test_safe_path_keeps_sys_path(self):
        script = _write(self.dir, "prog.py", self.REPORT)
        self.assertEqual(self.run_target("script", script, [], safe_path=True)[3], sys.path[0])

    def test_code(self):
        self.assertEqual(self.run_target("code", self.REPORT, ["x"]), ("__main__", None, ["-c", "x"], ""))

    def test_module(self):
        module = _write(self.dir, "rdgunitpkg/__init__.py", "")
        module = _write(self.dir, "rdgunitpkg/tool.py", self.REPORT)
        cwd = os.getcwd()
        os.chdir(self.dir)  # python -m finds the module from the current folder (sys.path[0])
        try:
            name, file, argv, path0 = self.run_target("module", "rdgunitpkg.tool", ["b"])
        finally:
            os.chdir(cwd)
            for n in ("rdgunitpkg", "rdgunitpkg.tool"):
                sys.modules.pop(n, None)
        self.assertEqual((name, file, argv, path0), ("__main__", module, [module, "b"], self.dir))

    def test_a_crash_traceback_starts_at_the_program(self):
        script = _write(self.dir, "crash.py", "def f():\n    1 / 0\n\nf()\n")
        with _Saved():
            try:
                L.run_program({"target": {"kind": "script", "value": script, "args": []}}, False, False)
            except ZeroDivisionError:
                tb = sys.exc_info()[2].tb_next  # from run_program on, as _rdg_main gets it
        self.assertEqual(os.path.realpath(tb.tb_frame.f_code.co_filename), L.LAUNCHER_FILE)
        tb = L.user_traceback(tb)
        frames = []
        while tb is not None:
            frames.append((tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_name, tb.tb_lineno))
            tb = tb.tb_next
        self.assertEqual(frames, [(script, "<module>", 4), (script, "f", 2)])

    def test_fresh_main_without_a_file(self):
        with _Saved():
            main = L.fresh_main(None)
            self.assertIs(sys.modules["__main__"], main)
        self.assertFalse(hasattr(main, "__file__"))
        self.assertEqual(main.__name__, "__main__")

    def test_is_zip(self):
        import zipfile

        archive = os.path.join(self.dir, "app")
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("__main__.py", "")
        self.assertEqual((L.is_zip(archive), L.is_zip(_write(self.dir, "plain", "x")), L.is_zip(os.path.join(self.dir, "absent"))), (True, False, False))


class ChannelTests(unittest.TestCase):
    def test_events_go_to_rdg_as_json_lines(self):
        folder = _folder(self)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(os.path.join(folder, "control"))
        server.listen(1)
        run = L.Run({"control": os.path.join(folder, "control")})
        L.connect_channel(run)
        conn, _ = server.accept()
        L.event(run, "started", pid=1)
        L.event(run, "finished", status=0)
        received = b""
        while received.count(b"\n") < 2:
            received += conn.recv(4096)
        self.assertEqual([json.loads(x) for x in received.splitlines()], [{"pid": 1, "event": "started"}, {"status": 0, "event": "finished"}])
        conn.close()
        server.close()
        run.channel.close()

    def test_without_rdg_events_go_nowhere(self):
        run = L.Run({"control": "/nonexistent/control"})
        L.connect_channel(run)
        self.assertIsNone(run.channel)
        L.event(run, "started")  # no error


class PortTests(unittest.TestCase):
    def test_the_preferred_port_when_free_else_another(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        try:
            other = L.free_port("127.0.0.1", port)
            self.assertNotEqual(other, port)
        finally:
            taken.close()
        self.assertEqual(L.free_port("127.0.0.1", other), other)


class LiteTests(unittest.TestCase):
    def test_activate_through_the_fifo_listens_and_reports(self):
        folder = _folder(self)
        run = L.Run({"fifo_dir": folder})
        calls = []
        real_listen = L.listen
        L.listen = lambda r, reason: calls.append((r, reason)) or ("127.0.0.1", 5678)
        try:
            fifo = L.arm(run)
            self.assertEqual(oct(os.stat(fifo).st_mode & 0o777), oct(0o600))
            fd = os.open(fifo, os.O_WRONLY)
            os.write(fd, b"activate\n")
            os.close(fd)
            status = fifo[: -len(".fifo")] + ".json"
            _wait(lambda: os.path.exists(status), "the status file")
        finally:
            L.listen = real_listen
        with open(status) as f:
            self.assertEqual(json.load(f), {"ok": True, "host": "127.0.0.1", "port": 5678, "pid": os.getpid()})
        self.assertEqual(calls, [(run, "activate")])
        self.assertIn("rdg-lite-watcher", [t.name for t in threading.enumerate()])

    def test_a_failed_activation_is_reported_not_raised(self):
        folder = _folder(self)
        fifo = os.path.join(folder, "lite-1.fifo")
        real_listen = L.listen

        def fail(r, reason):
            raise OSError("no free port")

        L.listen = fail
        try:
            L.activate(L.Run({}), fifo)
        finally:
            L.listen = real_listen
        with open(os.path.join(folder, "lite-1.json")) as f:
            self.assertEqual(json.load(f), {"ok": False, "error": "OSError: no free port"})


if __name__ == "__main__":
    unittest.main()
