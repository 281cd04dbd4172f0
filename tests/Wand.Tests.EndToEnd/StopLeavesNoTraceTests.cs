using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>wand debug --detach</c>, an editor that stops at a breakpoint, then <c>--stop</c>: the target is
/// as it was before the attach, compared by snapshots taken with <c>wand exec</c> (and the process's
/// listening sockets read from the host). debugpy's imported modules stay (README).
/// </summary>
[Collection(TargetRootCollection.Name)]
public class StopLeavesNoTraceTests
{
    private const string LoopPath = "/srv/apps/loop.py";

    /// <summary>What an attach could change in the target and --stop must put back.</summary>
    private const string SnapshotCode = """
        import json, os, signal, sys, threading
        hooks = {"sys.gettrace": repr(sys.gettrace()), "sys.getprofile": repr(sys.getprofile()),
                 "threading.gettrace": repr(threading.gettrace()), "threading.getprofile": repr(threading.getprofile())}
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:
            for tool in range(6):
                hooks["sys.monitoring tool %d" % tool] = [monitoring.get_tool(tool), monitoring.get_events(tool)]
        print(json.dumps({
            "environ": dict(os.environ),
            "sys.path": list(sys.path),
            "threads": sorted(t.name for t in threading.enumerate()),
            "signals": {s.name: repr(signal.getsignal(s)) for s in sorted(signal.valid_signals()) if isinstance(s, signal.Signals)},
            "hooks": hooks,
        }, indent=1, sort_keys=True))
        """;

    private static async Task<string> SnapshotAsync(int pid)
    {
        var r = await WandCli.RunAsync(["exec", "--pid", pid.ToString(), "-c", SnapshotCode]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout + "listening sockets: " + string.Join(", ", ListeningSockets(pid)) + "\nnative threads: " + Directory.GetDirectories($"/proc/{pid}/task").Length + "\n";
    }

    /// <summary>The TCP sockets in LISTEN state that the process itself holds (its fds), not its network namespace's.</summary>
    private static IEnumerable<string> ListeningSockets(int pid)
    {
        var inodes = new HashSet<ulong>();
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal)) inodes.Add(ulong.Parse(target[8..^1]));
        }
        return Wand.Transport.Local.ProcFs.Default.ListeningSockets(pid).Where(s => inodes.Contains(s.Inode)).Select(s => $"{s.Address}:{s.Port}").Order();
    }

    private static string Difference(string before, string after)
    {
        var b = before.Split('\n');
        var a = after.Split('\n');
        return string.Join('\n', b.Except(a).Select(l => "- " + l).Concat(a.Except(b).Select(l => "+ " + l)));
    }

    [Theory(Timeout = 180_000)]
    [InlineData(false)]
    [InlineData(true)] // the target has no debugpy (-S: no dist-packages on sys.path); wand lends one
    public async Task StopPutsBackWhatTheAttachChanged(bool borrowed)
    {
        await using var target = TargetProcess.StartPython("3.14", borrowed ? ["-S", LoopPath] : [LoopPath]);
        await target.WaitForOutputAsync("ticks");
        var home = Directory.CreateTempSubdirectory("wand-home-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["HOME"] = home };
            if (borrowed)
            {
                // A VS Code-style install on this machine, as in DebugTests.TargetWithoutDebugpyBorrowsOneFromThisMachine.
                var libs = Path.Combine(home, ".vscode/extensions/ms-python.debugpy-2025.10.0-linux-x64/bundled/libs");
                Directory.CreateDirectory(libs);
                Directory.CreateSymbolicLink(Path.Combine(libs, "debugpy"), Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"));
            }
            var before = await SnapshotAsync(target.Pid);

            var port = TestNet.FreePort();
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--output", "json"], env: env);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(borrowed, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("copiedFrom").ValueKind == JsonValueKind.String);
            var line = Testbed.BreakpointLine(LoopPath, "tick");
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
            {
                // A breakpoint that hits, so that pydevd traces and suspends for real before the stop.
                await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [LoopPath] = [line] });
                var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
                await editor.RequestAsync("setBreakpoints", new() { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
                await editor.ContinueAsync(stopped.ThreadId);
                await editor.DisconnectAsync();
            }
            var stop = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"], env: env);
            Assert.True(stop.ExitCode == 0, stop.ToString());

            // pydevd's threads end shortly after the stop: poll until the target is as before, with a deadline.
            var after = await SnapshotAsync(target.Pid);
            for (var deadline = DateTime.UtcNow.AddSeconds(20); after != before && DateTime.UtcNow < deadline; after = await SnapshotAsync(target.Pid))
                await Task.Delay(200);
            Assert.True(before == after, "changed by the attach and left after --stop:\n" + Difference(before, after));
            Assert.False(target.HasExited);
            Assert.Empty(Testbed.WandLeftovers());
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task StopEndsOnlyTheAdapterOfThisProcess()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitForOutputAsync("ticks");
        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString()]);
        Assert.True(r.ExitCode == 0, r.ToString());
        // Another process's debugpy adapter, by its command line (debugpy/server/api.py, listen), for the
        // same port number (in another network namespace, or waiting to bind it): not wand's to end.
        await using var foreign = TargetProcess.StartPython("3.14", ["-c", "import time; print('ready', flush=True); time.sleep(600)",
            "/usr/lib/python3/dist-packages/debugpy/adapter", "--for-server", "40000", "--host", "127.0.0.1", "--port", port.ToString(),
            "--server-access-token", new string('0', 64)]);
        await foreign.WaitForOutputAsync("ready");

        var stop = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"]);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        for (var deadline = DateTime.UtcNow.AddSeconds(20); TestNet.IsListening(port) && DateTime.UtcNow < deadline;) await Task.Delay(100);
        Assert.False(TestNet.IsListening(port)); // wand's adapter ended
        Assert.False(foreign.HasExited, "--stop ended another process's adapter");
    }
}
