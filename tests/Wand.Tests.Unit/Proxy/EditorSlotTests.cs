using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Session.Proxy;
using Xunit;

namespace Wand.Tests.Unit.Proxy;

/// <summary>
/// Issue 13, defect 1: the proxy serves one editor at a time, and that slot is never kept by an editor that
/// came too early or has gone. An editor connecting before the first process is armed is held, not refused;
/// an editor that leaves, at any stage, frees the slot before the next one can ask for it.
/// </summary>
public class EditorSlotTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);
    private const string AppFile = "/srv/app/app.py";

    private static Dictionary<string, IReadOnlyList<int>> Breakpoints(params int[] lines) => new() { [AppFile] = lines };

    private static Task WaitForLineAsync(RecordingProgress progress, string contains) =>
        Eventually.TrueAsync(() => progress.Lines.Any(l => l.Contains(contains, StringComparison.Ordinal)), Long,
            $"a progress line with '{contains}'", () => "got:\n" + string.Join("\n", progress.Lines));

    [Fact(Timeout = 30000)]
    public async Task AnEditorConnectingBeforeAnyProcessIsArmedIsHeldAndAttachesOnceOneIs()
    {
        var progress = new RecordingProgress();
        await using var proxy = DapProxy.Start(0, progress);
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        var attaching = editor.AttachAsync(Breakpoints(3));
        await WaitForLineAsync(progress, "waits for the first process");
        Assert.False(attaching.IsCompleted); // held: not refused, not answered

        var a = new FakeDebugpy("A");
        proxy.AddBackend("pid 1", "process A", a.ConnectAsync);
        var attached = await attaching.WaitAsync(Long);
        Assert.True(attached.Breakpoints[AppFile][0].Verified);
        await (await a.NextSessionAsync(0)).StoppedAsync();
        Assert.Equal("breakpoint", (await editor.WaitForStoppedAsync(Long)).Reason);
    }

    public enum Stage { InitializeHeld, InitializeAnswered, AttachUnanswered, Configured, Disconnected }

    [Theory(Timeout = 30000)]
    [InlineData(Stage.InitializeHeld)]
    [InlineData(Stage.InitializeAnswered)]
    [InlineData(Stage.AttachUnanswered)]
    [InlineData(Stage.Configured)]
    [InlineData(Stage.Disconnected)]
    public async Task AnEditorThatLeavesAtAnyStageFreesTheSlotBeforeTheNextAsks(Stage stage)
    {
        var progress = new RecordingProgress();
        await using var proxy = DapProxy.Start(0, progress);
        var a = new FakeDebugpy("A");
        if (stage != Stage.InitializeHeld) proxy.AddBackend("pid 1", "process A", a.ConnectAsync);

        await using (var first = await RawEditor.ConnectAsync(proxy.LocalPort))
        {
            await first.SendRequestAsync(1, "initialize", DapSession.InitializeArguments());
            if (stage == Stage.InitializeHeld) await WaitForLineAsync(progress, "waits for the first process");
            else Assert.True((bool)(await first.ReadResponseAsync(1)).Response["success"]!);
            if (stage is Stage.AttachUnanswered or Stage.Configured or Stage.Disconnected)
            {
                await first.SendRequestAsync(2, "attach", DapSession.AttachArguments());
                await (await a.NextSessionAsync(0)).WaitForRequestAsync("attach"); // debugpy answers it after configurationDone
            }
            if (stage is Stage.Configured or Stage.Disconnected)
            {
                await first.SendRequestAsync(3, "configurationDone");
                await first.ReadResponseAsync(2);
            }
            if (stage == Stage.Disconnected)
            {
                await first.SendRequestAsync(4, "disconnect", new JsonObject { ["terminateDebuggee"] = false });
                Assert.True((bool)(await first.ReadResponseAsync(4)).Response["success"]!);
            }
        } // closed here, without a word unless it disconnected

        // At once: no waiting for the proxy to notice, as an editor restarting its session does.
        await using var second = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        var attaching = second.AttachAsync(Breakpoints(5));
        if (stage == Stage.InitializeHeld) proxy.AddBackend("pid 1", "process A", a.ConnectAsync);
        var attached = await attaching.WaitAsync(Long);
        Assert.True(attached.Breakpoints[AppFile][0].Verified);
        Assert.DoesNotContain(progress.Lines, l => l.Contains("another editor", StringComparison.Ordinal));
    }

    [Fact(Timeout = 30000)]
    public async Task AHeldInitializeThatNoProcessEverAnswersFailsAndTheLingeringEditorHoldsNoSlot()
    {
        var progress = new RecordingProgress();
        await using var proxy = DapProxy.Start(0, progress, new DapProxyOptions { BackendWaitTimeout = TimeSpan.FromMilliseconds(300) });
        await using var first = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        var refused = await Assert.ThrowsAsync<DapRequestFailedException>(() => first.RequestAsync("initialize", DapSession.InitializeArguments()).WaitAsync(Long));
        Assert.Contains("no process to debug came back within 0.3 s", refused.AdapterMessage);
        await first.WaitForEventAsync("terminated", null, Long);

        // The first editor keeps its connection open (nvim-dap does after a failed initialize): the next one is served all the same.
        await using var second = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
        var attaching = second.AttachAsync(Breakpoints(5));
        await WaitForLineAsync(progress, "editor connection 2 waits for the first process");
        var a = new FakeDebugpy("A");
        proxy.AddBackend("pid 1", "process A", a.ConnectAsync);
        Assert.True((await attaching.WaitAsync(Long)).Breakpoints[AppFile][0].Verified);
        Assert.False(first.Completion.IsCompleted);
    }
}
