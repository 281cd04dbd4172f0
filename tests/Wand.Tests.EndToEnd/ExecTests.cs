using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>wand exec --pid</c> against real interpreters in the testbed rootfs. One class, so its tests run
/// one after another, and in the collection of every test that writes into the rootfs, so the
/// "nothing left behind" check sees only its own files.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class ExecTests
{
    private const string Loop = """
        import time
        counter = 0
        print("ready", flush=True)
        while True:
            counter += 1
            time.sleep(0.02)
        """;

    private static string[] Exec(int pid, string code, params string[] extra) => ["exec", "--pid", pid.ToString(), "-c", code, .. extra];

    private static void AssertNothingLeftBehind() => Testbed.AssertNothingLeftBehind();

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.14")]
    [InlineData("3.15")]
    public async Task RunsCodeAndReturnsItsOutput(string version)
    {
        await using var target = TargetProcess.StartScript(Loop, version);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "import sys, __main__\nprint('counter', __main__.counter > 0)\nprint(sys.version_info[:2], file=sys.stderr)"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("counter True\n", r.Stdout);
        Assert.Contains($"({version.Replace(".", ", ")})", r.Stderr);
        Assert.False(target.HasExited);
        Assert.DoesNotContain("counter True", target.Stdout); // captured, not printed by the target
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task RunsAFile()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var file = Path.Combine(Path.GetTempPath(), $"wand-test-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, "import os\nprint('pid', os.getpid())\n");
        try
        {
            var r = await WandCli.RunAsync(["exec", "--pid", target.Pid.ToString(), file]);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal($"pid {target.Pid}\n", r.Stdout);
        }
        finally
        {
            File.Delete(file);
        }
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task CodeThatRaisesReturnsTracebackAndExitCode1()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print('before')\ndef boom():\n    raise ValueError('kaboom')\nboom()"));
        Assert.Equal(ExitCodes.CodeRaised, r.ExitCode);
        Assert.Equal("before\n", r.Stdout);
        Assert.Contains("ValueError: kaboom", r.Stderr);
        Assert.Contains("raise ValueError('kaboom')", r.Stderr); // the user's own source line
        Assert.DoesNotContain("_wand_exec", r.Stderr);           // not our payload's frames
        // SystemExit must not stop the application either.
        var exit = await WandCli.RunAsync(Exec(target.Pid, "raise SystemExit(3)"));
        Assert.Equal(ExitCodes.CodeRaised, exit.ExitCode);
        // The app runs on: a later exec needs its main thread to reach a safe point again.
        var after = await WandCli.RunAsync(Exec(target.Pid, "import __main__; print(__main__.counter > 0)"));
        Assert.True(after.ExitCode == 0 && after.Stdout == "True\n", after.ToString());
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task LargeOutputComesBackWhole()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "import sys\nfor i in range(16384):\n    sys.stdout.write('%063d\\n' % i)"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(16384 * 64, r.Stdout.Length);
        Assert.EndsWith("16383\n", r.Stdout);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task NoSuchPid()
    {
        var r = await WandCli.RunAsync(Exec(4_000_000, "print(1)"));
        Assert.Equal(ExitCodes.ProcessNotFound, r.ExitCode);
        Assert.Contains("no process with PID 4000000", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr); // no stack trace
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task NotPython()
    {
        using var sleep = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            var r = await WandCli.RunAsync(Exec(sleep.Id, "print(1)"));
            Assert.Equal(ExitCodes.NotPython, r.ExitCode);
            Assert.Contains("not a CPython process", r.Stderr);
        }
        finally
        {
            sleep.Kill();
        }
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("env")]
    [InlineData("xoption")]
    public async Task RemoteDebugDisabledIsReported(string how)
    {
        await using var target = how == "env"
            ? TargetProcess.StartScript(Loop, env: new Dictionary<string, string> { ["PYTHON_DISABLE_REMOTE_DEBUG"] = "1" })
            : TargetProcess.StartScript(Loop, interpreterOptions: ["-X", "disable-remote-debug"]);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print(1)"));
        Assert.Equal(ExitCodes.RemoteDebugDisabled, r.ExitCode);
        Assert.Contains("PYTHON_DISABLE_REMOTE_DEBUG", r.Stderr);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnotherUsersProcessNeedsPtracePermission()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print(1)"), user: "65534");
        Assert.Equal(ExitCodes.PermissionDenied, r.ExitCode);
        Assert.Contains("CAP_SYS_PTRACE", r.Stderr);
        Assert.Contains("ptrace_scope", r.Stderr);
        Assert.Contains("sudo", r.Stderr);
        Assert.False(target.HasExited);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task BlockedMainThreadTimesOutAndTheRequestIsWithdrawn()
    {
        const string blocked = """
            import sys, time
            print("ready", flush=True)
            sys.stdin.readline()          # blocked in C until the test sends a line
            for i in range(20):
                time.sleep(0.02)
            print("resumed", flush=True)
            time.sleep(60)
            """;
        await using var target = TargetProcess.StartScript(blocked);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "open('/tmp/stale-marker', 'w').close()", "--timeout", "1"));
        Assert.Equal(ExitCodes.SafePointTimeout, r.ExitCode);
        Assert.Contains("did not run Python code within 1 s", r.Stderr);
        Assert.Contains("withdrawn", r.Stderr);
        AssertNothingLeftBehind();

        await target.SendLineAsync("go");
        await target.WaitForOutputAsync("resumed");
        Assert.False(File.Exists(Testbed.HostPath("/tmp/stale-marker")), "the withdrawn request ran later");
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TargetExitingDuringTheInjectionIsReported()
    {
        const string blocked = "import time\nprint('ready', flush=True)\ntime.sleep(60)\n";
        var target = TargetProcess.StartScript(blocked);
        await target.WaitForOutputAsync("ready");
        var run = WandCli.RunAsync(Exec(target.Pid, "print(1)", "--timeout", "30"));
        // wand stages its payload in the target's /tmp before it asks for the safe point.
        await Eventually.TrueAsync(() => Testbed.WandLeftovers().Length > 0, TimeSpan.FromSeconds(30), "wand to stage its payload in the target");
        await target.DisposeAsync(); // kill it while wand waits for the safe point
        var r = await run;
        Assert.Equal(ExitCodes.TargetExited, r.ExitCode);
        Assert.Contains("exited", r.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TwoConcurrentExecsBothRunWithoutTearing()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var runs = Enumerable.Range(0, 4).Select(i => WandCli.RunAsync(Exec(target.Pid, $"print('request-{i}-' + 'x' * 300)"))).ToArray();
        var results = await Task.WhenAll(runs);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.True(results[i].ExitCode == 0, results[i].ToString());
            Assert.Equal($"request-{i}-{new string('x', 300)}\n", results[i].Stdout);
        }
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task UvicornKeepsServingDuringAndAfterExec()
    {
        var port = TestNet.FreePort();
        await using var app = TargetProcess.StartPython("3.14",
            ["-m", "uvicorn", "--app-dir", "/srv/apps/fastapi_app", "app:app", "--host", "127.0.0.1", "--port", port.ToString()]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        await TestNet.WaitUntilServingAsync(http, app);

        await using var load = new HttpLoad(http, "/health");
        for (var i = 0; i < 3; i++)
        {
            var r = await WandCli.RunAsync(Exec(app.Pid, "import __main__, sys\nprint(sorted(m for m in sys.modules if m.startswith('uvicorn'))[:1])"));
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal("['uvicorn']\n", r.Stdout);
        }
        await load.ServesOnAsync("the execs");
        var (served, failed) = await load.StopAsync();
        Assert.Equal(0, failed);
        Assert.True(served > 0);
        AssertNothingLeftBehind();
    }
    /// <summary>
    /// Asserts that the target's own loop runs again: its counter grows between two execs (a request
    /// can run nested inside code still looping in the main thread, so an answer alone proves nothing),
    /// and no watchdog but the exec's own is alive.
    /// </summary>
    private static async Task AssertTheAppGoesOnAsync(TargetProcess target)
    {
        var (first, _) = await ProbeAsync(target);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var (now, watchdogs) = await ProbeAsync(target);
        while (now <= first)
        {
            Assert.True(DateTime.UtcNow < deadline, "the target's loop did not run again within 30 s");
            (now, watchdogs) = await ProbeAsync(target);
        }
        Assert.Equal(1, watchdogs); // the probe's own
        Assert.False(target.HasExited);

        static async Task<(long Counter, int Watchdogs)> ProbeAsync(TargetProcess target)
        {
            var r = await WandCli.RunAsync(
                Exec(target.Pid, "import __main__, threading\nprint(__main__.counter, [t.name for t in threading.enumerate()].count('wand-exec-watchdog'))", "--timeout", "20"),
                timeout: TimeSpan.FromSeconds(50));
            Assert.True(r.ExitCode == 0, r.ToString());
            var fields = r.Stdout.Split(' ');
            return (long.Parse(fields[0]), int.Parse(fields[1]));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task RunawayCodeIsInterruptedAtTheTimeoutAndTheAppGoesOn()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var r = await WandCli.RunAsync(Exec(target.Pid, "print('before')\nwhile True: pass", "--timeout", "3"), timeout: TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == ExitCodes.ExecTimeout, r.ToString());
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
        Assert.Equal("before\n", r.Stdout);                  // what it printed before it was stopped
        Assert.Contains("while True: pass", r.Stderr);        // where it was
        Assert.Contains("ran past its 3 s --timeout and was interrupted", r.Stderr);
        Assert.DoesNotContain("WandInterrupt", r.Stderr);     // not shown as an exception the code raised
        await AssertTheAppGoesOnAsync(target);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = 120_000)]
    public async Task RunawayCodeIsInterruptedByATraceHookWithoutCtypes()
    {
        // A None entry makes `import ctypes` fail, as in a build without libffi. The loop notes its
        // own thread's trace hook, to show that the hook did not outlive the run.
        await using var target = TargetProcess.StartScript("""
            import sys, time
            sys.modules['ctypes'] = None
            counter = 0
            print("ready", flush=True)
            while True:
                counter += 1
                trace = sys.gettrace()
                time.sleep(0.02)
            """);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print('before')\ndef spin():\n    while True: pass\nspin()", "--timeout", "2"), timeout: TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == ExitCodes.ExecTimeout, r.ToString());
        Assert.Equal("before\n", r.Stdout);
        Assert.Contains("was interrupted", r.Stderr);
        await AssertTheAppGoesOnAsync(target);
        var trace = await WandCli.RunAsync(Exec(target.Pid, "import __main__, sys\nprint(__main__.trace, sys.modules['ctypes'] is not None)"));
        Assert.Equal("None False\n", trace.Stdout); // the hook is gone, and ctypes really was missing
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = 120_000)]
    public async Task CodeThatCatchesTheInterruptionIsInterruptedAgain()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "try:\n    while True: pass\nexcept BaseException:\n    print('caught')\nwhile True: pass", "--timeout", "2"),
            timeout: TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == ExitCodes.ExecTimeout, r.ToString());
        Assert.Equal("caught\n", r.Stdout); // the first interruption was caught, a later one was not
        await AssertTheAppGoesOnAsync(target);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = 120_000)]
    public async Task CtrlCInterruptsTheCodeInTheTarget()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var marker = $"/tmp/exec-running-{Guid.NewGuid():N}";
        try
        {
            await using var exec = WandSession.Start(Exec(target.Pid, $"open('{marker}', 'w').close()\nwhile True: pass", "--timeout", "600"));
            await Eventually.TrueAsync(() => File.Exists(Testbed.HostPath(marker)), TimeSpan.FromSeconds(30), "the code to start running in the target");
            Assert.Equal(ExitCodes.Cancelled, await exec.InterruptAsync(TimeSpan.FromSeconds(20)));
            Assert.Contains("cancelled", exec.Stderr);
        }
        finally
        {
            File.Delete(Testbed.HostPath(marker));
        }
        await AssertTheAppGoesOnAsync(target);
        AssertNothingLeftBehind();
    }

    [Fact(Timeout = 120_000)]
    public async Task CodeBlockedInCIsInterruptedWhenItReturnsToPython()
    {
        await using var target = TargetProcess.StartScript(Loop);
        await target.WaitForOutputAsync("ready");
        var marker = $"/tmp/exec-went-on-{Guid.NewGuid():N}";
        try
        {
            var r = await WandCli.RunAsync(Exec(target.Pid, $"import time\ntime.sleep(8)\nopen('{marker}', 'w').close()", "--timeout", "2"), timeout: TimeSpan.FromSeconds(30));
            Assert.True(r.ExitCode == ExitCodes.ExecTimeout, r.ToString());
            Assert.Contains("blocked in C code", r.Stderr);
            Assert.Contains($"wand stacks --pid {target.Pid}", r.Stderr);
            Assert.Contains("can only be interrupted when it returns to Python", r.Stderr);
            AssertNothingLeftBehind();
            await AssertTheAppGoesOnAsync(target); // answers once the sleep has returned
            Assert.False(File.Exists(Testbed.HostPath(marker)), "the code went on after its sleep instead of being interrupted");
        }
        finally
        {
            File.Delete(Testbed.HostPath(marker));
        }
    }
}
