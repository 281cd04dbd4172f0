using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 13, defect 4: <c>wand debug --detach</c>, an editor that stops at a breakpoint, then
/// <c>--stop</c>: the target is as it was before the attach (<see cref="TargetSnapshot"/>).
/// debugpy's imported modules stay (README).
/// </summary>
[Collection(TargetRootCollection.Name)]
public class StopLeavesNoTraceTests
{
    private const string LoopPath = "/srv/apps/loop.py";

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
            var before = await TargetSnapshot.TakeAsync(target.Pid);

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

            await TargetSnapshot.AssertAsBeforeAsync(target.Pid, before, TimeSpan.FromSeconds(20));
            Assert.False(target.HasExited);
            Testbed.AssertNothingLeftBehind();
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
        await Eventually.TrueAsync(() => !TestNet.IsListening(port), TimeSpan.FromSeconds(20), $"wand's adapter on port {port} to end");
        Assert.False(foreign.HasExited, "--stop ended another process's adapter");
    }
}
