using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Transport.Local;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>wand debug --pid</c> against real interpreters in the testbed rootfs, proven by a real DAP
/// session through the debugpy that wand started.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class DebugTests
{
    private const string LoopPath = "/srv/apps/loop.py";
    private const string AppPath = "/srv/apps/fastapi_app/app.py";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private static async Task<JsonElement> DebugAsync(int pid, int port, params string[] extra)
    {
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", pid.ToString(), "--port", port.ToString(), "--output", "json", .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement.Clone();
    }

    private static async Task StopAsync(int pid)
    {
        var r = await WandCli.RunAsync(["debug", "--pid", pid.ToString(), "--stop"]);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    private static int AdapterCount(int port) =>
        Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d))
            .Count(p => int.TryParse(p, out _) && File.Exists($"/proc/{p}/cmdline")
                && TryRead($"/proc/{p}/cmdline") is { } c && c.Contains("--for-server") && c.Contains($"--port\0{port}\0"));

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static Dictionary<string, IReadOnlyList<int>> Breakpoint(string path, int line) => new() { [path] = [line] };

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PlainScriptBreakpointInspectContinueDisconnect()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        var endpoint = await DebugAsync(target.Pid, port);
        Assert.Equal("127.0.0.1", endpoint.GetProperty("host").GetString());
        Assert.Equal(port, endpoint.GetProperty("port").GetInt32());
        Assert.False(endpoint.GetProperty("reused").GetBoolean());
        Assert.Equal("/srv/apps", endpoint.GetProperty("target").GetProperty("remoteRoot").GetString());
        Assert.Equal(LoopPath, endpoint.GetProperty("target").GetProperty("mainFile").GetString());
        Assert.True(TestNet.IsListening(port)); // the socket table, not a probe connection

        var line = Testbed.BreakpointLine(LoopPath, "tick");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            var attached = await editor.AttachAsync(Breakpoint(LoopPath, line));
            Assert.True(attached.Breakpoints[LoopPath][0].Verified);
            var stopped = await editor.WaitForStoppedAsync(StopTimeout);
            Assert.Equal("breakpoint", stopped.Reason);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal(("tick", LoopPath, line), (frame.Name, frame.SourcePath, frame.Line));
            var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals");
            var n = (await editor.VariablesAsync(locals.VariablesReference)).Single(v => v.Name == "n");
            Assert.Equal("int", n.Type);
            Assert.Equal((int.Parse(n.Value) * 2).ToString(), await editor.EvaluateAsync("n * 2", frame.Id));
            await editor.ContinueAsync(stopped.ThreadId);
            var again = await editor.WaitForStoppedAsync(StopTimeout);
            var frame2 = (await editor.StackTraceAsync(again.ThreadId))[0];
            var n2 = (await editor.VariablesAsync((await editor.ScopesAsync(frame2.Id)).First(s => s.Name == "Locals").VariablesReference)).Single(v => v.Name == "n");
            Assert.True(int.Parse(n2.Value) > int.Parse(n.Value));
            await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
            await editor.ContinueAsync(again.ThreadId);
            await editor.DisconnectAsync();
        }
        await target.RunsOnAsync("the editor left");
        await StopAsync(target.Pid);
        Assert.False(TestNet.IsListening(port));
        Testbed.AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task UvicornBreakpointWithPathMappingsAndNoFailedRequestThroughout()
    {
        var appPort = TestNet.FreePort();
        await using var app = TargetProcess.StartPython("3.14",
            ["-m", "uvicorn", "--app-dir", "/srv/apps/fastapi_app", "app:app", "--host", "127.0.0.1", "--port", appPort.ToString()]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(60) };
        await TestNet.WaitUntilServingAsync(http, app);

        await using var load = new HttpLoad(http, "/health");

        var port = TestNet.FreePort();
        var endpoint = await DebugAsync(app.Pid, port);
        var remoteRoot = endpoint.GetProperty("target").GetProperty("remoteRoot").GetString()!;
        Assert.Equal("/srv/apps/fastapi_app", remoteRoot);

        // The editor works on the files as this machine sees them; pathMappings translate.
        var localRoot = Testbed.HostPath(remoteRoot);
        var localFile = Testbed.HostPath(AppPath);
        var line = Testbed.BreakpointLine(AppPath, "items");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            var mappings = new JsonObject { ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = localRoot, ["remoteRoot"] = remoteRoot }) };
            var attached = await editor.AttachAsync(Breakpoint(localFile, line), mappings);
            Assert.True(attached.Breakpoints[localFile][0].Verified);

            var request = http.GetStringAsync("/items/21?q=wand");
            var stopped = await editor.WaitForStoppedAsync(StopTimeout);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal(("read_item", localFile, line), (frame.Name, frame.SourcePath, frame.Line));
            var locals = await editor.VariablesAsync((await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals").VariablesReference);
            Assert.Equal("42", locals.Single(v => v.Name == "doubled").Value);
            Assert.Equal("'wand'", locals.Single(v => v.Name == "q").Value);
            Assert.Equal("'/items/21'", await editor.EvaluateAsync("request.url.path", frame.Id));
            Assert.False(request.IsCompleted);
            await editor.ContinueAsync(stopped.ThreadId);
            Assert.Contains("\"doubled\":42", await request.WaitAsync(StopTimeout));
            await editor.DisconnectAsync();
        }

        await StopAsync(app.Pid);
        await load.ServesOnAsync("the stop");
        var (served, failed) = await load.StopAsync();
        Assert.Equal(0, failed);
        Assert.True(served > 0);
        Assert.False(TestNet.IsListening(port));
        Testbed.AssertNothingLeftBehind();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task SecondDebugReusesTheLiveDebugpyAndStopWhenNothingListensIsFine()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        await DebugAsync(target.Pid, port);
        var again = await DebugAsync(target.Pid, port);
        Assert.True(again.GetProperty("reused").GetBoolean());
        Assert.Equal(port, again.GetProperty("port").GetInt32());
        // Asking for another port still reuses the one debugpy that is there.
        var other = await DebugAsync(target.Pid, TestNet.FreePort());
        Assert.True(other.GetProperty("reused").GetBoolean());
        Assert.Equal(port, other.GetProperty("port").GetInt32());
        Assert.Equal(target.Pid, PortOwner.Find(port, ProcFs.Default)?.Pid); // pydevd listens in the target itself

        await StopAsync(target.Pid);
        Assert.Equal(0, AdapterCount(port));
        var r = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("not running", r.Stderr);
        // and it can be started again after a stop
        var restarted = await DebugAsync(target.Pid, port);
        Assert.False(restarted.GetProperty("reused").GetBoolean());
        await StopAsync(target.Pid);
        Assert.False(target.HasExited);
    }

    /// <summary>
    /// Issue 15 item 2: pydevd in the target accepts the editor itself (debugpy's in-process adapter), so no
    /// adapter process is started; --stop closes its listener for good (a thread blocked in accept() keeps a
    /// merely closed socket listening), and a later attach listens on the port it is given, not the first one
    /// (pydevd.SetupHolder keeps the first address), where the editor's breakpoints stop again.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PydevdListensInTheTargetWithoutAnAdapterAndStopClosesItsPort()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var line = Testbed.BreakpointLine(LoopPath, "tick");
        var ports = new[] { TestNet.FreePort(), TestNet.FreePort() };
        foreach (var port in ports)
        {
            var endpoint = await DebugAsync(target.Pid, port);
            Assert.True(endpoint.GetProperty("direct").GetBoolean(), endpoint.ToString());
            Assert.Equal(target.Pid, PortOwner.Find(port, ProcFs.Default)?.Pid);
            Assert.Equal(0, AdapterCount(port));
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
            {
                await StopsOnceInTickAsync(editor, line);
                // The editor's connection as pydevd accepted it: without TCP_NODELAY each response waits 40 ms for a delayed ACK.
                // Asked in the first round: the breakpoint of the round after it must stop all the same. It did not
                // while pydevd kept, across --stop, what it had found about tick() stamped with its count of breakpoint
                // changes, which the next PyDB's count reached (_wand_forget_code_info); after an exec, every time.
                if (port == ports[0])
                {
                    var nodelay = await WandCli.RunAsync(["exec", "--pid", target.Pid.ToString(), "-c",
                        "import pydevd, socket; print(pydevd.get_global_debugger().writer.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)"]);
                    Assert.True(nodelay.ExitCode == 0 && nodelay.Stdout == "True\n", nodelay.ToString());
                }
                await editor.DisconnectAsync();
            }
            await StopAsync(target.Pid);
            await Eventually.TrueAsync(() => !TestNet.IsListening(port), TimeSpan.FromSeconds(10), $"pydevd's listener on port {port} to close after --stop");
        }
        await target.RunsOnAsync("debugpy was stopped twice");
    }

    /// <summary>
    /// WAND_DEBUGPY_ADAPTER=1 (and a debugpy without the in-process adapter) listens through debugpy's adapter
    /// process, as debugpy.listen() does by default; --stop ends that adapter.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AdapterModeListensThroughDebugpysAdapterProcess()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--output", "json"],
            env: new Dictionary<string, string> { ["WAND_DEBUGPY_ADAPTER"] = "1" });
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(JsonDocument.Parse(r.Stdout).RootElement.GetProperty("direct").GetBoolean(), r.Stdout);
        await StopsThroughItsAdapterAndStopEndsItAsync(target.Pid, port);
    }

    /// <summary>
    /// Issue 15, bad input: a debugpy too old for the direct mode (no <c>in_process_debug_adapter</c>, before debugpy
    /// PR 1050) listens through its adapter process with a note, never a hang. The old debugpy is the testbed's own with
    /// the feature deleted (the keyword and its branch in debugpy/server/api.py and debugpy/public_api.py), put first on
    /// the target's PYTHONPATH.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ADebugpyWithoutTheInProcessAdapterListensThroughItsAdapterWithANote()
    {
        var old = $"/tmp/old-debugpy-{Guid.NewGuid():N}"; // not wand-*: other tests look for what wand leaves there
        var debugpy = Testbed.HostPath($"{old}/debugpy");
        CopyTree(Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"), debugpy);
        try
        {
            var api = Path.Combine(debugpy, "server/api.py");
            var text = File.ReadAllText(api);
            var branch = text.IndexOf("    if in_process_debug_adapter:\n", StringComparison.Ordinal);
            var end = text.IndexOf("    import subprocess\n", branch, StringComparison.Ordinal);
            Assert.True(branch > 0 && end > branch, "debugpy/server/api.py changed: its in-process branch was not found");
            text = text.Remove(branch, end - branch).Replace("def listen(address, settrace_kwargs, in_process_debug_adapter=False):", "def listen(address, settrace_kwargs):");
            Assert.DoesNotContain("in_process_debug_adapter", text);
            File.WriteAllText(api, text);
            var publicApi = Path.Combine(debugpy, "public_api.py");
            File.WriteAllText(publicApi, File.ReadAllText(publicApi).Replace(", *, in_process_debug_adapter: bool = False", ""));
            Assert.DoesNotContain("in_process_debug_adapter: bool", File.ReadAllText(publicApi));

            await using var target = TargetProcess.StartPython("3.14", [LoopPath], env: new Dictionary<string, string> { ["PYTHONPATH"] = old });
            await target.WaitUntilRunningAsync();
            var port = TestNet.FreePort();
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--output", "json"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            var endpoint = JsonDocument.Parse(r.Stdout).RootElement;
            Assert.False(endpoint.GetProperty("direct").GetBoolean(), r.Stdout);
            Assert.Contains("no in-process adapter", endpoint.GetProperty("note").GetString());
            Assert.Contains("no in-process adapter", r.Stderr);
            await StopsThroughItsAdapterAndStopEndsItAsync(target.Pid, port);
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(old), recursive: true);
        }
    }

    /// <summary>debugpy listens on <paramref name="port"/> through one adapter process: an editor stops there once in tick(), and --stop ends that adapter.</summary>
    private static async Task StopsThroughItsAdapterAndStopEndsItAsync(int pid, int port)
    {
        Assert.Equal(1, AdapterCount(port));
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await StopsOnceInTickAsync(editor, Testbed.BreakpointLine(LoopPath, "tick"));
            await editor.DisconnectAsync();
        }
        await StopAsync(pid);
        await Eventually.TrueAsync(() => !TestNet.IsListening(port) && AdapterCount(port) == 0, TimeSpan.FromSeconds(20), $"the adapter on port {port} to end");
    }

    /// <summary>The editor's breakpoint in loop.py's tick() stops the target there once; then it is cleared and the target runs on.</summary>
    private static async Task StopsOnceInTickAsync(DapClient editor, int line)
    {
        await editor.AttachAsync(Breakpoint(LoopPath, line));
        var stopped = await editor.WaitForStoppedAsync(StopTimeout);
        Assert.Equal(line, (await editor.StackTraceAsync(stopped.ThreadId))[0].Line);
        await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
        await editor.ContinueAsync(stopped.ThreadId);
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.EnumerateDirectories(from).Where(d => Path.GetFileName(d) != "__pycache__")) CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task EditorCanDisconnectAndReconnect()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        await DebugAsync(target.Pid, port);
        var line = Testbed.BreakpointLine(LoopPath, "tick");
        for (var round = 0; round < 2; round++)
        {
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
            await StopsOnceInTickAsync(editor, line);
            await editor.DisconnectAsync();
        }
        // loop.py prints "ticks N" every 100 ticks: a new line proves it runs on after the editor left.
        await target.RunsOnAsync("the editor left");
        await StopAsync(target.Pid);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TargetWithoutDebugpyAndNoneToBeFound()
    {
        // -S: no site module, so Debian's dist-packages (and its debugpy) are not on sys.path.
        await using var target = TargetProcess.StartPython("3.14", ["-S", "-c", "import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.02)"]);
        await target.WaitForOutputAsync("ready");
        var home = Directory.CreateTempSubdirectory("wand-empty-home-").FullName;
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", TestNet.FreePort().ToString()],
            env: new Dictionary<string, string> { ["HOME"] = home, ["WAND_DEBUGPY"] = "" });
        Assert.Equal(ExitCodes.DebugpyMissing, r.ExitCode);
        Assert.Contains("has no debugpy", r.Stderr);
        Assert.Contains("ms-python.debugpy-*/bundled/libs", r.Stderr); // where it looked
        Assert.Contains("pip install", r.Stderr);                      // the one command that fixes it
        Testbed.AssertNothingLeftBehind();
        Directory.Delete(home, true);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TargetWithoutDebugpyBorrowsOneFromThisMachine()
    {
        await using var target = TargetProcess.StartPython("3.14", ["-S", "-c", "import time\ndef tick(n):\n    return n\nprint('ready', flush=True)\nn = 0\nwhile True:\n    n = tick(n + 1)\n    time.sleep(0.02)"]);
        await target.WaitForOutputAsync("ready");
        // A VS Code-style install on this machine: ~/.vscode/extensions/ms-python.debugpy-*/bundled/libs/debugpy
        var home = Directory.CreateTempSubdirectory("wand-home-").FullName;
        var libs = Path.Combine(home, ".vscode/extensions/ms-python.debugpy-2025.10.0-linux-x64/bundled/libs");
        Directory.CreateDirectory(libs);
        Directory.CreateSymbolicLink(Path.Combine(libs, "debugpy"), Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"));
        try
        {
            var port = TestNet.FreePort();
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--output", "json"],
                env: new Dictionary<string, string> { ["HOME"] = home });
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("ms-python.debugpy", JsonDocument.Parse(r.Stdout).RootElement.GetProperty("copiedFrom").GetString());
            var copy = Assert.Single(Testbed.WandLeftovers()); // the lent copy, in use while debugging
            Assert.StartsWith("wand-lent-", Path.GetFileName(copy));

            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
            {
                await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
                var pause = await editor.RequestAsync("threads");
                Assert.NotEmpty(pause["threads"]!.AsArray());
                await editor.DisconnectAsync();
            }
            await StopAsync(target.Pid);
            Testbed.AssertNothingLeftBehind(); // --stop removed the copy
            Assert.False(target.HasExited);
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task BrokenDebugpyInstallIsReported()
    {
        var broken = Testbed.HostPath($"/srv/broken-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(broken, "debugpy"));
        await File.WriteAllTextAsync(Path.Combine(broken, "debugpy", "__init__.py"), "import _no_such_native_part_of_debugpy\n");
        try
        {
            await using var target = TargetProcess.StartPython("3.14", ["-S", "-c", "import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.02)"],
                env: new Dictionary<string, string> { ["PYTHONPATH"] = broken[Testbed.Root.Length..] });
            await target.WaitForOutputAsync("ready");
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", TestNet.FreePort().ToString()]);
            Assert.Equal(ExitCodes.InjectionFailed, r.ExitCode);
            Assert.Contains("debugpy failed to import", r.Stderr);
            Assert.Contains("_no_such_native_part_of_debugpy", r.Stderr);
            Testbed.AssertNothingLeftBehind();
            Assert.False(target.HasExited);
        }
        finally
        {
            Directory.Delete(broken, true);
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PortTakenByAnotherAppIsReportedWithItsOwnerAndAFreePort()
    {
        await using var squatter = TargetProcess.StartPython("3.14", ["-c", "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nprint('port', s.getsockname()[1], flush=True)\ntime.sleep(120)"]);
        await squatter.WaitForOutputAsync("port");
        var taken = int.Parse(squatter.Stdout.Split(' ')[1]);
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();

        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", taken.ToString()]);
        Assert.Equal(ExitCodes.PortInUse, r.ExitCode);
        Assert.Contains($"port {taken} is in use by PID {squatter.Pid}", r.Stderr);
        Assert.Contains("socket.socket()", r.Stderr); // its command line
        Assert.Contains("--port", r.Stderr);           // the way out
        Assert.True(TestNet.IsListening(taken));       // nothing was killed

        var chosen = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", taken.ToString(), "--yes", "--output", "json"]);
        Assert.True(chosen.ExitCode == 0, chosen.ToString());
        Assert.NotEqual(taken, JsonDocument.Parse(chosen.Stdout).RootElement.GetProperty("port").GetInt32());
        await StopAsync(target.Pid);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TargetExitingWhileDebuggedLeavesNoAdapterBehind()
    {
        var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        await DebugAsync(target.Pid, port);
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        await target.DisposeAsync();
        // The editor learns that the session is over, and nothing lingers on the port: pydevd listens in the
        // target itself (debugpy's in-process adapter), so the connection ends with the process; an adapter
        // process (a debugpy without it) would send "terminated" and wait for the editor's disconnect.
        try
        {
            await editor.WaitForEventAsync("terminated", null, TimeSpan.FromSeconds(30));
            await editor.DisconnectAsync(); // what an editor does on "terminated"
        }
        catch (DapConnectionClosedException)
        {
            // the session ended with the connection
        }
        var events = editor.Events.Select(e => (string?)e["event"]).ToList();
        await Eventually.TrueAsync(() => !TestNet.IsListening(port), TimeSpan.FromSeconds(10), $"port {port} to close", () => "events: " + string.Join(", ", events));
        Assert.Equal(0, AdapterCount(port));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task BlockedMainThreadTimesOutAndNoDebugpyAppearsLater()
    {
        await using var target = TargetProcess.StartPython("3.14", ["-c", "import sys, time\nprint('ready', flush=True)\nsys.stdin.readline()\nprint('resumed', flush=True)\nwhile True: time.sleep(0.02)"]);
        await target.WaitForOutputAsync("ready");
        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--detach", "--pid", target.Pid.ToString(), "--port", port.ToString(), "--timeout", "1"]);
        Assert.Equal(ExitCodes.SafePointTimeout, r.ExitCode);
        Assert.Contains("withdrawn", r.Stderr);
        await target.SendLineAsync("go");
        await target.WaitForOutputAsync("resumed");
        // No fixed wait: CPython runs pending remote scripts in order at the next safe point, so had the
        // withdrawn request stayed, debugpy would have been imported before this exec's code ran.
        var modules = await WandCli.RunAsync(["exec", "--pid", target.Pid.ToString(), "-c", "import sys; print('debugpy' in sys.modules)"]);
        Assert.Equal("False\n", modules.Stdout);
        Assert.False(TestNet.IsListening(port));
        Testbed.AssertNothingLeftBehind();
    }
}
