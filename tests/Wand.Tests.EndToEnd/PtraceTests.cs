using System.Diagnostics;
using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// CPython 3.9-3.13 reached through ptrace and Py_AddPendingCall (Injection/Ptrace): bullseye's 3.9,
/// bookworm's 3.11 (rootfs of their own, tests/testbed/oldpythons.sh) and sid's 3.13, each a real
/// interpreter in a chroot.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class PtraceTests
{
    /// <summary>
    /// The main thread sleeps in clock_nanosleep called through ctypes, so it is almost always inside
    /// that syscall when wand stops it, and nothing in Python retries it (PEP 475 retries only in
    /// Python's own wrappers): a sleep that is not restarted after wand lets go shows as "EINTR".
    /// </summary>
    private const string SleepingLoop = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        counter = 0
        print("ready", flush=True)
        while True:
            counter += 1
            if libc.usleep(100000) != 0:
                print("EINTR", ctypes.get_errno(), flush=True)
            if counter % 5 == 0:
                print("tick", counter, flush=True)
        """;

    private static string[] Exec(int pid, string code, params string[] extra) => ["exec", "--pid", pid.ToString(), "-c", code, .. extra];

    private static void AssertNothingLeftBehind(string version) => Testbed.AssertNothingLeftBehind(version);

    private static Task WaitForTicksAfterAsync(TargetProcess target, int atLeast) =>
        Eventually.TrueAsync(() =>
        {
            Assert.False(target.HasExited, $"the target exited: {target.Stderr}");
            return target.Stdout.Split('\n').Any(l => l.StartsWith("tick ", StringComparison.Ordinal) && int.Parse(l[5..]) > atLeast);
        }, TimeSpan.FromSeconds(20), $"the target to tick after {atLeast}", () => $"stdout:\n{target.Stdout}\nstderr:\n{target.Stderr}");

    [Theory(Timeout = 120_000)]
    [InlineData("3.9")]
    [InlineData("3.11")]
    [InlineData("3.13")]
    public async Task ExecRunsInOldPythonsAndTheTargetSleepsOnUnbroken(string version)
    {
        await using var target = TargetProcess.StartScript(SleepingLoop, version);
        await target.WaitForOutputAsync("ready");
        for (var i = 0; i < 3; i++)
        {
            var r = await WandCli.RunAsync(Exec(target.Pid, "import sys, __main__\nprint('counter', __main__.counter > 0)\nprint(sys.version_info[:2], file=sys.stderr)"));
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal("counter True\n", r.Stdout);
            Assert.Contains($"({version.Replace(".", ", ")})", r.Stderr);
            Assert.Contains("through ptrace", r.Stderr);
        }
        var counter = await WandCli.RunAsync(Exec(target.Pid, "import __main__\nprint(__main__.counter)"));
        await WaitForTicksAfterAsync(target, int.Parse(counter.Stdout.Trim()));
        Assert.DoesNotContain("EINTR", target.Stdout);
        Assert.DoesNotContain("Error", target.Stderr); // no SystemError from a failed pending call, no traceback
        AssertNothingLeftBehind(version);
    }

    [Fact(Timeout = 60_000)]
    public async Task RaisingCodeReturnsItsTracebackAndTheAppGoesOn()
    {
        await using var target = TargetProcess.StartScript(SleepingLoop, "3.9");
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print('before')\nraise SystemExit(3)"));
        Assert.Equal(ExitCodes.CodeRaised, r.ExitCode);
        Assert.Equal("before\n", r.Stdout);
        var counter = await WandCli.RunAsync(Exec(target.Pid, "import __main__\nprint(__main__.counter)"));
        Assert.True(counter.ExitCode == 0, counter.ToString());
        await WaitForTicksAfterAsync(target, int.Parse(counter.Stdout.Trim()));
        AssertNothingLeftBehind("3.9");
    }

    [Fact(Timeout = 60_000)]
    public async Task ThePageIsUnmappedOnceTheCodeHasRun()
    {
        await using var target = TargetProcess.StartScript(SleepingLoop, "3.9");
        await target.WaitForOutputAsync("ready");
        // The user's code finds the bootstrap's frame (pending_call.py) and says where its page is.
        var r = await WandCli.RunAsync(Exec(target.Pid, """
            import sys
            f = sys._getframe()
            while f is not None and "_WAND_PAGE" not in f.f_globals:
                f = f.f_back
            print(f.f_globals["_WAND_PAGE"])
            """));
        Assert.True(r.ExitCode == 0, r.ToString());
        var page = ulong.Parse(r.Stdout.Trim());
        bool Mapped() => File.ReadAllLines($"/proc/{target.Pid}/maps").Select(l => l.Split(' ')[0].Split('-'))
            .Any(range => Convert.ToUInt64(range[0], 16) <= page && page < Convert.ToUInt64(range[1], 16));
        await Eventually.TrueAsync(() => !Mapped(), TimeSpan.FromSeconds(10), $"the page at 0x{page:x} to be unmapped in PID {target.Pid}");
        Assert.False(target.HasExited);
    }

    [Fact(Timeout = 60_000)]
    public async Task PsShowsTheVersionAndThatWandCanAttach()
    {
        await using var old = TargetProcess.StartScript(SleepingLoop, "3.9");
        await using var newer = TargetProcess.StartScript(SleepingLoop, "3.11");
        await old.WaitForOutputAsync("ready");
        await newer.WaitForOutputAsync("ready");
        foreach (var (target, version) in new[] { (old, "3.9"), (newer, File.ReadAllText(Testbed.RootFor("3.11") + "/.version").Trim()) })
        {
            var r = await WandCli.RunAsync(["ps", "--pid", target.Pid.ToString(), "--output", "json"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            var p = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().Single();
            Assert.Equal(version, p.GetProperty("version").GetString()); // 3.11 exports Py_Version; 3.9 says it in its name only
            Assert.True(p.GetProperty("attach").GetProperty("state").GetString() == "attachable", p.ToString());
            Assert.Contains("ptrace", p.GetProperty("attach").GetProperty("reason").GetString());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TwoWandsAtOnceBothRunOneAfterTheOther()
    {
        await using var target = TargetProcess.StartScript(SleepingLoop, "3.11");
        await target.WaitForOutputAsync("ready");
        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
            WandCli.RunAsync(Exec(target.Pid, $"import time\nstarted = time.monotonic()\ntime.sleep(0.3)\nprint({i}, started, time.monotonic())"))));
        var spans = runs.Select(r =>
        {
            Assert.True(r.ExitCode == 0, r.ToString());
            var f = r.Stdout.Trim().Split(' ');
            return (Start: double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), End: double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        }).OrderBy(s => s.Start).ToList();
        Assert.True(spans[1].Start >= spans[0].End, $"the two requests overlapped: {spans[0]} and {spans[1]}");
        AssertNothingLeftBehind("3.11");
    }

    [Fact(Timeout = 60_000)]
    public async Task ATargetThatExitsBeforeItRunsTheCodeIsACleanError()
    {
        // Blocked in pause(2) (restarted after wand's stop, so it stays blocked), killed by SIGALRM
        // while wand waits for it to reach a safe point.
        await using var target = TargetProcess.StartScript("import signal\nprint('ready', flush=True)\nsignal.alarm(2)\nsignal.pause()\n", "3.9");
        await target.WaitForOutputAsync("ready");
        var r = await WandCli.RunAsync(Exec(target.Pid, "print(1)", "--timeout", "30"));
        Assert.True(r.ExitCode == ExitCodes.TargetExited, r.ToString());
        Assert.Contains($"PID {target.Pid} exited", r.Stderr);
        AssertNothingLeftBehind("3.9");
    }

    [Fact(Timeout = 60_000)]
    public async Task ARequestThatTimesOutIsWithdrawnAndNeverRunsLater()
    {
        // The main thread waits in pause(2) until SIGUSR1, whose Python handler lets it go on.
        await using var target = TargetProcess.StartScript("""
            import signal, time
            signal.signal(signal.SIGUSR1, lambda *a: None)
            print("ready", flush=True)
            signal.pause()
            for i in range(3):
                time.sleep(0.05)
            print("woke", flush=True)
            while True:
                time.sleep(0.05)
            """, "3.9");
        await target.WaitForOutputAsync("ready");
        var marker = $"/tmp/wand-test-withdrawn-{Guid.NewGuid():N}";
        var r = await WandCli.RunAsync(Exec(target.Pid, $"open('{marker}', 'w').close()", "--timeout", "1"));
        Assert.True(r.ExitCode == ExitCodes.SafePointTimeout, r.ToString());
        Assert.Contains("withdrawn", r.Stderr);

        Process.Start("kill", ["-USR1", target.Pid.ToString()]).WaitForExit();
        await target.WaitForOutputAsync("woke"); // the queued bootstrap has run by now (same eval-breaker check as the handler)
        Assert.False(File.Exists(Testbed.RootFor("3.9") + marker), "the withdrawn request ran");
        Assert.DoesNotContain("Error", target.Stderr);
        var again = await WandCli.RunAsync(Exec(target.Pid, "print('still here')"));
        Assert.True(again.ExitCode == 0 && again.Stdout == "still here\n", again.ToString());
        AssertNothingLeftBehind("3.9");
    }

    [Fact(Timeout = 60_000)]
    public async Task AProcessTracedBySomeoneElseIsRefusedNamingTheTracer()
    {
        await using var target = TargetProcess.StartScript(SleepingLoop, "3.11");
        await target.WaitForOutputAsync("ready");
        using var strace = Process.Start(new ProcessStartInfo("strace", ["-p", target.Pid.ToString(), "-o", "/dev/null"]) { RedirectStandardError = true })!;
        try
        {
            await Eventually.TrueAsync(() => File.ReadAllText($"/proc/{target.Pid}/status").Contains($"TracerPid:\t{strace.Id}\n"),
                TimeSpan.FromSeconds(10), "strace to attach");
            var r = await WandCli.RunAsync(Exec(target.Pid, "print(1)"));
            Assert.True(r.ExitCode == ExitCodes.PtraceRefused, r.ToString());
            Assert.Contains($"already traced by PID {strace.Id} (strace)", r.Stderr);

            var ps = await WandCli.RunAsync(["ps", "--pid", target.Pid.ToString(), "--output", "json"]);
            var p = JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray().Single();
            Assert.Equal("alreadyTraced", p.GetProperty("attach").GetProperty("state").GetString());
            Assert.Contains($"already traced by PID {strace.Id} (strace)", p.GetProperty("attach").GetProperty("reason").GetString());
        }
        finally
        {
            strace.Kill();
            await strace.WaitForExitAsync();
        }
        AssertNothingLeftBehind("3.11");
    }

    [Fact(Timeout = 60_000)]
    public async Task NoDebuggerIsRun()
    {
        // PATH holds only a gdb and an lldb that leave a mark when run: wand must not need either.
        var bin = Directory.CreateTempSubdirectory("wand-test-path-").FullName;
        var mark = Path.Combine(bin, "ran");
        try
        {
            foreach (var name in new[] { "gdb", "lldb" })
            {
                var path = Path.Combine(bin, name);
                await File.WriteAllTextAsync(path, $"#!/bin/sh\necho {name} >> {mark}\nexit 1\n");
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            await using var target = TargetProcess.StartScript(SleepingLoop, "3.9");
            await target.WaitForOutputAsync("ready");
            var r = await WandCli.RunAsync(Exec(target.Pid, "print(6 * 7)"), env: new Dictionary<string, string> { ["PATH"] = bin });
            Assert.True(r.ExitCode == 0 && r.Stdout == "42\n", r.ToString());
            Assert.False(File.Exists(mark), "a debugger was run: " + (File.Exists(mark) ? File.ReadAllText(mark) : ""));
        }
        finally
        {
            Directory.Delete(bin, recursive: true);
        }
        AssertNothingLeftBehind("3.9");
    }

    /// <summary>
    /// <c>wand debug</c> through the same route: a breakpoint hit and the app going on. 3.11 has no
    /// debugpy of its own and is lent sid's 1.8.20 (before 3.12 pydevd traces the main thread from
    /// its own thread through its attach.so, which needs libstdc++; "3.11-slim" has none, so the
    /// bootstrap has the main thread enable pydevd's tracing itself). Bullseye's 3.9:
    /// <see cref="DebugOn39WithoutTypingExtensionsHitsABreakpoint"/>.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData("3.11")]
    [InlineData("3.11-slim")]
    [InlineData("3.13")]
    public async Task DebugHitsABreakpoint(string version)
    {
        const string loop = "/srv/apps/loop.py";
        await using var target = TargetProcess.StartPython(version, [loop]);
        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--output", "json",
            "--debugpy", Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"), "--timeout", "20"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var line = Testbed.BreakpointLine(loop, "tick");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [loop] = [line] });
            Assert.True(attached.Breakpoints[loop][0].Verified);
            var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("breakpoint", stopped.Reason);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal(("tick", loop, line), (frame.Name, frame.SourcePath, frame.Line));
            await editor.RequestAsync("setBreakpoints", new System.Text.Json.Nodes.JsonObject
            {
                ["source"] = new System.Text.Json.Nodes.JsonObject { ["path"] = loop },
                ["breakpoints"] = new System.Text.Json.Nodes.JsonArray(),
            });
            await editor.ContinueAsync(stopped.ThreadId);
            await editor.DisconnectAsync();
        }
        var stop = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"]);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.False(target.HasExited);
        AssertNothingLeftBehind(version);
    }

    /// <summary>
    /// Bullseye's 3.9 has no typing_extensions, which the lent debugpy imports for TypeGuard (pydevd's
    /// vendored bytecode; typing has it from 3.10 on): the bootstrap lends TypeGuard for the import
    /// only, so the breakpoint is hit and the app's sys.modules holds no typing_extensions afterwards.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task DebugOn39WithoutTypingExtensionsHitsABreakpoint()
    {
        const string loop = "/srv/apps/loop.py";
        Assert.False(File.Exists(Testbed.RootFor("3.9") + "/usr/lib/python3/dist-packages/typing_extensions.py"));
        await using var target = TargetProcess.StartPython("3.9", [loop]);
        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(),
            "--debugpy", Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"), "--timeout", "20"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var line = Testbed.BreakpointLine(loop, "tick");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [loop] = [line] });
            Assert.True(attached.Breakpoints[loop][0].Verified);
            var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal(("tick", loop, line), (frame.Name, frame.SourcePath, frame.Line));
            Assert.Equal("(3, 9)", await editor.EvaluateAsync("tuple(__import__('sys').version_info[:2])", frame.Id));
            await editor.RequestAsync("setBreakpoints", new System.Text.Json.Nodes.JsonObject
            {
                ["source"] = new System.Text.Json.Nodes.JsonObject { ["path"] = loop },
                ["breakpoints"] = new System.Text.Json.Nodes.JsonArray(),
            });
            await editor.ContinueAsync(stopped.ThreadId);
            await editor.DisconnectAsync();
        }
        var modules = await WandCli.RunAsync(Exec(target.Pid, "import sys\nprint('typing_extensions' in sys.modules, 'pydevd' in sys.modules)"));
        Assert.True(modules.ExitCode == 0 && modules.Stdout == "False True\n", modules.ToString());
        var stop = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"]);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.False(target.HasExited);
        AssertNothingLeftBehind("3.9");
    }
}
