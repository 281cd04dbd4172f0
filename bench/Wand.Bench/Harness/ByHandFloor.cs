namespace Wand.Bench.Harness;

/// <summary>
/// The floors' shared step, done by hand as a user would without wand: a Python 3.14 next to the target
/// writes a bootstrap (import debugpy, <c>debugpy.listen</c> in a thread) and hands it to
/// <c>sys.remote_exec</c>. Run with <c>-c Program PID HOST PORT FOLDER WAIT</c>: WAIT "wait" polls
/// /proc/net/tcp until the port listens and removes the bootstrap; "return" returns once
/// <c>sys.remote_exec</c> has (the caller waits its own way) and leaves the file for the target.
/// </summary>
public static class ByHandFloor
{
    public const string Program = """
        import os, sys, time
        pid, host, port, folder, wait = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "wait"
        path = os.path.join(folder, "bench-bootstrap-%d.py" % port)
        with open(path, "w") as f:
            f.write("import os, threading\n"
                    "os.environ.setdefault('PYDEVD_DISABLE_FILE_VALIDATION', '1')\n"
                    "import debugpy, debugpy.server.api\n"
                    "threading.Thread(target=debugpy.listen, args=((%r, %d),), daemon=True).start()\n" % (host, port))
        sys.remote_exec(pid, path)
        if wait:
            want = ":%04X " % port
            while not any(want in line and line.split()[3] == "0A" for line in open("/proc/net/tcp").read().splitlines()[1:]):
                time.sleep(0.002)
            os.unlink(path)
        """;

    /// <summary>The arguments after <c>-c Program</c>.</summary>
    public static string[] Arguments(int pid, string host, int port, string folder, bool wait) =>
        [pid.ToString(System.Globalization.CultureInfo.InvariantCulture), host, port.ToString(System.Globalization.CultureInfo.InvariantCulture), folder, wait ? "wait" : "return"];

    /// <summary>The idle target the container and pod floors attach to.</summary>
    public const string IdleApp = "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.01)\n";
}
