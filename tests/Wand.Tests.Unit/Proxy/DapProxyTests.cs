using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Session.Proxy;
using Xunit;

namespace Wand.Tests.Unit.Proxy;

/// <summary>The DAP proxy between a real TCP editor connection (the test's DAP client) and fake debugpys.</summary>
public class DapProxyTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);
    private const string AppFile = "/srv/app/app.py";

    private static Dictionary<string, IReadOnlyList<int>> Breakpoints(params int[] lines) => new() { [AppFile] = lines };

    private static async Task<(DapProxy Proxy, FakeDebugpy A, RecordingProgress Progress)> StartWithAAsync(DapProxyOptions? options = null)
    {
        var progress = new RecordingProgress();
        var proxy = DapProxy.Start(0, progress, options);
        var a = new FakeDebugpy("A");
        proxy.AddBackend("pid 1", "process A", a.ConnectAsync);
        await Task.CompletedTask;
        return (proxy, a, progress);
    }

    private static async Task<DapClient> AttachedEditorAsync(DapProxy proxy, params int[] lines)
    {
        var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        await editor.AttachAsync(Breakpoints(lines));
        return editor;
    }

    private static Task<JsonObject> OutputAsync(DapClient editor, string contains) =>
        editor.WaitForEventAsync("output", e => ((string?)e["body"]?["output"] ?? "").Contains(contains, StringComparison.Ordinal), Long);

    private static async Task<FakeDebugpy.Session> ConfiguredSessionAsync(FakeDebugpy backend)
    {
        await Eventually.TrueAsync(() => backend.Sessions.Any(s => s.Commands.Contains("configurationDone")), Long,
            $"{backend.Key} to be configured", () => $"sessions: {string.Join(" | ", backend.Sessions.Select(s => string.Join(",", s.Commands)))}");
        return backend.Sessions.Last(s => s.Commands.Contains("configurationDone"));
    }

    [Fact(Timeout = 30000)]
    public async Task SequenceNumbersAreRewrittenOnEachSide()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await RawEditor.ConnectAsync(proxy.LocalPort);

        await editor.SendRequestAsync(500, "initialize", DapSession.InitializeArguments(new JsonObject { ["supportsStartDebuggingRequest"] = true }));
        var (initialize, _) = await editor.ReadResponseAsync(500);
        Assert.True((bool)initialize["success"]!);
        Assert.Equal("A", (string?)initialize["body"]!["fakeBackend"]);
        var backend = await a.NextSessionAsync(0);
        var forwarded = await backend.WaitForRequestAsync("initialize");
        Assert.Equal(1, (int)forwarded["seq"]!);
        Assert.False((bool)forwarded["arguments"]!["supportsStartDebuggingRequest"]!); // the proxy answers reverse requests itself

        await editor.SendRequestAsync(900, "attach", DapSession.AttachArguments());
        var initialized = await editor.ReadAsync();
        Assert.Equal("initialized", (string?)initialized!["event"]);
        await editor.SendRequestAsync(901, "configurationDone");
        var (done, _) = await editor.ReadResponseAsync(901);
        var (attach, _) = await editor.ReadResponseAsync(900);
        Assert.True((bool)attach["success"]!);

        // The backend saw its own numbering; the editor saw the proxy's, never the backend's 5000s.
        Assert.Equal([1, 2, 3], backend.Received.Select(m => (int)m["seq"]!));
        Assert.Equal([1, 2, 3, 4], new[] { initialize, initialized, done, attach }.Select(m => (int)m["seq"]!));
        Assert.Equal("configurationDone", (string?)done["command"]);
    }

    [Fact(Timeout = 30000)]
    public async Task ABackendSwitchReplaysTheConfigurationAndTheNextStopArrivesInTheSameSession()
    {
        var (proxy, a, progress) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        var attached = await editor.AttachAsync(Breakpoints(3, 5), new JsonObject { ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = "/here", ["remoteRoot"] = "/srv/app" }) });
        Assert.True(attached.Breakpoints[AppFile].All(b => b.Verified));
        await editor.RequestAsync("setFunctionBreakpoints", new JsonObject { ["breakpoints"] = new JsonArray(new JsonObject { ["name"] = "tick" }) });
        await editor.RequestAsync("setExceptionBreakpoints", new JsonObject { ["filters"] = new JsonArray("raised") });

        var first = await a.NextSessionAsync(0);
        await first.StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId)).Single();
        Assert.Equal("tick in A", frame.Name);
        var locals = (await editor.ScopesAsync(frame.Id)).Single();
        Assert.Contains(await editor.VariablesAsync(locals.VariablesReference), v => v.Name == "backend" && v.Value == "'A'");

        proxy.RemoveBackend("pid 1", "PID 1 exited");
        var exited = await editor.WaitForEventAsync("thread", e => (string?)e["body"]!["reason"] == "exited", Long);
        Assert.Equal(stopped.ThreadId, (int)exited["body"]!["threadId"]!);
        await OutputAsync(editor, "process A went away (PID 1 exited)");

        var b = new FakeDebugpy("B") { BreakpointIdBase = 40 };
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        var replayed = await ConfiguredSessionAsync(b);
        await OutputAsync(editor, "now debugging process B");
        Assert.Equal(["initialize", "attach", "setBreakpoints", "setExceptionBreakpoints", "setFunctionBreakpoints", "configurationDone"], replayed.Commands);
        Assert.DoesNotContain(editor.Events, e => (string?)e["event"] == "breakpoint"); // verified before and after: nothing to say
        var replayedAttach = (await replayed.WaitForRequestAsync("attach"))["arguments"]!;
        Assert.Equal("/srv/app", (string?)replayedAttach["pathMappings"]![0]!["remoteRoot"]);
        Assert.Equal([3, 5], (await replayed.WaitForRequestAsync("setBreakpoints"))["arguments"]!["breakpoints"]!.AsArray().Select(x => (int)x!["line"]!));
        Assert.Equal("raised", (string?)(await replayed.WaitForRequestAsync("setExceptionBreakpoints"))["arguments"]!["filters"]![0]);
        Assert.Contains(progress.Lines, l => l.Contains("breakpoints armed", StringComparison.Ordinal));

        // The same editor session, no new attach: the next stop comes from B under new ids, except for
        // the breakpoint, which keeps the id the editor knows (B numbers it differently).
        await replayed.StoppedAsync(breakpointId: 42);
        var stoppedEvent = await editor.WaitForEventAsync("stopped", null, Long);
        Assert.Equal(attached.Breakpoints[AppFile][1].Id, (int)stoppedEvent["body"]!["hitBreakpointIds"]![0]!);
        var again = new DapStopped((int)stoppedEvent["body"]!["threadId"]!, "breakpoint", null, true);
        Assert.NotEqual(stopped.ThreadId, again.ThreadId);
        var frameB = (await editor.StackTraceAsync(again.ThreadId)).Single();
        Assert.Equal("tick in B", frameB.Name);
        Assert.NotEqual(frame.Id, frameB.Id);
        var localsB = (await editor.ScopesAsync(frameB.Id)).Single();
        Assert.NotEqual(locals.VariablesReference, localsB.VariablesReference);
        Assert.Contains(await editor.VariablesAsync(localsB.VariablesReference), v => v.Name == "backend" && v.Value == "'B'");
        // The replay's own responses never reached the editor: no response was left unclaimed, no second initialized.
        Assert.Single(editor.Events, e => (string?)e["event"] == "initialized");
    }

    [Theory(Timeout = 30000)]
    [InlineData(null, true)]
    [InlineData(false, false)]
    public async Task AttachTellsDebugpyToIgnoreAReloadersExitUnlessTheEditorSaysOtherwise(bool? editorsFlask, bool expected)
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        await editor.AttachAsync(Breakpoints(3), editorsFlask is { } flask ? new JsonObject { ["flask"] = flask } : null);
        Assert.Equal(expected, (bool)(await (await a.NextSessionAsync(0)).WaitForRequestAsync("attach"))["arguments"]!["flask"]!);

        // The replayed attach of the next process says the same.
        proxy.RemoveBackend("pid 1", "PID 1 exited");
        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        var replayed = await ConfiguredSessionAsync(b);
        Assert.Equal(expected, (bool)(await replayed.WaitForRequestAsync("attach"))["arguments"]!["flask"]!);
    }

    [Fact(Timeout = 30000)]
    public async Task IdsOfAReplacedProcessAreRefusedAndNeverReachTheNextOne()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        await (await a.NextSessionAsync(0)).StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId)).Single();
        var scope = (await editor.ScopesAsync(frame.Id)).Single();
        var nested = (await editor.VariablesAsync(scope.VariablesReference)).Single(v => v.Name == "items");

        proxy.RemoveBackend("pid 1", "PID 1 exited");
        // While there is no process: refused at once, not queued.
        var during = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.StackTraceAsync(stopped.ThreadId));
        Assert.Contains("process A, which was replaced", during.AdapterMessage);

        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        var session = await ConfiguredSessionAsync(b);
        await OutputAsync(editor, "now debugging process B");
        await session.StoppedAsync();
        await editor.WaitForStoppedAsync(Long);

        foreach (var call in new Func<Task>[]
        {
            () => editor.StackTraceAsync(stopped.ThreadId),
            () => editor.ScopesAsync(frame.Id),
            () => editor.VariablesAsync(scope.VariablesReference),
            () => editor.VariablesAsync(nested.VariablesReference),
            () => editor.EvaluateAsync("x", frame.Id),
            () => editor.ContinueAsync(stopped.ThreadId),
        })
        {
            var ex = await Assert.ThrowsAsync<DapRequestFailedException>(call);
            Assert.Contains("replaced", ex.AdapterMessage);
        }
        var unknown = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.StackTraceAsync(4242));
        Assert.Contains("unknown thread 4242", unknown.AdapterMessage);
        Assert.DoesNotContain(session.Commands, c => c is "stackTrace" or "scopes" or "variables" or "evaluate" or "continue");
    }

    [Fact(Timeout = 30000)]
    public async Task RequestsDuringASwitchAreAnsweredHereQueuedOrTimedOutNeverLeftHanging()
    {
        var (proxy, a, _) = await StartWithAAsync(new DapProxyOptions { RequestWaitTimeout = TimeSpan.FromSeconds(1), BackendWaitTimeout = TimeSpan.FromSeconds(30) });
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        var first = await a.NextSessionAsync(0);
        first.Unanswered.Add("evaluate");
        var unanswered = editor.RequestAsync("evaluate", new JsonObject { ["expression"] = "slow()" });
        await first.WaitForRequestAsync("evaluate");

        proxy.RemoveBackend("pid 1", "worker replaced");
        var lost = await Assert.ThrowsAsync<DapRequestFailedException>(() => unanswered.WaitAsync(Long));
        Assert.Contains("went away before answering", lost.AdapterMessage);

        // Configuration is recorded and answered here; threads has none; others wait, within bounds.
        var set = await editor.RequestAsync("setBreakpoints", new JsonObject
        {
            ["source"] = new JsonObject { ["path"] = AppFile },
            ["breakpoints"] = new JsonArray(new JsonObject { ["line"] = 7 }, new JsonObject { ["line"] = 9 }),
        });
        Assert.All(set["breakpoints"]!.AsArray(), b => Assert.False((bool)b!["verified"]!));
        var pendingIds = set["breakpoints"]!.AsArray().Select(b => (int)b!["id"]!).ToList();
        Assert.Empty((await editor.RequestAsync("threads"))["threads"]!.AsArray());
        var timedOut = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.RequestAsync("evaluate", new JsonObject { ["expression"] = "1" }).WaitAsync(Long));
        Assert.Contains("being replaced", timedOut.AdapterMessage);

        var queued = editor.RequestAsync("evaluate", new JsonObject { ["expression"] = "1+1" });
        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        Assert.Equal("B:1+1", (string?)(await queued.WaitAsync(Long))["result"]);
        var replayed = await ConfiguredSessionAsync(b);
        // What was set during the switch is what the new process got.
        Assert.Equal([7, 9], (await replayed.WaitForRequestAsync("setBreakpoints"))["arguments"]!["breakpoints"]!.AsArray().Select(x => (int)x!["line"]!));
        // The editor learns that the breakpoints it was told were pending are verified now, under their ids.
        foreach (var id in pendingIds)
        {
            var changed = await editor.WaitForEventAsync("breakpoint", e => (int?)e["body"]!["breakpoint"]!["id"] == id, Long);
            Assert.Equal("changed", (string?)changed["body"]!["reason"]);
            Assert.True((bool)changed["body"]!["breakpoint"]!["verified"]!);
        }
    }

    [Fact(Timeout = 30000)]
    public async Task WhenNoProcessComesBackTheEditorIsToldWhyAndTheSessionTerminates()
    {
        var (proxy, _, _) = await StartWithAAsync(new DapProxyOptions { BackendWaitTimeout = TimeSpan.FromMilliseconds(500) });
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);

        proxy.RemoveBackend("pid 1", "pod web-1 was deleted");
        await editor.WaitForEventAsync("terminated", null, Long);
        var said = await OutputAsync(editor, "no process to debug came back within 0.5 s");
        Assert.Contains("pod web-1 was deleted", (string)said["body"]!["output"]!);
        var after = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.RequestAsync("threads"));
        Assert.Contains("has ended", after.AdapterMessage);
        await editor.DisconnectAsync();
        await editor.Completion.WaitAsync(Long);
    }

    [Fact(Timeout = 30000)]
    public async Task AnEditorThatLeavesNeverEndsTheAppAndTheNextOneAttachesAfresh()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using (var editor = await AttachedEditorAsync(proxy, 3))
        {
            await editor.RequestAsync("disconnect", new JsonObject { ["terminateDebuggee"] = true });
            await editor.Completion.WaitAsync(Long);
        }
        var first = await a.NextSessionAsync(0);
        var disconnect = await first.WaitForRequestAsync("disconnect");
        Assert.False((bool)disconnect["arguments"]!["terminateDebuggee"]!);

        // A second editor, which then vanishes without a word: debugpy is still told to detach, not to terminate.
        await using (var again = await AttachedEditorAsync(proxy, 5))
        {
            Assert.Single(await again.RequestAsync("threads") is { } t ? t["threads"]!.AsArray() : []);
        }
        var second = await a.NextSessionAsync(1);
        Assert.Equal(["initialize", "attach", "setBreakpoints", "setExceptionBreakpoints", "configurationDone", "threads", "disconnect"], (await WhenAsync(second, "disconnect")).Commands);
        Assert.False((bool)(await second.WaitForRequestAsync("disconnect"))["arguments"]!["terminateDebuggee"]!);
        await Eventually.TrueAsync(() => proxy.EditorCount == 0, Long, "the proxy to let go of the editor");
    }

    [Theory(Timeout = 30000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ADisconnectThatTheGoneProcessNeverAnsweredSucceeds(bool removed)
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        var session = await a.NextSessionAsync(0);
        session.Unanswered.Add("disconnect");
        var disconnect = await editor.SendRequestAsync("disconnect", new JsonObject { ["terminateDebuggee"] = false });
        await session.WaitForRequestAsync("disconnect");

        // The process goes away with the editor's disconnect unanswered: the editor was leaving anyway.
        if (removed) proxy.RemoveBackend("pid 1", "PID 1 exited");
        else await session.CloseAsync();
        Assert.NotNull(await disconnect.WaitAsync(Long));
        await editor.Completion.WaitAsync(Long);
        await Eventually.TrueAsync(() => proxy.EditorCount == 0, Long, "the proxy to let go of the editor");
    }

    private static async Task<FakeDebugpy.Session> WhenAsync(FakeDebugpy.Session session, string command)
    {
        await session.WaitForRequestAsync(command);
        return session;
    }

    [Theory(Timeout = 30000)]
    [InlineData("Content-Length: abc\r\n\r\n{}", "invalid Content-Length")]
    [InlineData("Content-Length: 5\r\n\r\n{oops", "not valid JSON")]
    [InlineData("Content-Length: 100000000\r\n\r\n", "exceeds the limit of 4096 bytes")]
    [InlineData("Content-Length: 2\r\n\r\n[]", "not an object")]
    public async Task AMalformedFrameFromAnEditorClosesOnlyThatConnection(string garbage, string logged)
    {
        var (proxy, _, progress) = await StartWithAAsync(new DapProxyOptions { MaxMessageBytes = 4096 });
        await using var _ = proxy;
        await using var good = await AttachedEditorAsync(proxy, 3);

        await using (var bad = await RawEditor.ConnectAsync(proxy.LocalPort))
        {
            await bad.SendRawAsync(garbage);
            await bad.ReadToEndAsync(); // returns: the proxy closed it
        }
        Assert.Contains(progress.Lines, l => l.Contains("the editor broke the protocol", StringComparison.Ordinal) && l.Contains(logged, StringComparison.Ordinal));
        Assert.Single((await good.RequestAsync("threads"))["threads"]!.AsArray());
    }

    [Theory(Timeout = 30000)]
    [InlineData("Content-Length: -3\r\n\r\n")]
    [InlineData("Content-Length: 3\r\n\r\nxyz")]
    [InlineData("Content-Length: 100000000\r\n\r\n")]
    public async Task AMalformedFrameFromABackendClosesThatBackendAndTheSessionMovesOn(string garbage)
    {
        var (proxy, a, progress) = await StartWithAAsync(new DapProxyOptions { MaxMessageBytes = 4096 });
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        var first = await a.NextSessionAsync(0);
        await first.SendRawAsync(garbage);

        await OutputAsync(editor, "its debugpy broke the protocol");
        await first.Ended.WaitAsync(Long);
        Assert.Contains(progress.Lines, l => l.Contains("process A went away", StringComparison.Ordinal));

        // The process itself may still be there, but its broken connection is not retried; the next one is used.
        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        await (await ConfiguredSessionAsync(b)).StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        Assert.Equal("tick in B", (await editor.StackTraceAsync(stopped.ThreadId)).Single().Name);
    }

    [Fact(Timeout = 30000)]
    public async Task ASecondEditorIsRefusedWithAMessageAndTheFirstGoesOn()
    {
        var (proxy, _, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var first = await AttachedEditorAsync(proxy, 3);

        await using (var second = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort))
        {
            var refused = await Assert.ThrowsAsync<DapRequestFailedException>(() => second.RequestAsync("initialize", DapSession.InitializeArguments()));
            Assert.Contains("another editor is already debugging through wand", refused.AdapterMessage);
            await OutputAsync(second, "another editor");
            await second.Completion.WaitAsync(Long);
        }
        Assert.Single((await first.RequestAsync("threads"))["threads"]!.AsArray());

        await first.DisconnectAsync();
        await first.Completion.WaitAsync(Long);
        await using var third = await AttachedEditorAsync(proxy, 3);
        Assert.Single((await third.RequestAsync("threads"))["threads"]!.AsArray());
    }

    [Fact(Timeout = 30000)]
    public async Task EveryBackendBecomesAChildSessionIncludingOnesAddedLaterAndRemovedOnesTerminate()
    {
        var progress = new RecordingProgress();
        await using var proxy = DapProxy.Start(0, progress);
        var backends = new[] { new FakeDebugpy("A"), new FakeDebugpy("B"), new FakeDebugpy("C") };
        proxy.AddBackend("pid 1", "worker A", backends[0].ConnectAsync);
        proxy.AddBackend("pid 2", "worker B", backends[1].ConnectAsync);

        var children = new ConcurrentDictionary<string, DapClient>();
        var problems = new ConcurrentQueue<Exception>();
        await using var root = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        root.OnStartDebugging(async configuration =>
        {
            try
            {
                var child = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
                children[(string)configuration["__wandBackend"]!] = child;
                await child.AttachAsync(Breakpoints(3), configuration);
            }
            catch (Exception e)
            {
                problems.Enqueue(e);
            }
        });
        var mappings = new JsonObject { ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = "/here", ["remoteRoot"] = "/srv/app" }) };
        await root.AttachAsync(Breakpoints(3), mappings, new JsonObject { ["supportsStartDebuggingRequest"] = true });

        var a = await ConfiguredSessionAsync(backends[0]);
        var b = await ConfiguredSessionAsync(backends[1]);
        Assert.Empty(problems);
        var attachA = (await a.WaitForRequestAsync("attach"))["arguments"]!.AsObject();
        Assert.False(attachA.ContainsKey("__wandBackend"));
        Assert.Equal("/srv/app", (string?)attachA["pathMappings"]![0]!["remoteRoot"]);
        Assert.Empty((await root.RequestAsync("threads"))["threads"]!.AsArray());
        await Assert.ThrowsAsync<DapRequestFailedException>(() => root.RequestAsync("pause", new JsonObject { ["threadId"] = 1 }));

        // A stop in each process reaches that process's own session.
        await a.StoppedAsync();
        await b.StoppedAsync();
        foreach (var (key, name) in new[] { ("pid 1", "tick in A"), ("pid 2", "tick in B") })
        {
            var child = children[key];
            var stopped = await child.WaitForStoppedAsync(Long);
            Assert.Equal(name, (await child.StackTraceAsync(stopped.ThreadId)).Single().Name);
        }

        // A process that appears later joins the same editor session.
        proxy.AddBackend("pid 3", "worker C", backends[2].ConnectAsync);
        var c = await ConfiguredSessionAsync(backends[2]);
        await c.StoppedAsync();
        await Eventually.TrueAsync(() => children.ContainsKey("pid 3"), Long, "a child session for pid 3");
        var stoppedC = await children["pid 3"].WaitForStoppedAsync(Long);
        Assert.Equal("tick in C", (await children["pid 3"].StackTraceAsync(stoppedC.ThreadId)).Single().Name);
        Assert.Equal(["pid 1", "pid 2", "pid 3"], proxy.ChildSessions.Order());

        // A process that goes away ends its own child session only.
        proxy.RemoveBackend("pid 1", "worker A exited");
        await children["pid 1"].WaitForEventAsync("terminated", null, Long);
        await OutputAsync(children["pid 1"], "worker A exited");
        Assert.Single((await children["pid 2"].RequestAsync("threads"))["threads"]!.AsArray());
        Assert.DoesNotContain(children["pid 2"].Events, e => (string?)e["event"] == "terminated");
        Assert.Empty(problems);
        foreach (var child in children.Values) await child.DisposeAsync();
    }

    [Fact(Timeout = 30000)]
    public async Task AParentSessionThatEndsTakesItsChildrenAlongAndTheNextEditorGetsThemAgain()
    {
        await using var proxy = DapProxy.Start(0, new RecordingProgress());
        var backends = new[] { new FakeDebugpy("A"), new FakeDebugpy("B") };
        proxy.AddBackend("pid 1", "worker A", backends[0].ConnectAsync);
        proxy.AddBackend("pid 2", "worker B", backends[1].ConnectAsync);

        for (var round = 0; round < 2; round++)
        {
            var children = new ConcurrentDictionary<string, DapClient>();
            var root = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
            root.OnStartDebugging(async configuration =>
            {
                var child = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
                children[(string)configuration["__wandBackend"]!] = child;
                await child.AttachAsync(Breakpoints(3), configuration);
            });
            await root.AttachAsync(Breakpoints(3), null, new JsonObject { ["supportsStartDebuggingRequest"] = true });
            await Eventually.TrueAsync(() => proxy.ChildSessions.Count >= 2, Long, "two child sessions");
            Assert.Equal(["pid 1", "pid 2"], proxy.ChildSessions.Order());
            // Each process's debugpy has this round's child session (the first editor's initialize also used one of them).
            var sessions = new List<FakeDebugpy.Session>();
            foreach (var backend in backends)
            {
                await Eventually.TrueAsync(() => backend.Sessions.Count(s => s.Commands.Contains("configurationDone")) > round, Long, $"{backend.Key}'s session of round {round} to be configured");
                sessions.Add(backend.Sessions.Where(s => s.Commands.Contains("configurationDone")).ElementAt(round));
            }

            // Only the parent disconnects (an editor that crashed, or one that ends its children with it).
            await root.DisconnectAsync();
            foreach (var child in children.Values)
            {
                await child.WaitForEventAsync("terminated", null, Long);
                await child.Completion.WaitAsync(Long);
                await child.DisposeAsync();
            }
            foreach (var session in sessions)
                Assert.False((bool)(await session.WaitForRequestAsync("disconnect"))["arguments"]!["terminateDebuggee"]!);
            await Eventually.TrueAsync(() => proxy.EditorCount == 0, Long, "the proxy to let go of the editor");
            await root.DisposeAsync();
        }
    }

    [Fact(Timeout = 30000)]
    public async Task AnEditorWithoutStartDebuggingGetsTheMostRecentProcessAlone()
    {
        var progress = new RecordingProgress();
        await using var proxy = DapProxy.Start(0, progress, new DapProxyOptions { AllBackends = true });
        var a = new FakeDebugpy("A");
        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 1", "worker A", a.ConnectAsync);
        proxy.AddBackend("pid 2", "worker B", b.ConnectAsync);
        await using var editor = await AttachedEditorAsync(proxy, 3);
        await (await ConfiguredSessionAsync(b)).StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        Assert.Equal("tick in B", (await editor.StackTraceAsync(stopped.ThreadId)).Single().Name);
        Assert.Empty(a.Sessions);
    }

    [Fact(Timeout = 30000)]
    public async Task ReverseRequestsFromABackendAreRefusedAndNeverReachTheEditor()
    {
        var (proxy, a, progress) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        var reached = false;
        editor.OnReverseRequest("runInTerminal", _ => { reached = true; return Task.FromResult<JsonObject?>(null); });
        editor.OnReverseRequest("startDebugging", _ => { reached = true; return Task.FromResult<JsonObject?>(null); });
        var session = await a.NextSessionAsync(0);

        foreach (var command in new[] { "runInTerminal", "startDebugging" })
        {
            await session.SendAsync(new JsonObject { ["type"] = "request", ["command"] = command, ["arguments"] = new JsonObject { ["args"] = new JsonArray("rm", "-rf", "/") } });
            var answer = await session.WaitForAsync(m => (string?)m["type"] == "response" && (string?)m["command"] == command);
            Assert.False((bool)answer["success"]!);
            Assert.Contains($"does not forward the reverse request '{command}'", (string)answer["message"]!);
        }
        Assert.False(reached);
        Assert.Contains(progress.Lines, l => l.Contains("refused the reverse request 'runInTerminal'", StringComparison.Ordinal));
        Assert.Single((await editor.RequestAsync("threads"))["threads"]!.AsArray());
    }

    [Fact(Timeout = 30000)]
    public async Task TerminateIsAnsweredHereAndNeverReachesTheProcess()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        await editor.RequestAsync("terminate", new JsonObject { ["restart"] = false });
        await editor.WaitForEventAsync("terminated", null, Long);
        await editor.DisconnectAsync();
        var session = await a.NextSessionAsync(0);
        await session.WaitForRequestAsync("disconnect");
        Assert.DoesNotContain("terminate", session.Commands);
    }

    [Fact(Timeout = 30000)]
    public async Task ANewProcessAddedBeforeTheOldOneGoesIsUsedOnceItGoes()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        Assert.Single((await editor.RequestAsync("threads"))["threads"]!.AsArray());
        Assert.Empty(b.Sessions); // the editor stays on A while A is there

        proxy.RemoveBackend("pid 1", "worker recycled");
        await OutputAsync(editor, "continuing on process B");
        var session = await ConfiguredSessionAsync(b);
        await session.StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        Assert.Equal("tick in B", (await editor.StackTraceAsync(stopped.ThreadId)).Single().Name);
        Assert.Equal(["pid 2"], proxy.Backends);
        Assert.Single(a.Sessions);
    }

    [Fact(Timeout = 30000)]
    public async Task AnUnreachableBackendIsReportedAndTheSessionWaitsForTheNext()
    {
        var (proxy, _, progress) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await AttachedEditorAsync(proxy, 3);
        proxy.RemoveBackend("pid 1", "gone");
        proxy.AddBackend("pid 9", "process Z", _ => throw new IOException("connection refused"));
        await OutputAsync(editor, "wand could not debug process Z (connection refused)");
        Assert.Contains(progress.Lines, l => l.Contains("could not use process Z", StringComparison.Ordinal));

        var b = new FakeDebugpy("B");
        proxy.AddBackend("pid 2", "process B", b.ConnectAsync);
        await (await ConfiguredSessionAsync(b)).StoppedAsync();
        var stopped = await editor.WaitForStoppedAsync(Long);
        Assert.Equal("tick in B", (await editor.StackTraceAsync(stopped.ThreadId)).Single().Name);
    }

    [Fact(Timeout = 30000)]
    public async Task CancelNamesTheBackendsNumberOrCancelsAQueuedRequestHere()
    {
        var (proxy, a, _) = await StartWithAAsync();
        await using var _ = proxy;
        await using var editor = await RawEditor.ConnectAsync(proxy.LocalPort);
        await editor.SendRequestAsync(1, "initialize", DapSession.InitializeArguments());
        await editor.ReadResponseAsync(1);
        await editor.SendRequestAsync(2, "attach", DapSession.AttachArguments());
        await editor.SendRequestAsync(3, "configurationDone");
        await editor.ReadResponseAsync(2);
        var session = await a.NextSessionAsync(0);
        session.Unanswered.Add("evaluate");

        await editor.SendRequestAsync(10, "evaluate", new JsonObject { ["expression"] = "slow()" });
        var evaluate = await session.WaitForRequestAsync("evaluate");
        await editor.SendRequestAsync(11, "cancel", new JsonObject { ["requestId"] = 10 });
        var cancel = await session.WaitForRequestAsync("cancel");
        Assert.Equal((int)evaluate["seq"]!, (int)cancel["arguments"]!["requestId"]!);
        Assert.True((bool)(await editor.ReadResponseAsync(11)).Response["success"]!);

        proxy.RemoveBackend("pid 1", "gone");
        await editor.ReadResponseAsync(10); // answered: the process went away
        await editor.SendRequestAsync(12, "evaluate", new JsonObject { ["expression"] = "1" });
        await editor.SendRequestAsync(13, "cancel", new JsonObject { ["requestId"] = 12 });
        var (cancelled, _) = await editor.ReadResponseAsync(12);
        Assert.False((bool)cancelled["success"]!);
        Assert.Equal("cancelled", (string?)cancelled["message"]);
        Assert.True((bool)(await editor.ReadResponseAsync(13)).Response["success"]!);
    }
}
