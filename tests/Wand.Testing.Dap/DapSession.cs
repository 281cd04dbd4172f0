using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>
/// What an editor does with a debug adapter, as one call each: the whole attach handshake against
/// debugpy, then the usual requests with their results as small records.
/// </summary>
public static class DapSession
{
    /// <summary>How long <see cref="AttachAsync"/> waits for the adapter's <c>initialized</c> event.</summary>
    public static readonly TimeSpan InitializedTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// initialize, attach (not awaited), wait for <c>initialized</c>, setBreakpoints per source,
    /// setExceptionBreakpoints with <see cref="DefaultExceptionFilters"/>, configurationDone, then await the attach response:
    /// the requests VS Code and nvim-dap send by default, so what works here works under a real editor.
    /// </summary>
    /// <remarks>
    /// debugpy answers <c>attach</c> only after <c>configurationDone</c>, so waiting for it first would hang;
    /// the <c>initialized</c> event says the adapter is ready for configuration (PEP768.md, "debugpy facts").
    /// An attach that fails at once ends the wait for <c>initialized</c> and is thrown.
    /// </remarks>
    /// <param name="breakpointsBySourcePath">Lines (1-based) per source path as the adapter sees it (the debuggee's paths, or pathMappings' local side).</param>
    /// <param name="attachArguments">Attach arguments, e.g. <c>pathMappings</c>, laid over <see cref="AttachArguments"/>'s defaults; copied, never changed.</param>
    /// <param name="initializeArguments">Initialize arguments laid over <see cref="InitializeArguments"/>'s defaults (e.g. <c>supportsStartDebuggingRequest: true</c>); copied, never changed.</param>
    /// <exception cref="DapRequestFailedException">A step of the handshake was refused (e.g. attach).</exception>
    /// <exception cref="TimeoutException">No <c>initialized</c> event within <see cref="InitializedTimeout"/>.</exception>
    public static async Task<DapAttachResult> AttachAsync(
        this DapClient client,
        IReadOnlyDictionary<string, IReadOnlyList<int>> breakpointsBySourcePath,
        JsonObject? attachArguments = null,
        JsonObject? initializeArguments = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(breakpointsBySourcePath);
        var capabilities = await client.RequestAsync("initialize", InitializeArguments(initializeArguments), cancellationToken);

        var attach = await client.SendRequestAsync("attach", AttachArguments(attachArguments), cancellationToken);
        using (var stopWaiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var initialized = client.WaitForEventAsync("initialized", null, InitializedTimeout, stopWaiting.Token);
            if (await Task.WhenAny(initialized, attach) == attach && !attach.IsCompletedSuccessfully)
            {
                // The attach was refused: no initialized event will come. Withdraw the wait, report the refusal.
                await stopWaiting.CancelAsync();
                await Task.WhenAny(initialized);
                await attach;
            }
            await initialized;
        }

        var breakpoints = new Dictionary<string, IReadOnlyList<DapBreakpoint>>(StringComparer.Ordinal);
        foreach (var (path, lines) in breakpointsBySourcePath)
        {
            var body = await client.RequestAsync("setBreakpoints", new JsonObject
            {
                ["source"] = new JsonObject { ["path"] = path },
                ["breakpoints"] = new JsonArray([.. lines.Select(line => (JsonNode)new JsonObject { ["line"] = line })]),
                ["sourceModified"] = false,
            }, cancellationToken);
            breakpoints[path] = [.. DapJson.Objects(body, "breakpoints").Select(b => new DapBreakpoint(
                DapJson.Bool(b, "verified"), DapJson.Int(b, "line"), DapJson.String(b, "message"), DapJson.Int(b, "id")))];
        }
        await client.RequestAsync("setExceptionBreakpoints", new JsonObject { ["filters"] = new JsonArray([.. DefaultExceptionFilters.Select(f => (JsonNode)f)]) }, cancellationToken);
        await client.RequestAsync("configurationDone", null, cancellationToken);
        await attach.WaitAsync(cancellationToken);
        return new DapAttachResult(capabilities, breakpoints);
    }

    /// <summary>
    /// The exception filters <see cref="AttachAsync"/> sets: debugpy's filter marked <c>default: true</c>
    /// (its <c>exceptionBreakpointFilters</c> capability), which VS Code and nvim-dap both set unless the user
    /// changes it: the debuggee stops on an exception nothing catches, <c>SystemExit</c> with a non-zero code included.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultExceptionFilters = ["uncaught"];

    /// <summary>
    /// The <c>initialize</c> arguments <see cref="AttachAsync"/> sends: VS Code's (1.10x, to debugpy), except
    /// that <c>startDebugging</c> is off (this client opens child sessions only where a test asks for
    /// them, with <see cref="OnStartDebugging"/> and this override), then every property of <paramref name="overrides"/>.
    /// </summary>
    public static JsonObject InitializeArguments(JsonObject? overrides = null)
    {
        var arguments = new JsonObject
        {
            ["clientID"] = "vscode",
            ["clientName"] = "Visual Studio Code",
            ["adapterID"] = "debugpy",
            ["pathFormat"] = "path",
            ["linesStartAt1"] = true,
            ["columnsStartAt1"] = true,
            ["supportsVariableType"] = true,
            ["supportsVariablePaging"] = true,
            ["supportsRunInTerminalRequest"] = true,
            ["locale"] = "en",
            ["supportsProgressReporting"] = true,
            ["supportsInvalidatedEvent"] = true,
            ["supportsMemoryReferences"] = true,
            ["supportsArgsCanBeInterpretedByShell"] = true,
            ["supportsMemoryEvent"] = true,
            ["supportsStartDebuggingRequest"] = false,
            ["supportsANSIStyling"] = true,
        };
        if (overrides is not null)
            foreach (var (name, value) in overrides) arguments[name] = value?.DeepClone();
        return arguments;
    }

    /// <summary>
    /// Acts on the adapter's <c>startDebugging</c> reverse requests as an editor does: answers each at once
    /// and hands a copy of its <c>configuration</c> to <paramref name="openChildSession"/>, which runs in the
    /// background (typically: connect a new client to the same adapter and attach with that configuration).
    /// Initialize with <c>supportsStartDebuggingRequest: true</c> for the adapter to send them.
    /// </summary>
    /// <remarks><paramref name="openChildSession"/> handles its own failures: nothing awaits it.</remarks>
    public static void OnStartDebugging(this DapClient client, Func<JsonObject, Task> openChildSession)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(openChildSession);
        client.OnReverseRequest("startDebugging", arguments =>
        {
            if (arguments["configuration"] is not JsonObject configuration)
                throw new DapProtocolException("the startDebugging request has no configuration");
            var copy = configuration.DeepClone().AsObject();
            _ = Task.Run(() => openChildSession(copy));
            return Task.FromResult<JsonObject?>(null);
        });
    }

    /// <summary>
    /// The arguments <see cref="AttachAsync"/> sends: <c>name</c>, <c>type: python</c> and
    /// <c>request: attach</c> (as VS Code sends them), then every property of <paramref name="overrides"/>.
    /// </summary>
    /// <remarks>
    /// Never empty: debugpy's adapter forwards <c>attach</c> to the debuggee and drops an empty
    /// <c>arguments</c> object on the way (debugpy/common/messaging.py, <c>send_request</c>: "If arguments is
    /// None or {}, arguments will be omitted"), and pydevd then fails the attach with
    /// "AttachRequest.__init__() missing 1 required positional argument: 'arguments'".
    /// </remarks>
    public static JsonObject AttachArguments(JsonObject? overrides = null)
    {
        var arguments = new JsonObject { ["name"] = "wand", ["type"] = "python", ["request"] = "attach" };
        if (overrides is not null)
            foreach (var (name, value) in overrides) arguments[name] = value?.DeepClone();
        return arguments;
    }

    /// <summary>Waits for (and consumes) the next <c>stopped</c> event.</summary>
    /// <exception cref="DapProtocolException">The event names no thread (debugpy always does).</exception>
    public static async Task<DapStopped> WaitForStoppedAsync(this DapClient client, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var stopped = await client.WaitForEventAsync("stopped", null, timeout, cancellationToken);
        var body = stopped["body"] as JsonObject ?? [];
        return new DapStopped(
            DapJson.RequiredInt(body, "threadId", "the stopped event"),
            DapJson.String(body, "reason") ?? "",
            DapJson.String(body, "description"),
            DapJson.Bool(body, "allThreadsStopped"));
    }

    /// <summary>The frames of <paramref name="threadId"/>, innermost first.</summary>
    public static async Task<IReadOnlyList<DapStackFrame>> StackTraceAsync(this DapClient client, int threadId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = await client.RequestAsync("stackTrace", new JsonObject { ["threadId"] = threadId }, cancellationToken);
        return [.. DapJson.Objects(body, "stackFrames").Select(f => new DapStackFrame(
            DapJson.RequiredInt(f, "id", "a stack frame"),
            DapJson.String(f, "name") ?? "",
            f["source"] is JsonObject source ? DapJson.String(source, "path") : null,
            DapJson.Int(f, "line") ?? 0,
            DapJson.Int(f, "column") ?? 0))];
    }

    /// <summary>The scopes of frame <paramref name="frameId"/>.</summary>
    public static async Task<IReadOnlyList<DapScope>> ScopesAsync(this DapClient client, int frameId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = await client.RequestAsync("scopes", new JsonObject { ["frameId"] = frameId }, cancellationToken);
        return [.. DapJson.Objects(body, "scopes").Select(s => new DapScope(
            DapJson.String(s, "name") ?? "",
            DapJson.RequiredInt(s, "variablesReference", "a scope"),
            DapJson.Bool(s, "expensive")))];
    }

    /// <summary>The variables behind <paramref name="variablesReference"/> (a scope's, or a structured variable's).</summary>
    public static async Task<IReadOnlyList<DapVariable>> VariablesAsync(this DapClient client, int variablesReference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = await client.RequestAsync("variables", new JsonObject { ["variablesReference"] = variablesReference }, cancellationToken);
        return [.. DapJson.Objects(body, "variables").Select(v => new DapVariable(
            DapJson.String(v, "name") ?? "",
            DapJson.String(v, "value") ?? "",
            DapJson.String(v, "type"),
            DapJson.Int(v, "variablesReference") ?? 0))];
    }

    /// <summary>Evaluates <paramref name="expression"/> in frame <paramref name="frameId"/> (globally when null) and returns the result as text.</summary>
    /// <param name="context">The DAP context: <c>repl</c> (as typed in a debug console), <c>watch</c> or <c>hover</c>.</param>
    /// <exception cref="DapRequestFailedException">The expression raised or did not compile (the adapter's message says why).</exception>
    public static async Task<string> EvaluateAsync(this DapClient client, string expression, int? frameId, string context = "repl", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var arguments = new JsonObject { ["expression"] = expression, ["context"] = context };
        if (frameId is { } id) arguments["frameId"] = id;
        var body = await client.RequestAsync("evaluate", arguments, cancellationToken);
        return DapJson.RequiredString(body, "result", "the evaluate response");
    }

    /// <summary>Resumes <paramref name="threadId"/> (debugpy resumes all threads).</summary>
    public static async Task ContinueAsync(this DapClient client, int threadId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await client.RequestAsync("continue", new JsonObject { ["threadId"] = threadId }, cancellationToken);
    }

    /// <summary>
    /// Ends the debug session. With <paramref name="terminateDebuggee"/> false the debuggee keeps running
    /// and debugpy keeps listening, so a client can attach again later.
    /// </summary>
    public static async Task DisconnectAsync(this DapClient client, bool terminateDebuggee = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            await client.RequestAsync("disconnect", new JsonObject { ["restart"] = false, ["terminateDebuggee"] = terminateDebuggee }, cancellationToken);
        }
        catch (DapConnectionClosedException)
        {
            // An adapter may close the connection instead of (or before) answering: disconnected either way.
        }
    }
}
