using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.Unit.Dap;

public class DapSessionTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 10000)]
    public async Task AttachFollowsDebugpysOrder()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;
        var pathMappings = new JsonArray(new JsonObject { ["localRoot"] = "/host/app", ["remoteRoot"] = "/srv/app" });
        var attachArguments = new JsonObject { ["pathMappings"] = pathMappings, ["name"] = "custom" };

        var attaching = client.AttachAsync(
            new Dictionary<string, IReadOnlyList<int>> { ["/srv/app/a.py"] = [7, 9], ["/srv/app/b.py"] = [3] },
            attachArguments);

        var initialize = await adapter.ExpectRequestAsync("initialize");
        var init = initialize["arguments"]!.AsObject();
        Assert.Equal("vscode", (string?)init["clientID"]); // what VS Code sends
        Assert.Equal("debugpy", (string?)init["adapterID"]);
        Assert.True((bool)init["linesStartAt1"]!);
        Assert.True((bool)init["columnsStartAt1"]!);
        Assert.Equal("path", (string?)init["pathFormat"]);
        Assert.True((bool)init["supportsRunInTerminalRequest"]!);
        Assert.False((bool)init["supportsStartDebuggingRequest"]!);
        await adapter.RespondAsync(initialize, new JsonObject { ["supportsConfigurationDoneRequest"] = true });

        // debugpy holds the attach response until configurationDone; the client must go on without it.
        var attach = await adapter.ExpectRequestAsync("attach");
        Assert.Equal("/srv/app", (string?)attach["arguments"]!["pathMappings"]![0]!["remoteRoot"]);
        Assert.Equal("attach", (string?)attach["arguments"]!["request"]);
        Assert.Equal("custom", (string?)attach["arguments"]!["name"]); // the caller's keys win
        await adapter.SendEventAsync("initialized");

        var a = await adapter.ExpectRequestAsync("setBreakpoints");
        Assert.Equal("/srv/app/a.py", (string?)a["arguments"]!["source"]!["path"]);
        Assert.Equal([7, 9], a["arguments"]!["breakpoints"]!.AsArray().Select(b => (int)b!["line"]!));
        await adapter.RespondAsync(a, new JsonObject
        {
            ["breakpoints"] = new JsonArray(
                new JsonObject { ["verified"] = true, ["line"] = 7, ["id"] = 1 },
                new JsonObject { ["verified"] = false, ["line"] = 10, ["id"] = 2, ["message"] = "moved" }),
        });
        var b = await adapter.ExpectRequestAsync("setBreakpoints");
        Assert.Equal("/srv/app/b.py", (string?)b["arguments"]!["source"]!["path"]);
        await adapter.RespondAsync(b, new JsonObject { ["breakpoints"] = new JsonArray(new JsonObject { ["verified"] = true, ["line"] = 3 }) });

        var exceptions = await adapter.ExpectRequestAsync("setExceptionBreakpoints");
        Assert.Equal(["uncaught"], exceptions["arguments"]!["filters"]!.AsArray().Select(f => (string?)f)); // a real editor's default
        await adapter.RespondAsync(exceptions);
        var done = await adapter.ExpectRequestAsync("configurationDone");
        Assert.False(attaching.IsCompleted);
        await adapter.RespondAsync(done);
        Assert.False(attaching.IsCompleted);
        await adapter.RespondAsync(attach);

        var result = await attaching;
        Assert.True((bool)result.Capabilities["supportsConfigurationDoneRequest"]!);
        Assert.Equal([new DapBreakpoint(true, 7, null, 1), new DapBreakpoint(false, 10, "moved", 2)], result.Breakpoints["/srv/app/a.py"]);
        Assert.Equal([new DapBreakpoint(true, 3, null, null)], result.Breakpoints["/srv/app/b.py"]);
        Assert.Null(attachArguments.Parent); // the caller's object is untouched
    }

    [Fact(Timeout = 10000)]
    public async Task AttachWithoutArgumentsStillSendsANonEmptyObject()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var attaching = client.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("initialize"));
        var attach = await adapter.ExpectRequestAsync("attach");
        // debugpy's adapter drops an empty object when it forwards attach, and pydevd then fails.
        Assert.Equal("""{"name":"wand","type":"python","request":"attach"}""", attach["arguments"]!.ToJsonString());
        await adapter.SendEventAsync("initialized");
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("setExceptionBreakpoints"));
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("configurationDone"));
        await adapter.RespondAsync(attach);
        Assert.Empty((await attaching).Breakpoints);
    }

    [Fact(Timeout = 10000)]
    public async Task ARefusedAttachIsReportedWithoutWaitingForInitialized()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        var attaching = client.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("initialize"));
        await adapter.RespondAsync(await adapter.ExpectRequestAsync("attach"), success: false, message: "Already attached");
        var ex = await Assert.ThrowsAsync<DapRequestFailedException>(() => attaching);
        Assert.Equal("attach", ex.Command);
        Assert.Equal("Already attached", ex.AdapterMessage);

        // The withdrawn wait did not swallow a later initialized event.
        await adapter.SendEventAsync("initialized");
        Assert.NotNull(await client.WaitForEventAsync("initialized", null, Long));
    }

    [Fact(Timeout = 10000)]
    public async Task HelpersTurnResponsesIntoRecords()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendEventAsync("stopped", new JsonObject { ["reason"] = "breakpoint", ["threadId"] = 4, ["allThreadsStopped"] = true });
        Assert.Equal(new DapStopped(4, "breakpoint", null, true), await client.WaitForStoppedAsync(Long));

        var stack = client.StackTraceAsync(4);
        var stackRequest = await adapter.ExpectRequestAsync("stackTrace");
        Assert.Equal(4, (int)stackRequest["arguments"]!["threadId"]!);
        await adapter.RespondAsync(stackRequest, new JsonObject
        {
            ["stackFrames"] = new JsonArray(
                new JsonObject { ["id"] = 2, ["name"] = "tick", ["line"] = 8, ["column"] = 1, ["source"] = new JsonObject { ["path"] = "/srv/apps/loop.py" } },
                new JsonObject { ["id"] = 3, ["name"] = "<module>", ["line"] = 1, ["column"] = 1 }),
            ["totalFrames"] = 2,
        });
        Assert.Equal([new DapStackFrame(2, "tick", "/srv/apps/loop.py", 8, 1), new DapStackFrame(3, "<module>", null, 1, 1)], await stack);

        var scopes = client.ScopesAsync(2);
        var scopesRequest = await adapter.ExpectRequestAsync("scopes");
        Assert.Equal(2, (int)scopesRequest["arguments"]!["frameId"]!);
        await adapter.RespondAsync(scopesRequest, new JsonObject
        {
            ["scopes"] = new JsonArray(new JsonObject { ["name"] = "Locals", ["variablesReference"] = 5, ["expensive"] = false }),
        });
        Assert.Equal([new DapScope("Locals", 5, false)], await scopes);

        var variables = client.VariablesAsync(5);
        var variablesRequest = await adapter.ExpectRequestAsync("variables");
        Assert.Equal(5, (int)variablesRequest["arguments"]!["variablesReference"]!);
        await adapter.RespondAsync(variablesRequest, new JsonObject
        {
            ["variables"] = new JsonArray(
                new JsonObject { ["name"] = "n", ["value"] = "3", ["type"] = "int", ["variablesReference"] = 0 },
                new JsonObject { ["name"] = "d", ["value"] = "{}", ["variablesReference"] = 9 }),
        });
        Assert.Equal([new DapVariable("n", "3", "int", 0), new DapVariable("d", "{}", null, 9)], await variables);

        var evaluate = client.EvaluateAsync("n * 10", 2);
        var evaluateRequest = await adapter.ExpectRequestAsync("evaluate");
        Assert.Equal("n * 10", (string?)evaluateRequest["arguments"]!["expression"]);
        Assert.Equal(2, (int)evaluateRequest["arguments"]!["frameId"]!);
        Assert.Equal("repl", (string?)evaluateRequest["arguments"]!["context"]);
        await adapter.RespondAsync(evaluateRequest, new JsonObject { ["result"] = "30", ["variablesReference"] = 0 });
        Assert.Equal("30", await evaluate);

        var resume = client.ContinueAsync(4);
        var continueRequest = await adapter.ExpectRequestAsync("continue");
        Assert.Equal(4, (int)continueRequest["arguments"]!["threadId"]!);
        await adapter.RespondAsync(continueRequest, new JsonObject { ["allThreadsContinued"] = true });
        await resume;

        // The adapter may close instead of answering disconnect: that is a disconnect too.
        var disconnect = client.DisconnectAsync();
        var disconnectRequest = await adapter.ExpectRequestAsync("disconnect");
        Assert.False((bool)disconnectRequest["arguments"]!["terminateDebuggee"]!);
        await adapter.CloseAsync();
        await disconnect;
    }

    [Fact(Timeout = 10000)]
    public async Task AStoppedEventWithoutAThreadIsAProtocolError()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;

        await adapter.SendEventAsync("stopped", new JsonObject { ["reason"] = "pause" });
        await Assert.ThrowsAsync<DapProtocolException>(() => client.WaitForStoppedAsync(Long));
    }

    [Fact(Timeout = 10000)]
    public async Task InitializeArgumentsCanSayTheClientSupportsStartDebugging()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;
        var attaching = client.AttachAsync(new Dictionary<string, IReadOnlyList<int>>(), null, new JsonObject { ["supportsStartDebuggingRequest"] = true });
        var initialize = await adapter.ExpectRequestAsync("initialize");
        Assert.True((bool)initialize["arguments"]!["supportsStartDebuggingRequest"]!);
        Assert.Equal("vscode", (string?)initialize["arguments"]!["clientID"]); // the defaults stay
        await adapter.RespondAsync(initialize, new JsonObject());
        await adapter.ExpectRequestAsync("attach");
        await adapter.DisposeAsync();
        await Assert.ThrowsAnyAsync<DapException>(() => attaching);
    }

    [Fact(Timeout = 10000)]
    public async Task StartDebuggingIsAnsweredAndItsConfigurationHandedToTheCaller()
    {
        var (client, adapter) = FakeAdapter.Connect();
        await using var _ = client;
        await using var __ = adapter;
        var opened = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.OnStartDebugging(configuration =>
        {
            opened.TrySetResult(configuration);
            return Task.CompletedTask;
        });

        await adapter.SendReverseRequestAsync(41, "startDebugging", new JsonObject
        {
            ["request"] = "attach",
            ["configuration"] = new JsonObject { ["__wandBackend"] = "pid 7", ["name"] = "PID 7" },
        });
        var response = await adapter.ReadAsync();
        Assert.Equal(41, (int)response["request_seq"]!);
        Assert.True((bool)response["success"]!);
        Assert.Equal("pid 7", (string?)(await opened.Task.WaitAsync(Long))["__wandBackend"]);

        // One without a configuration is refused, not handed on.
        await adapter.SendReverseRequestAsync(42, "startDebugging", new JsonObject { ["request"] = "attach" });
        var refused = await adapter.ReadAsync();
        Assert.Equal(42, (int)refused["request_seq"]!);
        Assert.False((bool)refused["success"]!);
        Assert.Contains("no configuration", (string?)refused["message"]);
    }
}
