using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// The proxy's connection to one backend's debugpy on behalf of one editor connection. Numbers the
/// requests it sends with its own sequence numbers and remembers, per number, the editor request it
/// stands for (so responses are mapped back) or the proxy's own request (replay), whose response is
/// consumed here and never reaches the editor.
/// </summary>
internal sealed class BackendLink : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<int, Pending> _pending = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _initialized = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxMessageBytes;
    private readonly Action<BackendLink, JsonObject, EditorRequest?> _onMessage;
    private readonly Action<BackendLink, string> _onClosed;
    private readonly Action<BackendLink, JsonObject, JsonObject> _onReplayedBreakpoints;
    private Stream? _stream;
    private Task _readLoop = Task.CompletedTask;
    private int _nextSeq = 1;
    private bool _swallowInitialized;
    private string? _closeReason;
    private int _disposed;

    /// <param name="onMessage">A message for the editor: an event, a reverse request, or the response to <see cref="EditorRequest"/>.</param>
    /// <param name="onClosed">The connection ended or broke (not called after <see cref="DisposeAsync"/>).</param>
    /// <param name="onReplayedBreakpoints">
    /// The response body to a replayed <c>setBreakpoints</c> and its arguments, called from the read loop in
    /// order with <paramref name="onMessage"/>, so the editor's breakpoint ids are known before any event naming them.
    /// </param>
    public BackendLink(ProxyBackend backend, int generation, int maxMessageBytes, Action<BackendLink, JsonObject, EditorRequest?> onMessage,
        Action<BackendLink, string> onClosed, Action<BackendLink, JsonObject, JsonObject> onReplayedBreakpoints)
    {
        _onReplayedBreakpoints = onReplayedBreakpoints;
        Backend = backend;
        Generation = generation;
        _maxMessageBytes = maxMessageBytes;
        _onMessage = onMessage;
        _onClosed = onClosed;
    }

    /// <summary>An editor request forwarded to the backend: its sequence number on the editor's side (and, for setBreakpoints, its source).</summary>
    public sealed record EditorRequest(int EditorSeq, string Command, string? SourceKey = null);

    public ProxyBackend Backend { get; }

    /// <summary>Which backend connection of its editor session this is (1, 2, ...): ids are tagged with it.</summary>
    public int Generation { get; }

    /// <summary>The editor requests sent and not answered yet.</summary>
    public IReadOnlyList<EditorRequest> Unanswered
    {
        get
        {
            lock (_gate) return [.. _pending.Values.Select(p => p.Editor).OfType<EditorRequest>()];
        }
    }

    /// <summary>Opens the stream and starts reading (messages go to the callbacks given to the constructor).</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var stream = await Backend.Connect(both.Token);
        bool abandoned;
        lock (_gate)
        {
            abandoned = _disposed != 0;
            if (!abandoned) _stream = stream;
        }
        if (abandoned)
        {
            // Given up on while connecting (the editor left, or the backend went away): nobody else will close it.
            await stream.DisposeAsync();
            throw new DapConnectionClosedException($"the connection to {Backend} was abandoned");
        }
        // DapFraming reads headers byte by byte: the buffer turns that into large reads.
        var reader = new BufferedStream(stream, 64 * 1024);
        _readLoop = Task.Run(() => ReadLoopAsync(reader));
    }

    /// <summary>
    /// Brings the backend to where the editor's session is (see <see cref="ReplayKind"/>); the responses
    /// are consumed here. Returns the backend's capabilities (the <c>initialize</c> body), or null when no
    /// <c>initialize</c> was replayed.
    /// </summary>
    public async Task<JsonObject?> ReplayAsync(ReplayPlan plan, CancellationToken cancellation)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _stop.Token);
        var cancellationToken = both.Token;
        if (plan.Kind == ReplayKind.None || plan.InitializeArguments is null) return null;
        var capabilities = await RequestAsync("initialize", ForBackend(plan.InitializeArguments), cancellationToken);
        if (plan.Kind != ReplayKind.Full || plan.AttachArguments is null) return capabilities;

        // debugpy answers attach only after configurationDone, and says it is ready for configuration
        // with the initialized event (which the editor saw long ago: swallowed here).
        _swallowInitialized = true;
        var attach = RequestAsync("attach", AttachForBackend(plan.AttachArguments), cancellationToken);
        if (await Task.WhenAny(_initialized.Task.WaitAsync(cancellationToken), attach) == attach) await attach; // failed at once
        await _initialized.Task.WaitAsync(cancellationToken);
        // Sources known by path only: a sourceReference names code held by the old process.
        foreach (var breakpoints in plan.SetBreakpoints.Where(b => b["source"] is JsonObject source && DapJson.String(source, "path") is not null))
            await RequestAsync("setBreakpoints", breakpoints.DeepClone().AsObject(), cancellationToken, reportBreakpoints: true);
        if (plan.SetExceptionBreakpoints is { } exceptions) await RequestAsync("setExceptionBreakpoints", exceptions.DeepClone().AsObject(), cancellationToken);
        if (plan.SetFunctionBreakpoints is { } functions) await RequestAsync("setFunctionBreakpoints", functions.DeepClone().AsObject(), cancellationToken);
        if (plan.ConfigurationDone)
        {
            await RequestAsync("configurationDone", null, cancellationToken);
            await attach;
        }
        else
        {
            // The editor was still configuring: its own configurationDone comes through later, and the
            // attach response after it is consumed whenever it arrives.
            _ = attach.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }
        return capabilities;
    }

    /// <summary>
    /// The editor's initialize arguments as the backend gets them: the proxy answers reverse requests
    /// itself (and refuses them), so the backend is told the client supports none.
    /// </summary>
    public static JsonObject ForBackend(JsonObject initializeArguments)
    {
        var copy = initializeArguments.DeepClone().AsObject();
        copy["supportsStartDebuggingRequest"] = false;
        copy["supportsRunInTerminalRequest"] = false;
        return copy;
    }

    /// <summary>
    /// The editor's attach configuration as the backend gets it: unless the editor says <c>flask</c> or
    /// <c>django</c> itself, <c>"flask": true</c> is added, so the <c>SystemExit(3)</c> with which a reloader's
    /// worker ends (werkzeug's stat/watchdog reloader, Django's autoreload: both exit with 3 to be restarted)
    /// never stops the editor under its default <c>uncaught</c> filter.
    /// </summary>
    /// <remarks>
    /// wand follows reloads itself, so the old worker's exit is not something the user asked to see; it also
    /// held the old worker (suspended in its own exit) until the user pressed continue, and the new worker
    /// starts only once it is gone. pydevd ignores exit code 3 with <c>flask</c> or <c>django</c> set
    /// (pydevd_process_net_command_json.py, <c>_set_debug_options</c>: <c>ignore_system_exit_codes += [3]</c>);
    /// the flag otherwise only makes breakpoints in non-.py files (templates) Jinja2 breakpoints. Set
    /// <c>"flask": false</c> in the configuration to stop on that exit all the same.
    /// </remarks>
    public static JsonObject AttachForBackend(JsonObject attachArguments)
    {
        var copy = attachArguments.DeepClone().AsObject();
        if (!copy.ContainsKey("flask") && !copy.ContainsKey("django")) copy["flask"] = true;
        return copy;
    }

    /// <summary>Sends an editor's request (its arguments already translated) under a sequence number of this link.</summary>
    public Task SendEditorRequestAsync(JsonObject request, EditorRequest editor) =>
        SendAsync(request, new Pending(editor, null, null), CancellationToken.None);

    /// <summary>Sends the proxy's own request; its response is consumed here. Throws <see cref="DapRequestFailedException"/> if refused.</summary>
    public async Task<JsonObject> RequestAsync(string command, JsonObject? arguments, CancellationToken cancellationToken, bool reportBreakpoints = false)
    {
        var completion = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reported = reportBreakpoints ? arguments?.DeepClone().AsObject() : null;
        await SendAsync(ProxyMessages.Request(command, arguments), new Pending(null, completion, reported), cancellationToken);
        return await completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>This link's sequence number for the editor request <paramref name="editorSeq"/>, if it is still unanswered.</summary>
    public int? BackendSeqOf(int editorSeq)
    {
        lock (_gate)
        {
            foreach (var (seq, pending) in _pending)
                if (pending.Editor?.EditorSeq == editorSeq) return seq;
        }
        return null;
    }

    /// <summary>Answers a reverse request of the backend (with a refusal: nothing is forwarded to the editor).</summary>
    public Task SendResponseAsync(JsonObject response) => SendAsync(response, null, CancellationToken.None);

    /// <summary>
    /// Ends the connection. With <paramref name="detach"/> the backend is first told to detach with
    /// <c>terminateDebuggee: false</c> (briefly waited for), so the app goes on and debugpy keeps listening.
    /// </summary>
    public async Task CloseAsync(bool detach, TimeProvider time)
    {
        if (detach && _closeReason is null && _stream is not null)
        {
            try
            {
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2), time);
                await RequestAsync("disconnect", new JsonObject { ["restart"] = false, ["terminateDebuggee"] = false, ["suspendDebuggee"] = false }, wait.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or DapException or IOException or ObjectDisposedException or SocketException)
            {
                // Gone or slow: closing the connection detaches as well.
            }
        }
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync();
        Stream? stream;
        lock (_gate) stream = _stream;
        if (stream is not null) await stream.DisposeAsync();
        try
        {
            await _readLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // A stream that ignores both cancellation and disposal: leave its reader behind.
        }
        Fail("the connection was closed by wand");
    }

    private async Task SendAsync(JsonObject message, Pending? pending, CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new DapConnectionClosedException("not connected");
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var seq = _nextSeq++;
            message["seq"] = seq;
            lock (_gate)
            {
                if (_closeReason is not null) throw new DapConnectionClosedException($"the connection to {Backend} is closed: {_closeReason}");
                if (pending is not null) _pending[seq] = pending;
            }
            try
            {
                await DapFraming.WriteAsync(stream, message, _stop.Token);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
            {
                lock (_gate) _pending.Remove(seq);
                throw new DapConnectionClosedException($"the connection to {Backend} broke: {e.Message}", e);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync(Stream reader)
    {
        string reason;
        try
        {
            while (await DapFraming.ReadAsync(reader, _maxMessageBytes, _stop.Token) is { } message)
                Dispatch(message);
            reason = "its debugpy closed the connection";
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (DapProtocolException e)
        {
            reason = $"its debugpy broke the protocol ({e.Message})";
        }
        catch (Exception e)
        {
            reason = $"the connection to its debugpy broke ({e.Message})";
        }
        Fail(reason);
        _onClosed(this, reason);
    }

    private void Dispatch(JsonObject message)
    {
        var type = DapJson.String(message, "type");
        if (type == "response")
        {
            Pending? pending = null;
            if (DapJson.TryInt(message, "request_seq", out var requestSeq))
                lock (_gate) _pending.Remove(requestSeq, out pending);
            if (pending is null) return; // not asked by anyone (or already failed): nobody to give it to
            if (pending.Internal is { } completion)
            {
                var body = message["body"] as JsonObject ?? [];
                if (DapJson.Bool(message, "success") && pending.ReplayedBreakpoints is { } arguments) _onReplayedBreakpoints(this, arguments, body.DeepClone().AsObject());
                if (DapJson.Bool(message, "success")) completion.TrySetResult(body);
                else completion.TrySetException(new DapRequestFailedException(
                    DapJson.String(message, "command") ?? "?", DapJson.String(message, "message") ?? "the adapter gave no reason", body));
                return;
            }
            _onMessage(this, message, pending.Editor);
            return;
        }
        if (type == "event" && _swallowInitialized && DapJson.String(message, "event") == "initialized")
        {
            _initialized.TrySetResult();
            return;
        }
        _onMessage(this, message, null);
    }

    /// <summary>Fails the proxy's own requests still waiting (the editor's are answered by the editor connection).</summary>
    private void Fail(string reason)
    {
        List<Pending> internals;
        lock (_gate)
        {
            _closeReason ??= reason;
            internals = [.. _pending.Values.Where(p => p.Internal is not null)];
            foreach (var key in _pending.Where(p => p.Value.Internal is not null).Select(p => p.Key).ToList()) _pending.Remove(key);
        }
        foreach (var p in internals) p.Internal!.TrySetException(new DapConnectionClosedException($"no response from {Backend}: {reason}"));
        _initialized.TrySetException(new DapConnectionClosedException($"no 'initialized' event from {Backend}: {reason}"));
        _ = _initialized.Task.Exception; // observed
    }

    private sealed record Pending(EditorRequest? Editor, TaskCompletionSource<JsonObject>? Internal, JsonObject? ReplayedBreakpoints);
}
