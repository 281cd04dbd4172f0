using System.Net;
using System.Net.Sockets;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// wand's DAP client as "the editor" against a real debugpy 1.8 in a real Python 3.14 (testbed rootfs):
/// the whole attach handshake, a breakpoint hit twice, inspection, then a second client attaching again.
/// </summary>
public class DapClientTests
{
    private const string LoopPath = "/srv/apps/loop.py";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 120_000)]
    public async Task AttachesBreaksInspectsContinuesAndAnotherClientCanAttachAgain()
    {
        var tickLine = BreakpointLine(LoopPath, "tick");
        var port = FreePort();
        // debugpy is started by the target itself; its "listening" line is the readiness signal. The port is
        // never probed with a bare connect: that stalls debugpy's next client for 30 s (../shared/design/TESTBED.md).
        await using var target = TargetProcess.StartPython("3.14", ["-c", $"""
            import debugpy, runpy
            debugpy.listen(("127.0.0.1", {port}))
            print("listening", flush=True)
            runpy.run_path("{LoopPath}", run_name="__main__")
            """]);
        await target.WaitForOutputAsync("listening");
        var breakpoints = new Dictionary<string, IReadOnlyList<int>> { [LoopPath] = [tickLine] };

        var lastN = -1;
        await using (var client = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await WithDiagnosticsAsync(target, client, async () =>
            {
                var attached = await client.AttachAsync(breakpoints, null);
                var breakpoint = Assert.Single(attached.Breakpoints[LoopPath]);
                Assert.True(breakpoint.Verified, breakpoint.Message);
                Assert.Equal(tickLine, breakpoint.Line);
                Assert.True((bool?)attached.Capabilities["supportsConfigurationDoneRequest"]);

                var stopped = await client.WaitForStoppedAsync(StopTimeout);
                Assert.Equal("breakpoint", stopped.Reason);
                var top = (await client.StackTraceAsync(stopped.ThreadId))[0];
                Assert.Equal("tick", top.Name);
                Assert.Equal(LoopPath, top.SourcePath);
                Assert.Equal(tickLine, top.Line);

                var locals = (await client.ScopesAsync(top.Id)).First(s => s.Name == "Locals");
                var n = (await client.VariablesAsync(locals.VariablesReference)).Single(v => v.Name == "n");
                Assert.Equal("int", n.Type);
                var firstN = int.Parse(n.Value);
                Assert.Equal((firstN * 10).ToString(), await client.EvaluateAsync("n * 10", top.Id));
                var failed = await Assert.ThrowsAsync<DapRequestFailedException>(() => client.EvaluateAsync("no_such_name", top.Id));
                Assert.Equal("evaluate", failed.Command);
                Assert.Contains("no_such_name", failed.AdapterMessage);

                await client.ContinueAsync(stopped.ThreadId);
                var again = await client.WaitForStoppedAsync(StopTimeout);
                Assert.Equal("breakpoint", again.Reason);
                lastN = await CurrentNAsync(client, again.ThreadId);
                Assert.True(lastN > firstN, $"n went from {firstN} to {lastN}");

                await client.DisconnectAsync(terminateDebuggee: false);
            });
        }

        await target.RunsOnAsync("a disconnect without terminateDebuggee");

        // debugpy keeps listening after a client leaves: a new client attaches and breaks again.
        await using (var client = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await WithDiagnosticsAsync(target, client, async () =>
            {
                await client.AttachAsync(breakpoints, null);
                var stopped = await client.WaitForStoppedAsync(StopTimeout);
                Assert.Equal("breakpoint", stopped.Reason);
                var n = await CurrentNAsync(client, stopped.ThreadId);
                Assert.True(n > lastN, $"n went from {lastN} to {n}");
                await client.DisconnectAsync(terminateDebuggee: false);
            });
        }

        await target.RunsOnAsync("the second disconnect");
    }

    /// <summary>The value of <c>n</c> in the top frame of a thread stopped in <c>tick</c>.</summary>
    private static async Task<int> CurrentNAsync(DapClient client, int threadId)
    {
        var top = (await client.StackTraceAsync(threadId))[0];
        Assert.Equal("tick", top.Name);
        return int.Parse(await client.EvaluateAsync("n", top.Id));
    }

    /// <summary>The 1-based line marked <c># BREAKPOINT: name</c> in a testbed app, read from the host's view of the rootfs.</summary>
    private static int BreakpointLine(string pathInRootfs, string name)
    {
        Testbed.EnsureReady();
        var lines = File.ReadAllLines(Testbed.HostPath(pathInRootfs));
        var index = Array.FindIndex(lines, l => l.TrimEnd().EndsWith($"# BREAKPOINT: {name}", StringComparison.Ordinal));
        Assert.True(index >= 0, $"no '# BREAKPOINT: {name}' line in {pathInRootfs}");
        return index + 1;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a scenario; if it fails, the failure carries the DAP events and the debuggee's output.</summary>
    private static async Task WithDiagnosticsAsync(TargetProcess target, DapClient client, Func<Task> scenario)
    {
        try
        {
            await scenario();
        }
        catch (Exception ex)
        {
            var events = string.Join("\n", client.Events.Select(e => e.ToJsonString()).TakeLast(40));
            throw new InvalidOperationException(
                $"{ex.GetType().Name}: {ex.Message}\n--- DAP events\n{events}\n--- target stdout\n{target.Stdout}\n--- target stderr\n{target.Stderr}", ex);
        }
    }
}
