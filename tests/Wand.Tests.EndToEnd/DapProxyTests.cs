using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Session.Dap;
using Wand.Session.Proxy;
using Wand.Tests.EndToEnd.Infrastructure;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// The DAP proxy in this process in front of real debugpys, started by wand's injector in real
/// Python 3.14 processes of the testbed; the editor is the test's DAP client, connected to the proxy
/// only, and kept connected while the processes behind it change.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class DapProxyTests
{
    private const string LoopPath = "/srv/apps/loop.py";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SafePoint = TimeSpan.FromSeconds(10);

    private static DebugpyInjector Injector(IProgressReporter progress) =>
        new(new PayloadRunner(ProcFs.Default, TimeProvider.System, progress), DebugpyLocator.Default, progress);

    /// <summary>Starts loop.py, starts debugpy in it and returns it with the port debugpy listens on.</summary>
    private static async Task<(TargetProcess Target, int Port)> DebuggedLoopAsync(DebugpyInjector injector)
    {
        var target = TargetProcess.StartPython("3.14", [LoopPath]);
        try
        {
            await target.WaitUntilRunningAsync();
            var endpoint = await injector.StartAsync(target.Pid, "127.0.0.1", TestNet.FreePort(), null, SafePoint, CancellationToken.None);
            return (target, endpoint.Port);
        }
        catch
        {
            await target.DisposeAsync();
            throw;
        }
    }

    private static Func<CancellationToken, Task<Stream>> Connect(int port) => async cancellationToken =>
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new NetworkStream(socket, ownsSocket: true);
    };

    private static string Key(TargetProcess target) => "pid " + target.Pid.ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, IReadOnlyList<int>> TickBreakpoint() => new() { [LoopPath] = [Testbed.BreakpointLine(LoopPath, "tick")] };

    /// <summary>The PID of the process a client is stopped in, asked from its own frame.</summary>
    private static async Task<(int Pid, DapStopped Stopped)> StoppedInAsync(DapClient client)
    {
        var stopped = await client.WaitForStoppedAsync(StopTimeout);
        var frame = (await client.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("tick", LoopPath, Testbed.BreakpointLine(LoopPath, "tick")), (frame.Name, frame.SourcePath, frame.Line));
        var pid = int.Parse(await client.EvaluateAsync("__import__('os').getpid()", frame.Id), CultureInfo.InvariantCulture);
        return (pid, stopped);
    }

    /// <summary>
    /// An editor that supports startDebugging, attached to the proxy: each child session it opens attaches
    /// with the tick breakpoint and then runs <paramref name="child"/>; failures are collected in
    /// <paramref name="problems"/>, except once <paramref name="done"/> says the test is finished with them.
    /// </summary>
    private static async Task<DapClient> ParentSessionAsync(DapProxy proxy, ConcurrentQueue<DapClient> children, ConcurrentQueue<Exception> problems,
        Func<DapClient, Task> child, Func<bool>? done = null)
    {
        var root = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        root.OnStartDebugging(async configuration =>
        {
            try
            {
                var session = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
                children.Enqueue(session);
                await session.AttachAsync(TickBreakpoint(), configuration);
                await child(session);
            }
            catch (Exception e) when (done?.Invoke() != true)
            {
                problems.Enqueue(e);
            }
            catch (Exception)
            {
                // the test is done with this child
            }
        });
        await root.AttachAsync(TickBreakpoint(), null, new JsonObject { ["supportsStartDebuggingRequest"] = true });
        return root;
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheSameEditorSessionStopsInTheNextProcessWithoutANewAttach()
    {
        var progress = new ListProgress();
        var injector = Injector(NullProgress.Instance);
        await using var proxy = DapProxy.Start(0, progress);
        var (a, portA) = await DebuggedLoopAsync(injector);
        TargetProcess? b = null;
        try
        {
            proxy.AddBackend(Key(a), $"PID {a.Pid}", Connect(portA));
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
            var attached = await editor.AttachAsync(TickBreakpoint());
            Assert.True(attached.Breakpoints[LoopPath][0].Verified);
            var (pidA, stoppedA) = await StoppedInAsync(editor);
            Assert.Equal(a.Pid, pidA);

            // The process goes away while the editor is stopped in it; another one takes its place.
            var keyA = Key(a);
            await a.DisposeAsync();
            proxy.RemoveBackend(keyA, $"PID {pidA} was killed");
            var exited = await editor.WaitForEventAsync("thread", e => (string?)e["body"]!["reason"] == "exited", StopTimeout);
            Assert.Equal(stoppedA.ThreadId, (int)exited["body"]!["threadId"]!);

            (b, var portB) = await DebuggedLoopAsync(injector);
            proxy.AddBackend(Key(b), $"PID {b.Pid}", Connect(portB));
            var (pidB, stoppedB) = await StoppedInAsync(editor);
            Assert.Equal(b.Pid, pidB);
            Assert.NotEqual(stoppedA.ThreadId, stoppedB.ThreadId);
            await editor.WaitForEventAsync("output", e => ((string?)e["body"]!["output"] ?? "").Contains($"now debugging PID {b.Pid}", StringComparison.Ordinal), StopTimeout);
            Assert.Contains(progress.Lines, l => l.Contains("breakpoints armed", StringComparison.Ordinal));

            // An id of the killed process is refused, not sent to the new one.
            var stale = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.StackTraceAsync(stoppedA.ThreadId));
            Assert.Contains("replaced", stale.AdapterMessage);

            await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
            await editor.ContinueAsync(stoppedB.ThreadId);
            await editor.DisconnectAsync();
            await editor.Completion.WaitAsync(StopTimeout);

            // The app outlived the editor: loop.py prints a line every 100 ticks.
            await b.RunsOnAsync("the editor left");
            await injector.StopAsync(b.Pid, SafePoint, CancellationToken.None);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nproxy said:\n{string.Join('\n', progress.Lines)}", e);
        }
        finally
        {
            await a.DisposeAsync();
            if (b is not null) await b.DisposeAsync();
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task TwoProcessesAreTwoChildSessionsAndBothStop() => WithTwoDebuggedLoopsAsync(async loops =>
    {
        var (proxy, injector, a, b, children) = loops;

        // An editor that supports startDebugging: each process becomes a child session, stops counted per PID.
        var stops = new ConcurrentDictionary<int, int>();
        var problems = new ConcurrentQueue<Exception>();
        using var enough = new CancellationTokenSource();
        await using var root = await ParentSessionAsync(proxy, children, problems, async child =>
        {
            while (!enough.IsCancellationRequested)
            {
                var (pid, stopped) = await StoppedInAsync(child);
                stops.AddOrUpdate(pid, 1, (_, n) => n + 1);
                await child.ContinueAsync(stopped.ThreadId);
            }
        }, () => enough.IsCancellationRequested);

        await Eventually.TrueAsync(() => !problems.IsEmpty || (stops.GetValueOrDefault(a.Pid) >= 3 && stops.GetValueOrDefault(b.Pid) >= 3), StopTimeout,
            "three stops in each process (or a problem)", () => $"stops per PID: {string.Join(", ", stops.Select(s => $"{s.Key}: {s.Value}"))} (A is {a.Pid}, B is {b.Pid})");
        await enough.CancelAsync();
        Assert.True(problems.IsEmpty, string.Join("\n", problems));
        Assert.True(stops.GetValueOrDefault(a.Pid) >= 3 && stops.GetValueOrDefault(b.Pid) >= 3,
            $"stops per PID: {string.Join(", ", stops.Select(s => $"{s.Key}: {s.Value}"))} (A is {a.Pid}, B is {b.Pid})");
        Assert.Equal(2, stops.Count);
        Assert.Empty((await root.RequestAsync("threads"))["threads"]!.AsArray());

        foreach (var child in children)
        {
            try
            {
                await child.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
                await child.DisconnectAsync();
            }
            catch (DapException)
            {
                // stopped or closed meanwhile: disconnecting below is what matters
            }
        }
        var aRuns = a.RunsOnAsync("the sessions left");
        var bRuns = b.RunsOnAsync("the sessions left");
        await root.DisconnectAsync();
        await Task.WhenAll(aRuns, bRuns);
        await injector.StopAsync(a.Pid, SafePoint, CancellationToken.None);
        await injector.StopAsync(b.Pid, SafePoint, CancellationToken.None);
    });

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnEditorAskingToTerminateOnlyDetachesAndTheNextEditorStopsAgain()
    {
        var progress = new ListProgress();
        var injector = Injector(NullProgress.Instance);
        await using var proxy = DapProxy.Start(0, progress);
        var (a, portA) = await DebuggedLoopAsync(injector);
        try
        {
            proxy.AddBackend(Key(a), $"PID {a.Pid}", Connect(portA));
            for (var round = 0; round < 2; round++)
            {
                await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
                await editor.AttachAsync(TickBreakpoint());
                var (pid, stopped) = await StoppedInAsync(editor);
                Assert.Equal(a.Pid, pid);
                await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() });
                await editor.ContinueAsync(stopped.ThreadId);
                // What VS Code's "Stop" sends for a process it launched; debugpy would end the app if told so.
                await editor.DisconnectAsync(terminateDebuggee: true);
                await editor.Completion.WaitAsync(StopTimeout);
            }
            await a.RunsOnAsync("the editors left");
            await injector.StopAsync(a.Pid, SafePoint, CancellationToken.None);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nproxy said:\n{string.Join('\n', progress.Lines)}", e);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnEditorThatDisconnectsWhileStoppedLeavesTheAppRunning()
    {
        var progress = new ListProgress();
        var injector = Injector(NullProgress.Instance);
        await using var proxy = DapProxy.Start(0, progress);
        var (a, portA) = await DebuggedLoopAsync(injector);
        try
        {
            proxy.AddBackend(Key(a), $"PID {a.Pid}", Connect(portA));
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort))
            {
                await editor.AttachAsync(TickBreakpoint());
                await StoppedInAsync(editor);
                await editor.DisconnectAsync(); // no continue: debugpy resumes the app on disconnect
                await editor.Completion.WaitAsync(StopTimeout);
            }
            await a.RunsOnAsync("the editor left (proxy said:\n" + string.Join('\n', progress.Lines) + ")");
            await injector.StopAsync(a.Pid, SafePoint, CancellationToken.None);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task ChildSessionsThatDisconnectWhileStoppedLeaveTheirProcessesRunning() => WithTwoDebuggedLoopsAsync(async loops =>
    {
        var (proxy, injector, a, b, children) = loops;
        var stopped = new ConcurrentDictionary<int, DapClient>();
        var problems = new ConcurrentQueue<Exception>();
        await using var root = await ParentSessionAsync(proxy, children, problems, async child =>
        {
            var (pid, _) = await StoppedInAsync(child);
            stopped[pid] = child; // and left stopped there
        });
        await Eventually.TrueAsync(() => !problems.IsEmpty || stopped.Count == 2, StopTimeout, "both children to stop (or a problem)", () => $"stopped: {string.Join(", ", stopped.Keys)}");
        Assert.True(problems.IsEmpty, string.Join("\n", problems));
        Assert.Equal([a.Pid, b.Pid], stopped.Keys.Order());

        // Both children go while stopped, without continuing or clearing their breakpoints, then the root.
        var aRuns = a.RunsOnAsync("its child session left");
        var bRuns = b.RunsOnAsync("its child session left");
        foreach (var child in stopped.Values)
        {
            await child.DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(4)); // answered by debugpy, not by the proxy's 5 s fallback
            await child.Completion.WaitAsync(StopTimeout);
        }
        await root.DisconnectAsync();
        await Task.WhenAll(aRuns, bRuns);
        Assert.Empty(proxy.ChildSessions);
        await injector.StopAsync(a.Pid, SafePoint, CancellationToken.None);
        await injector.StopAsync(b.Pid, SafePoint, CancellationToken.None);
    });

    /// <summary>Two loop.py processes with debugpy, both added to a new proxy, for <paramref name="body"/>; its child sessions are closed afterwards.</summary>
    private sealed record TwoLoops(DapProxy Proxy, DebugpyInjector Injector, TargetProcess A, TargetProcess B, ConcurrentQueue<DapClient> Children);

    private static async Task WithTwoDebuggedLoopsAsync(Func<TwoLoops, Task> body)
    {
        var progress = new ListProgress();
        var injector = Injector(NullProgress.Instance);
        await using var proxy = DapProxy.Start(0, progress);
        var (a, portA) = await DebuggedLoopAsync(injector);
        TargetProcess? b = null;
        var children = new ConcurrentQueue<DapClient>();
        try
        {
            (b, var portB) = await DebuggedLoopAsync(injector);
            proxy.AddBackend(Key(a), $"PID {a.Pid}", Connect(portA));
            proxy.AddBackend(Key(b), $"PID {b.Pid}", Connect(portB));
            await body(new TwoLoops(proxy, injector, a, b, children));
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nproxy said:\n{string.Join('\n', progress.Lines)}", e);
        }
        finally
        {
            foreach (var child in children) await child.DisposeAsync();
            await a.DisposeAsync();
            if (b is not null) await b.DisposeAsync();
        }
    }

    private sealed class ListProgress : IProgressReporter
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public void Step(string message) => _lines.Enqueue(message);
    }
}
