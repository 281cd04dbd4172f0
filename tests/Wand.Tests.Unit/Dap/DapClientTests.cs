using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.Unit.Dap;

public class DapClientTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 10000)]
    public async Task ARequestGetsItsResponseBodyAndSequenceNumbersStartAt1()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var first = client.RequestAsync("initialize", new JsonObject { ["clientID"] = "wand" });
        var request = await adapter.ExpectRequestAsync("initialize");
        Assert.Equal(1, (int)request["seq"]!);
        Assert.Equal("wand", (string?)request["arguments"]!["clientID"]);
        await adapter.RespondAsync(request, new JsonObject { ["supportsConfigurationDoneRequest"] = true });
        Assert.True((bool)(await first)["supportsConfigurationDoneRequest"]!);

        var second = client.RequestAsync("threads", null);
        var threads = await adapter.ExpectRequestAsync("threads");
        Assert.Equal(2, (int)threads["seq"]!);
        Assert.False(threads.ContainsKey("arguments"));
        await adapter.RespondAsync(threads); // no body at all
        Assert.Empty(await second);
    }

    [Fact(Timeout = 10000)]
    public async Task ResponsesOutOfOrderReachTheirOwnRequests()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var attach = await client.SendRequestAsync("attach", []);
        var done = await client.SendRequestAsync("configurationDone");
        var attachRequest = await adapter.ExpectRequestAsync("attach");
        var doneRequest = await adapter.ExpectRequestAsync("configurationDone");

        await adapter.RespondAsync(doneRequest, new JsonObject { ["which"] = "done" });
        Assert.Equal("done", (string?)(await done)["which"]);
        Assert.False(attach.IsCompleted);
        await adapter.RespondAsync(attachRequest, new JsonObject { ["which"] = "attach" });
        Assert.Equal("attach", (string?)(await attach)["which"]);
    }

    [Fact(Timeout = 10000)]
    public async Task ArgumentsCanBeSentTwice()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var arguments = new JsonObject { ["threadId"] = 1 };
        await client.SendRequestAsync("continue", arguments);
        await client.SendRequestAsync("continue", arguments);
        Assert.Null(arguments.Parent);
        Assert.Equal(1, (int)(await adapter.ExpectRequestAsync("continue"))["arguments"]!["threadId"]!);
        Assert.Equal(1, (int)(await adapter.ExpectRequestAsync("continue"))["arguments"]!["threadId"]!);
    }

    [Fact(Timeout = 10000)]
    public async Task AFailedResponseThrowsWithTheCommandAndTheAdaptersMessage()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var evaluate = client.RequestAsync("evaluate", new JsonObject { ["expression"] = "nope" });
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("evaluate"), success: false, message: "NameError: name 'nope' is not defined");
        var ex = await Assert.ThrowsAsync<DapRequestFailedException>(() => evaluate);
        Assert.Equal("evaluate", ex.Command);
        Assert.Equal("NameError: name 'nope' is not defined", ex.AdapterMessage);
        Assert.Contains("'evaluate' failed: NameError", ex.Message);

        // Without a message, the error object's format is the reason.
        var attach = client.RequestAsync("attach", []);
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("attach"), success: false,
            body: new JsonObject { ["error"] = new JsonObject { ["id"] = 1, ["format"] = "Invalid attach arguments" } });
        var attachFailure = await Assert.ThrowsAsync<DapRequestFailedException>(() => attach);
        Assert.Equal("Invalid attach arguments", attachFailure.AdapterMessage);
        Assert.NotNull(attachFailure.Body);

        // The connection is still fine.
        var threads = client.RequestAsync("threads");
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("threads"), new JsonObject { ["threads"] = new JsonArray() });
        Assert.NotNull((await threads)["threads"]);
    }

    [Fact(Timeout = 10000)]
    public async Task EventsThatArrivedBeforeTheWaitAreFoundAndEachIsConsumedOnce()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendEventAsync("output", new JsonObject { ["output"] = "one" });
        await adapter.SendEventAsync("stopped", new JsonObject { ["threadId"] = 1, ["reason"] = "breakpoint" });
        await adapter.SendEventAsync("output", new JsonObject { ["output"] = "two" });
        await WaitUntilAsync(() => client.Events.Count == 3);

        Assert.Equal("breakpoint", (string?)(await client.WaitForEventAsync("stopped", null, Long))["body"]!["reason"]);
        Assert.Equal("one", (string?)(await client.WaitForEventAsync("output", null, Long))["body"]!["output"]);
        Assert.Equal("two", (string?)(await client.WaitForEventAsync("output", null, Long))["body"]!["output"]);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForEventAsync("output", null, TimeSpan.FromMilliseconds(100)));
        Assert.Contains("no 'output' event within 0.1 s; events seen: output x2, stopped", timeout.Message);
        Assert.Equal(3, client.Events.Count); // the diagnostics list keeps consumed events
    }

    [Fact(Timeout = 10000)]
    public async Task APredicateSelectsAndLeavesTheRestForLaterWaits()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendEventAsync("thread", new JsonObject { ["threadId"] = 1, ["reason"] = "started" });
        await adapter.SendEventAsync("thread", new JsonObject { ["threadId"] = 2, ["reason"] = "started" });
        var second = await client.WaitForEventAsync("thread", e => (int)e["body"]!["threadId"]! == 2, Long);
        Assert.Equal(2, (int)second["body"]!["threadId"]!);
        var first = await client.WaitForEventAsync("thread", null, Long);
        Assert.Equal(1, (int)first["body"]!["threadId"]!);
    }

    [Fact(Timeout = 10000)]
    public async Task WaitsStartedBeforeTheEventsGetThemInOrder()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var firstWait = client.WaitForEventAsync("stopped", null, Long);
        var secondWait = client.WaitForEventAsync("stopped", null, Long);
        var exited = client.WaitForEventAsync("exited", null, Long);
        await adapter.SendEventAsync("stopped", new JsonObject { ["threadId"] = 1 });
        await adapter.SendEventAsync("stopped", new JsonObject { ["threadId"] = 2 });
        Assert.Equal(1, (int)(await firstWait)["body"]!["threadId"]!);
        Assert.Equal(2, (int)(await secondWait)["body"]!["threadId"]!);
        Assert.False(exited.IsCompleted);
    }

    [Fact(Timeout = 10000)]
    public async Task ACancelledWaitLeavesTheEventForTheNextOne()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        using var cts = new CancellationTokenSource();
        var cancelled = client.WaitForEventAsync("stopped", null, Long, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        await adapter.SendEventAsync("stopped", new JsonObject { ["threadId"] = 7 });
        Assert.Equal(7, (int)(await client.WaitForEventAsync("stopped", null, Long))["body"]!["threadId"]!);
    }

    [Fact(Timeout = 10000)]
    public async Task AThrowingPredicateFailsOnlyItsOwnWait()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var bad = client.WaitForEventAsync("output", _ => throw new InvalidOperationException("bad predicate"), Long);
        await adapter.SendEventAsync("output", new JsonObject { ["output"] = "x" });
        await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Equal("x", (string?)(await client.WaitForEventAsync("output", null, Long))["body"]!["output"]);
    }

    [Fact(Timeout = 10000)]
    public async Task ReverseRequestsAreRefusedUnlessAHandlerIsRegistered()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendReverseRequestAsync(7, "runInTerminal", new JsonObject { ["args"] = new JsonArray("python") });
        var refusal = await adapter.ReadAsync();
        Assert.Equal("response", (string?)refusal["type"]);
        Assert.Equal(7, (int)refusal["request_seq"]!);
        Assert.Equal("runInTerminal", (string?)refusal["command"]);
        Assert.False((bool)refusal["success"]!);
        Assert.Contains("runInTerminal", (string?)refusal["message"]);
        Assert.Equal(1, (int)refusal["seq"]!); // the client's own numbering

        client.OnReverseRequest("startDebugging", arguments => Task.FromResult<JsonObject?>(new JsonObject { ["got"] = arguments["request"]?.DeepClone() }));
        await adapter.SendReverseRequestAsync(8, "startDebugging", new JsonObject { ["request"] = "attach" });
        var accepted = await adapter.ReadAsync();
        Assert.True((bool)accepted["success"]!);
        Assert.Equal(8, (int)accepted["request_seq"]!);
        Assert.Equal("attach", (string?)accepted["body"]!["got"]);

        client.OnReverseRequest("runInTerminal", _ => throw new InvalidOperationException("no terminal here"));
        await adapter.SendReverseRequestAsync(9, "runInTerminal");
        var failed = await adapter.ReadAsync();
        Assert.False((bool)failed["success"]!);
        Assert.Equal("no terminal here", (string?)failed["message"]);
    }

    [Fact(Timeout = 10000)]
    public async Task ClosingTheConnectionFailsPendingRequestsAndEndsWaitsPromptly()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var attach = await client.SendRequestAsync("attach", []);
        var pending = client.RequestAsync("threads");
        var wait = client.WaitForEventAsync("stopped", null, TimeSpan.FromMinutes(5));
        await adapter.ExpectRequestAsync("attach");
        await adapter.ExpectRequestAsync("threads");
        await adapter.CloseAsync();

        var ex = await Assert.ThrowsAsync<DapConnectionClosedException>(() => attach);
        Assert.Contains("no response to 'attach': the debug adapter closed the connection", ex.Message);
        await Assert.ThrowsAsync<DapConnectionClosedException>(() => pending);
        await Assert.ThrowsAsync<DapConnectionClosedException>(() => wait);
        await client.Completion;

        var after = await Assert.ThrowsAsync<DapConnectionClosedException>(() => client.RequestAsync("threads"));
        Assert.Contains("cannot send 'threads'", after.Message);
        await Assert.ThrowsAsync<DapConnectionClosedException>(() => client.WaitForEventAsync("stopped", null, TimeSpan.FromMinutes(5)));
    }

    [Fact(Timeout = 10000)]
    public async Task EventsReceivedBeforeTheCloseCanStillBeConsumed()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendEventAsync("terminated");
        await adapter.CloseAsync();
        await client.Completion;
        Assert.NotNull(await client.WaitForEventAsync("terminated", null, Long));
    }

    [Fact(Timeout = 10000)]
    public async Task AProtocolErrorFromTheAdapterEndsTheConnectionWithTheCause()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var pending = client.RequestAsync("threads");
        await adapter.ExpectRequestAsync("threads");
        await adapter.SendRawAsync("Content-Length: 3\r\n\r\n[1]");
        var ex = await Assert.ThrowsAsync<DapConnectionClosedException>(() => pending);
        Assert.IsType<DapProtocolException>(ex.InnerException);
        Assert.Contains("broke the protocol", ex.Message);
    }

    [Fact(Timeout = 10000)]
    public async Task UnknownMessagesAndStrayResponsesAreIgnored()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendAsync(new JsonObject { ["seq"] = 1, ["type"] = "gossip" });
        await adapter.SendAsync(new JsonObject { ["seq"] = 2, ["type"] = "response", ["request_seq"] = 999, ["success"] = true, ["command"] = "x" });
        await adapter.SendAsync(new JsonObject { ["seq"] = 3, ["type"] = "event" }); // no event name
        var threads = client.RequestAsync("threads");
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("threads"));
        await threads;
        Assert.Empty(client.Events);
    }

    [Fact(Timeout = 10000)]
    public async Task DisposingFailsWhatIsPendingWithoutHanging()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var __ = adapter;

        var pending = client.RequestAsync("threads");
        var wait = client.WaitForEventAsync("stopped", null, TimeSpan.FromMinutes(5));
        await adapter.ExpectRequestAsync("threads");
        await client.DisposeAsync();

        Assert.Contains("disposed", (await Assert.ThrowsAsync<DapConnectionClosedException>(() => pending)).Message);
        await Assert.ThrowsAsync<DapConnectionClosedException>(() => wait);
        await client.DisposeAsync(); // twice is fine
        Assert.Null(await adapter.TryReadAsync()); // the adapter sees the connection end
    }

    [Fact(Timeout = 10000)]
    public async Task ConcurrentRequestsGetDistinctSequenceNumbersAndTheirOwnAnswers()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var requests = Enumerable.Range(0, 50).Select(i => Task.Run(() => client.RequestAsync("evaluate", new JsonObject { ["expression"] = i.ToString() }))).ToArray();
        var seen = new HashSet<int>();
        for (var i = 0; i < requests.Length; i++)
        {
            var request = await adapter.ExpectRequestAsync("evaluate");
            Assert.True(seen.Add((int)request["seq"]!));
            await adapter.RespondAsync(request, new JsonObject { ["result"] = (string?)request["arguments"]!["expression"] });
        }
        var results = await Task.WhenAll(requests);
        for (var i = 0; i < results.Length; i++) Assert.Equal(i.ToString(), (string?)results[i]["result"]);
        Assert.Equal(Enumerable.Range(1, 50), seen.Order());
    }

    private static Task WaitUntilAsync(Func<bool> condition) =>
        Eventually.TrueAsync(condition, TimeSpan.FromSeconds(10), "the fake adapter to see the requests");
}
