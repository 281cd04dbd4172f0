using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Wand.Progress;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// One editor's TCP connection to the proxy and everything it is bound to: the backend link (single
/// process or child session) or, as a root session, nothing but the announcements of child sessions.
/// </summary>
/// <remarks>
/// All state changes run one at a time on this connection's work queue (<see cref="Post"/>): messages
/// from the editor, messages from the backend link, backends added and removed, and timers. Reading
/// the editor and the backend happens on their own loops, which only post; nothing here takes a lock.
/// </remarks>
internal sealed partial class EditorConnection
{
    /// <summary>The attach-configuration key that binds a child session's connection to its backend.</summary>
    public const string BackendMarker = "__wandBackend";

    private enum Mode { Pending, Single, Root, Child, Refused, Ended }

    private readonly DapProxy _proxy;
    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly DapProxyOptions _options;
    private readonly IProgressReporter _progress;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly IdTranslator _ids = new();
    private readonly List<Queued> _queue = [];
    private readonly HashSet<ProxyBackend> _failed = [];
    private readonly Dictionary<string, JsonObject> _breakpoints = new(StringComparer.Ordinal);
    private readonly HashSet<int> _liveThreads = [];
    private readonly Dictionary<string, List<(int? Id, bool Verified)>> _knownBreakpoints = new(StringComparer.Ordinal);
    private Task _completion = Task.CompletedTask;
    private int _seq = 1;
    private volatile Mode _mode = Mode.Pending;
    private JsonObject? _initializeArgs;
    private JsonObject? _attachArgs;
    private JsonObject? _exceptionBreakpoints;
    private JsonObject? _functionBreakpoints;
    private bool _initializeAnswered;
    private bool _attachForwarded;
    private bool _configurationDone;
    private bool _supportsStartDebugging;
    private bool _terminatedSent;
    private bool _disconnectForwarded;
    private bool _closing;
    private BackendLink? _link;
    private bool _linkLive;
    private int _generation;
    private long _waitEpoch;
    private long _queueIds;
    private string? _endReason;
    private string? _refusal;
    private volatile bool _left;

    public EditorConnection(DapProxy proxy, Stream stream, int id, DapProxyOptions options, IProgressReporter progress, Socket? socket = null)
    {
        _proxy = proxy;
        _stream = stream;
        _socket = socket;
        Id = id;
        _options = options;
        _progress = progress;
    }

    public int Id { get; }

    public string Name => $"editor connection {Id}";

    public bool IsRoot => _mode == Mode.Root;

    /// <summary>The backend key a child session is bound to (null otherwise).</summary>
    public string? ChildKey { get; private set; }

    /// <summary>
    /// Whether the editor has gone: its connection ended, as seen by the read loop or, before the read loop
    /// got to it, by the socket itself (readable with nothing to read is the peer's FIN). An editor that
    /// closes and at once starts another must find the slot free: the FIN arrived before the new connection did.
    /// </summary>
    public bool HasLeft
    {
        get
        {
            if (_left) return true;
            if (_socket is not { } socket) return false;
            try
            {
                return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return true;
            }
        }
    }

    /// <summary>Ends when the connection is closed and its work is done.</summary>
    public Task Completion => _completion;

    public void Start()
    {
        var reader = Task.Run(() => ReadLoopAsync(new BufferedStream(_stream, 64 * 1024)));
        _completion = Task.WhenAll(reader, Task.Run(WorkLoopAsync));
    }

    public void PostBackendAdded(ProxyBackend backend) => Post(() => OnBackendAddedAsync(backend));

    public void PostBackendRemoved(ProxyBackend backend, string reason) => Post(() => OnBackendRemovedAsync(backend, reason));

    public void PostClose(string reason) => Post(() => CloseAsync(reason));

    /// <summary>This child session's parent session closed: the editor is told it ended, and the connection closes.</summary>
    public void PostParentEnded() => Post(async () =>
    {
        if (_closing) return;
        await SendTerminatedAsync();
        await CloseAsync("its parent session ended");
    });

    private void Post(Func<Task> work) => _work.Writer.TryWrite(work);

    private async Task WorkLoopAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync())
        {
            try
            {
                await work();
            }
            catch (Exception e)
            {
                // A bug or an I/O failure on this connection: it ends, the proxy and the others go on.
                _progress.Step($"wand proxy: {Name} failed ({e.GetType().Name}: {e.Message}); closing it");
                await CloseAsync("an internal error");
            }
        }
    }

    private async Task ReadLoopAsync(Stream reader)
    {
        string reason;
        try
        {
            while (await DapFraming.ReadAsync(reader, _options.MaxMessageBytes, _closed.Token) is { } message)
                Post(() => OnEditorMessageAsync(message));
            reason = "the editor closed the connection";
            // Free the editor slot now, not when the work queue gets to the close: the next editor may already be connecting.
            _left = true;
            _proxy.Release(this);
        }
        catch (Exception) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (DapProtocolException e)
        {
            reason = $"the editor broke the protocol ({e.Message})";
            _progress.Step($"wand proxy: closing {Name}: {reason}");
        }
        catch (Exception e)
        {
            reason = $"the connection broke ({e.Message})";
        }
        PostClose(reason);
    }

    // ---- editor to proxy -------------------------------------------------------------------------

    private async Task OnEditorMessageAsync(JsonObject message)
    {
        if (_closing) return;
        var type = DapJson.String(message, "type");
        if (type == "response")
        {
            if (_mode == Mode.Root) await OnRootReverseResponseAsync(message);
            return;
        }
        if (type != "request" || !DapJson.TryInt(message, "seq", out var seq)) return; // not something that can be answered
        if (DapJson.String(message, "command") is not { Length: > 0 } command)
        {
            await SendAsync(ProxyMessages.Error(seq, "", "a request without a command"));
            return;
        }
        await HandleRequestAsync(message, seq, command);
    }

    private async Task HandleRequestAsync(JsonObject request, int seq, string command)
    {
        var arguments = request["arguments"] as JsonObject;
        switch (_mode)
        {
            case Mode.Refused:
                await SendAsync(ProxyMessages.Error(seq, command, _refusal ?? "refused"));
                return;
            case Mode.Ended:
                if (command == "disconnect")
                {
                    await SendAsync(ProxyMessages.Response(seq, command));
                    await CloseAsync("the editor disconnected");
                }
                else await SendAsync(ProxyMessages.Error(seq, command, $"the debug session has ended: {_endReason}"));
                return;
            case Mode.Root:
                await HandleRootRequestAsync(seq, command, arguments);
                return;
        }

        switch (command)
        {
            case "initialize":
                await OnInitializeAsync(request, seq, arguments);
                break;
            case "attach":
                await OnAttachAsync(request, seq, arguments);
                break;
            case "launch":
                await SendAsync(ProxyMessages.Error(seq, command, "wand debugs processes that already run: use \"request\": \"attach\""));
                break;
            case "terminate":
                // Never forwarded: ending the debug session must not end the app.
                await SendAsync(ProxyMessages.Response(seq, command));
                await SendTerminatedAsync();
                break;
            case "disconnect":
                await OnDisconnectAsync(request, seq, arguments);
                break;
            case "cancel" when arguments is not null && DapJson.Int(arguments, "requestId") is { } cancelled:
                await OnCancelAsync(request, seq, arguments, cancelled);
                break;
            default:
                await RouteAsync(request, seq, command, arguments);
                break;
        }
    }

    private async Task OnInitializeAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_initializeArgs is not null)
        {
            await SendAsync(ProxyMessages.Error(seq, "initialize", "this connection is already initialized"));
            return;
        }
        _initializeArgs = arguments?.DeepClone().AsObject() ?? [];
        _supportsStartDebugging = DapJson.Bool(_initializeArgs, "supportsStartDebuggingRequest");
        if (_proxy.Admit(this) is { } refusal)
        {
            await RefuseAsync(seq, "initialize", refusal);
            return;
        }
        if (_proxy.Capabilities is { } capabilities)
        {
            // Known from an earlier connection: the backend is chosen at attach (a child session names its own).
            _initializeAnswered = true;
            await SendAsync(ProxyMessages.Response(seq, "initialize", capabilities));
            return;
        }
        if (PickBackend() is not { } backend)
        {
            // wand's port opens before the first process is armed, and an editor started together with
            // `wand debug` (F5 at once) connects in that gap: its initialize waits for the process, as any
            // request does between two processes, and is answered once one is there (OnBackendAddedAsync).
            _progress.Step($"wand proxy: {Name} waits for the first process to be ready");
            Enqueue(request, seq, "initialize", expires: false);
            StartBackendWait("no process was ready yet");
            return;
        }
        StartLink(backend, ReplayKind.None);
        Enqueue(request, seq, "initialize");
    }

    private async Task OnAttachAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_initializeArgs is null || _attachArgs is not null)
        {
            await SendAsync(ProxyMessages.Error(seq, "attach", _attachArgs is null ? "send initialize first" : "this connection is already attached"));
            return;
        }
        var attach = arguments?.DeepClone().AsObject() ?? [];
        var marker = DapJson.String(attach, BackendMarker);
        attach.Remove(BackendMarker);
        request["arguments"] = attach.DeepClone();

        if (marker is not null)
        {
            if (_proxy.FindBackend(marker) is not { } child)
            {
                await SendAsync(ProxyMessages.Error(seq, "attach", $"the process '{marker}' is no longer there"));
                await EndAsync($"the process '{marker}' went away");
                return;
            }
            _mode = Mode.Child;
            ChildKey = marker;
            _attachArgs = attach;
            await BindAsync(child, request, seq);
            return;
        }
        if (!_proxy.IsPrimary(this))
        {
            await RefuseAsync(seq, "attach", _proxy.SecondEditorRefusal);
            return;
        }
        _attachArgs = attach;
        if (_supportsStartDebugging && (_options.AllBackends || _proxy.BackendCount > 1))
        {
            await BecomeRootAsync(seq);
            return;
        }
        _mode = Mode.Single;
        if ((_link?.Backend ?? PickBackend()) is { } backend) await BindAsync(backend, request, seq);
        else
        {
            // No process right now (between two): the attach waits for the next one, within bounds.
            Enqueue(request, seq, "attach");
            StartBackendWait("no process was attached yet");
        }
    }

    /// <summary>Sends the attach to <paramref name="backend"/>, connecting to it first (replaying initialize) if needed.</summary>
    private async Task BindAsync(ProxyBackend backend, JsonObject request, int seq)
    {
        if (_link is { } link && ReferenceEquals(link.Backend, backend))
        {
            if (_linkLive) await ForwardAsync(request, seq, "attach");
            else Enqueue(request, seq, "attach");
            return;
        }
        if (_link is { } other)
        {
            _link = null;
            _ = other.CloseAsync(detach: false, _options.Time);
        }
        StartLink(backend, ReplayKind.Initialize);
        Enqueue(request, seq, "attach");
    }

    private async Task OnDisconnectAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_link is not null && _linkLive)
        {
            // Forced: whatever the editor asks, the app keeps running and debugpy keeps listening.
            var detach = arguments?.DeepClone().AsObject() ?? [];
            detach["terminateDebuggee"] = false;
            detach["suspendDebuggee"] = false;
            detach["restart"] = false;
            request["arguments"] = detach;
            _disconnectForwarded = true;
            await ForwardAsync(request, seq, "disconnect");
            // The connection closes when the answer is relayed; if none comes, it closes anyway.
            _ = Task.Delay(TimeSpan.FromSeconds(5), _options.Time, _closed.Token).ContinueWith(
                t => { if (!t.IsCanceled) PostClose("the editor disconnected (debugpy did not answer)"); }, TaskScheduler.Default);
            return;
        }
        _proxy.Release(this);
        await SendAsync(ProxyMessages.Response(seq, "disconnect"));
        await CloseAsync("the editor disconnected");
    }

    /// <summary>
    /// <c>cancel</c> names an editor sequence number: a request still queued here is answered as cancelled;
    /// one sent to the backend is cancelled under the backend's number; anything else is already answered.
    /// </summary>
    private async Task OnCancelAsync(JsonObject request, int seq, JsonObject arguments, int cancelled)
    {
        var index = _queue.FindIndex(q => q.Seq == cancelled);
        if (index >= 0)
        {
            var queued = _queue[index];
            _queue.RemoveAt(index);
            await SendAsync(ProxyMessages.Error(queued.Seq, queued.Command, "cancelled"));
            await SendAsync(ProxyMessages.Response(seq, "cancel"));
            return;
        }
        if (_link is { } link && _linkLive && link.BackendSeqOf(cancelled) is { } backendSeq)
        {
            arguments["requestId"] = backendSeq;
            await ForwardAsync(request, seq, "cancel");
            return;
        }
        await SendAsync(ProxyMessages.Response(seq, "cancel"));
    }

    /// <summary>Records what is replayed later, then forwards, queues, or answers the request itself while there is no backend.</summary>
    private async Task RouteAsync(JsonObject request, int seq, string command, JsonObject? arguments)
    {
        Record(command, arguments);
        if (_link is not null)
        {
            if (_linkLive) await ForwardAsync(request, seq, command);
            else Enqueue(request, seq, command); // connecting or replaying: in order, right after
            return;
        }
        if (!_initializeAnswered)
        {
            await SendAsync(ProxyMessages.Error(seq, command, "send initialize first"));
            return;
        }
        // Between two processes: what is configuration is kept for the next one and answered here.
        switch (command)
        {
            case "setBreakpoints":
                var pending = Unverified(arguments, "set again as soon as the next process is attached", _ids);
                if (arguments?["source"] is JsonObject source) Remember(SourceKey(source), pending);
                await SendAsync(ProxyMessages.Response(seq, command, pending));
                return;
            case "setFunctionBreakpoints":
                await SendAsync(ProxyMessages.Response(seq, command, Unverified(arguments, "set again as soon as the next process is attached", null)));
                return;
            case "setExceptionBreakpoints":
            case "configurationDone":
                await SendAsync(ProxyMessages.Response(seq, command));
                return;
            case "threads":
                await SendAsync(ProxyMessages.Response(seq, command, new JsonObject { ["threads"] = new JsonArray() }));
                return;
        }
        if (arguments is not null && _ids.RefuseWithoutBackend(arguments.DeepClone().AsObject()) is { } why)
        {
            await SendAsync(ProxyMessages.Error(seq, command, why));
            return;
        }
        Enqueue(request, seq, command);
    }

    private void Record(string command, JsonObject? arguments)
    {
        switch (command)
        {
            case "setBreakpoints" when arguments is not null && arguments["source"] is JsonObject source:
                var key = SourceKey(source);
                if (arguments["breakpoints"] is JsonArray { Count: > 0 } || arguments["lines"] is JsonArray { Count: > 0 })
                    _breakpoints[key] = arguments.DeepClone().AsObject();
                else _breakpoints.Remove(key); // cleared: nothing to replay
                break;
            case "setExceptionBreakpoints":
                _exceptionBreakpoints = arguments?.DeepClone().AsObject() ?? new JsonObject { ["filters"] = new JsonArray() };
                break;
            case "setFunctionBreakpoints":
                _functionBreakpoints = arguments?.DeepClone().AsObject() ?? new JsonObject { ["breakpoints"] = new JsonArray() };
                break;
            case "configurationDone":
                _configurationDone = true;
                break;
        }
    }

    /// <summary>Breakpoints are kept per source: its path, else its reference, else its name.</summary>
    private static string SourceKey(JsonObject source)
    {
        if (DapJson.String(source, "path") is { } path) return path;
        if (DapJson.Int(source, "sourceReference") is { } reference) return "#" + reference.ToString(CultureInfo.InvariantCulture);
        return DapJson.String(source, "name") ?? "";
    }

    /// <summary>Sends an editor request to the live backend under the link's own sequence number, its ids translated.</summary>
    private async Task ForwardAsync(JsonObject request, int seq, string command)
    {
        var link = _link;
        if (link is null || !_linkLive)
        {
            Enqueue(request, seq, command);
            return;
        }
        var sourceKey = command == "setBreakpoints" && request["arguments"]?["source"] is JsonObject source ? SourceKey(source) : null;
        if (request["arguments"] is JsonObject arguments)
        {
            if (_ids.ToBackend(arguments, link.Generation) is { } why)
            {
                await SendAsync(ProxyMessages.Error(seq, command, why));
                return;
            }
            if (command == "initialize") request["arguments"] = BackendLink.ForBackend(arguments);
            if (command == "attach") request["arguments"] = BackendLink.AttachForBackend(arguments);
        }
        if (command == "attach") _attachForwarded = true;
        try
        {
            await link.SendEditorRequestAsync(request, new BackendLink.EditorRequest(seq, command, sourceKey));
        }
        catch (DapConnectionClosedException)
        {
            // The link's end is on its way to this queue too; this request is answered now.
            if (command == "disconnect") await SendAsync(ProxyMessages.Response(seq, command)); // detached all the same
            else await SendAsync(ProxyMessages.Error(seq, command, $"{link.Backend.Description} went away before answering"));
        }
    }

    // ---- backend links -------------------------------------------------------------------------------

    private ProxyBackend? PickBackend() => _proxy.MostRecentBackend(b => !_failed.Contains(b));

    private ReplayKind NextReplayKind() => _attachForwarded ? ReplayKind.Full : _initializeAnswered ? ReplayKind.Initialize : ReplayKind.None;

    private void StartLink(ProxyBackend backend, ReplayKind kind)
    {
        var generation = ++_generation;
        _ids.Describe(generation, backend.Description);
        _liveThreads.Clear();
        var link = new BackendLink(backend, generation, _options.MaxMessageBytes,
            (l, message, request) => Post(() => OnBackendMessageAsync(l, message, request)),
            (l, reason) => Post(() => OnLinkClosedAsync(l, reason)),
            (l, arguments, body) => Post(() => OnReplayedBreakpointsAsync(l, arguments, body)));
        _link = link;
        _linkLive = false;
        var plan = new ReplayPlan(kind, _initializeArgs?.DeepClone().AsObject(), _attachArgs?.DeepClone().AsObject(),
            [.. _breakpoints.Values.Select(b => b.DeepClone().AsObject())],
            _exceptionBreakpoints?.DeepClone().AsObject(), _functionBreakpoints?.DeepClone().AsObject(), _configurationDone);
        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(_options.ReplayTimeout, _options.Time);
            using var both = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _closed.Token);
            try
            {
                await link.ConnectAsync(both.Token);
                var capabilities = await link.ReplayAsync(plan, both.Token);
                Post(() => OnLinkReadyAsync(link, capabilities, kind));
            }
            catch (Exception e)
            {
                var why = e is OperationCanceledException && timeout.IsCancellationRequested
                    ? $"its debugpy did not answer within {Seconds(_options.ReplayTimeout)} s"
                    : e.Message;
                Post(() => OnLinkFailedAsync(link, why));
            }
        });
    }

    private async Task OnLinkReadyAsync(BackendLink link, JsonObject? capabilities, ReplayKind kind)
    {
        if (!ReferenceEquals(link, _link)) return;
        if (capabilities is not null)
        {
            _proxy.Capabilities = capabilities;
            _initializeAnswered = true;
        }
        _linkLive = true;
        _waitEpoch++; // no longer waiting for a backend
        if (kind == ReplayKind.Full)
        {
            var armed = _options.Time.GetElapsedTime(link.Backend.AddedAt);
            _progress.Step($"wand proxy: {Name} continues on {link.Backend.Description}: breakpoints armed {armed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms after it was added");
            await SendAsync(ProxyMessages.Output($"wand: now debugging {link.Backend.Description}; breakpoints are set again"));
        }
        await FlushQueueAsync();
    }

    private async Task OnLinkFailedAsync(BackendLink link, string why)
    {
        if (!ReferenceEquals(link, _link)) return;
        _progress.Step($"wand proxy: {Name} could not use {link.Backend.Description}: {why}");
        _failed.Add(link.Backend);
        await LoseLinkAsync($"wand could not debug {link.Backend.Description} ({why})");
    }

    private async Task OnLinkClosedAsync(BackendLink link, string reason)
    {
        if (!ReferenceEquals(link, _link)) return;
        _failed.Add(link.Backend);
        await LoseLinkAsync($"{link.Backend.Description} went away: {reason}");
    }

    private async Task OnBackendAddedAsync(ProxyBackend backend)
    {
        if (_closing) return;
        switch (_mode)
        {
            case Mode.Root:
                await AnnounceAsync(backend);
                break;
            case Mode.Pending or Mode.Single when _link is null && (_initializeAnswered || _initializeArgs is not null):
                StartLink(backend, NextReplayKind()); // a held initialize goes through once connected
                break;
        }
    }

    private async Task OnBackendRemovedAsync(ProxyBackend backend, string reason)
    {
        if (_closing) return;
        if (_mode == Mode.Root)
        {
            ForgetAnnouncement(backend.Key);
            return;
        }
        if (_link is { } link && ReferenceEquals(link.Backend, backend))
        {
            _failed.Add(backend);
            await LoseLinkAsync($"{backend.Description} went away ({reason})");
        }
    }

    /// <summary>
    /// The backend is gone: answer what it will never answer, tell the editor its threads exited, and
    /// continue on the next backend (single process) or end (child session).
    /// </summary>
    private async Task LoseLinkAsync(string what)
    {
        var link = _link!;
        _link = null;
        _linkLive = false;
        _progress.Step($"wand proxy: {Name}: {what}");
        _ = link.DisposeAsync().AsTask();
        if (_disconnectForwarded)
        {
            // The editor was leaving: a process that went away meanwhile is detached all the same.
            foreach (var request in link.Unanswered.Where(r => r.Command == "disconnect"))
                await SendAsync(ProxyMessages.Response(request.EditorSeq, request.Command));
            await CloseAsync("the editor disconnected");
            return;
        }
        foreach (var request in link.Unanswered)
            await SendAsync(ProxyMessages.Error(request.EditorSeq, request.Command, $"{link.Backend.Description} went away before answering (the process was replaced or exited)"));
        foreach (var thread in _liveThreads.Order().ToList()) await SendAsync(ProxyMessages.ThreadExited(thread));
        _liveThreads.Clear();
        if (_mode == Mode.Child)
        {
            await SendAsync(ProxyMessages.Output($"wand: {what}"));
            await EndAsync(what);
            return;
        }
        if (PickBackend() is { } next)
        {
            await SendAsync(ProxyMessages.Output($"wand: {what}; continuing on {next.Description}"));
            StartLink(next, NextReplayKind());
            return;
        }
        await SendAsync(ProxyMessages.Output($"wand: {what}; waiting up to {Seconds(_options.BackendWaitTimeout)} s for the next process (this debug session stays open)"));
        StartBackendWait(what);
    }

    private void StartBackendWait(string reason)
    {
        var epoch = ++_waitEpoch;
        _ = Task.Delay(_options.BackendWaitTimeout, _options.Time, _closed.Token).ContinueWith(
            t => { if (!t.IsCanceled) Post(() => OnBackendWaitExpiredAsync(epoch, reason)); }, TaskScheduler.Default);
    }

    private async Task OnBackendWaitExpiredAsync(long epoch, string reason)
    {
        if (epoch != _waitEpoch || _link is not null || _mode is Mode.Ended or Mode.Root) return;
        var text = $"no process to debug came back within {Seconds(_options.BackendWaitTimeout)} s ({reason}); wand ends this debug session";
        _progress.Step($"wand proxy: {Name}: {text}");
        await SendAsync(ProxyMessages.Output($"wand: {text}"));
        await EndAsync(text);
    }

    private async Task OnBackendMessageAsync(BackendLink link, JsonObject message, BackendLink.EditorRequest? request)
    {
        if (!ReferenceEquals(link, _link) || _closing) return;
        switch (DapJson.String(message, "type"))
        {
            case "response" when request is not null:
                await RelayResponseAsync(link, message, request);
                break;
            case "event":
                await RelayEventAsync(link, message);
                break;
            case "request":
                // Reverse requests from the debuggee's side are refused: debugpy sends runInTerminal (launch
                // only) and startDebugging (subprocesses), and wand forwards neither.
                var command = DapJson.String(message, "command") ?? "?";
                _progress.Step($"wand proxy: refused the reverse request '{command}' from {link.Backend.Description}");
                if (DapJson.TryInt(message, "seq", out var seq))
                {
                    try
                    {
                        await link.SendResponseAsync(ProxyMessages.Error(seq, command, $"wand does not forward the reverse request '{command}' to the editor"));
                    }
                    catch (DapConnectionClosedException)
                    {
                        // gone meanwhile; its end is reported separately
                    }
                }
                break;
        }
    }

    private async Task RelayResponseAsync(BackendLink link, JsonObject response, BackendLink.EditorRequest request)
    {
        response["request_seq"] = request.EditorSeq;
        var success = DapJson.Bool(response, "success");
        if (response["body"] is JsonObject body)
        {
            _ids.ToEditor(body, link.Generation, request.Command);
            if (success && request.Command == "initialize")
            {
                _proxy.Capabilities = body;
                _initializeAnswered = true;
            }
            if (success && request.Command == "setBreakpoints" && request.SourceKey is { } key) Remember(key, body);
            if (success && request.Command == "threads")
                foreach (var thread in DapJson.Objects(body, "threads"))
                    if (DapJson.Int(thread, "id") is { } id) _liveThreads.Add(id);
        }
        // The slot is free before the editor hears that it disconnected, so an editor it starts next is never refused.
        if (request.Command == "disconnect") _proxy.Release(this);
        await SendAsync(response);
        if (request.Command == "disconnect") await CloseAsync("the editor disconnected");
    }

    private async Task RelayEventAsync(BackendLink link, JsonObject message)
    {
        var name = DapJson.String(message, "event");
        var body = message["body"] as JsonObject;
        if (body is not null) _ids.EventToEditor(name, body, link.Generation);
        switch (name)
        {
            case "terminated" or "exited" when _mode != Mode.Child:
                // The process ended, not the editor's session: it continues on the next process.
                return;
            case "terminated":
                if (_terminatedSent) return;
                _terminatedSent = true;
                break;
            case "thread" when body is not null && DapJson.Int(body, "threadId") is { } thread:
                if (DapJson.String(body, "reason") == "exited") _liveThreads.Remove(thread);
                else _liveThreads.Add(thread);
                break;
            case "stopped" when body is not null && DapJson.Int(body, "threadId") is { } stopped:
                _liveThreads.Add(stopped);
                break;
        }
        await SendAsync(message);
    }

    /// <summary>
    /// A replayed setBreakpoints was answered by the new backend: its breakpoints get the ids the editor
    /// already knows (same source, same position), and the editor hears of each whose verification changed.
    /// </summary>
    private async Task OnReplayedBreakpointsAsync(BackendLink link, JsonObject arguments, JsonObject body)
    {
        if (!ReferenceEquals(link, _link) || arguments["source"] is not JsonObject source) return;
        var key = SourceKey(source);
        var known = _knownBreakpoints.GetValueOrDefault(key) ?? [];
        var breakpoints = DapJson.Objects(body, "breakpoints").ToList();
        for (var i = 0; i < breakpoints.Count; i++)
        {
            var breakpoint = breakpoints[i];
            _ids.ToEditor(breakpoint, link.Generation, null); // its source's references, if any
            var backendId = DapJson.Int(breakpoint, "id");
            int? editorId = i < known.Count ? known[i].Id : null;
            if (editorId is { } id && backendId is { } fromBackend) _ids.AliasBreakpoint(link.Generation, fromBackend, id);
            else if (backendId is { } fresh) editorId = _ids.EditorBreakpointId(link.Generation, fresh);
            if (editorId is null) continue;
            breakpoint["id"] = editorId;
            if (i >= known.Count || known[i].Verified == DapJson.Bool(breakpoint, "verified")) continue; // nothing new to the editor
            await SendAsync(ProxyMessages.Event("breakpoint", new JsonObject { ["reason"] = "changed", ["breakpoint"] = breakpoint.DeepClone() }));
        }
        Remember(key, body);
    }

    /// <summary>The ids and verification the editor was last told for the breakpoints of one source.</summary>
    private void Remember(string sourceKey, JsonObject body) =>
        _knownBreakpoints[sourceKey] = [.. DapJson.Objects(body, "breakpoints").Select(b => (DapJson.Int(b, "id"), DapJson.Bool(b, "verified")))];

    // ---- queue, ending, writing ----------------------------------------------------------------------

    /// <param name="expires">False for a request whose wait ends with the backend wait (<see cref="StartBackendWait"/>) instead.</param>
    private void Enqueue(JsonObject request, int seq, string command, bool expires = true)
    {
        var id = ++_queueIds;
        _queue.Add(new Queued(id, request, seq, command));
        if (!expires) return;
        _ = Task.Delay(_options.RequestWaitTimeout, _options.Time, _closed.Token).ContinueWith(
            t => { if (!t.IsCanceled) Post(() => ExpireAsync(id)); }, TaskScheduler.Default);
    }

    private async Task ExpireAsync(long id)
    {
        var index = _queue.FindIndex(q => q.Id == id);
        if (index < 0) return;
        var queued = _queue[index];
        _queue.RemoveAt(index);
        await SendAsync(ProxyMessages.Error(queued.Seq, queued.Command,
            $"no process could answer within {Seconds(_options.RequestWaitTimeout)} s: the debugged process is being replaced"));
    }

    private async Task FlushQueueAsync()
    {
        var queued = _queue.ToList();
        _queue.Clear();
        foreach (var item in queued)
        {
            if (_link is null || !_linkLive || _closing)
            {
                _queue.Add(item); // lost again meanwhile: still waiting, under its first deadline
                continue;
            }
            if (item.Command is "initialize" or "attach") await ForwardAsync(item.Request, item.Seq, item.Command);
            else await HandleRequestAsync(item.Request, item.Seq, item.Command);
        }
    }

    private async Task RefuseAsync(int seq, string command, string refusal)
    {
        _mode = Mode.Refused;
        _refusal = refusal;
        _progress.Step($"wand proxy: refused {Name}: {refusal}");
        await SendAsync(ProxyMessages.Error(seq, command, refusal));
        await SendAsync(ProxyMessages.Output($"wand: {refusal}"));
        await CloseAsync("refused");
    }

    /// <summary>Ends the editor's session (it gets <c>terminated</c>); the connection stays until the editor disconnects.</summary>
    private async Task EndAsync(string reason)
    {
        _mode = Mode.Ended;
        _endReason = reason;
        _waitEpoch++;
        _proxy.Release(this); // an ended session debugs nothing: the next editor may come in while this one lingers
        if (_link is { } link)
        {
            _link = null;
            _ = link.CloseAsync(detach: _attachForwarded, _options.Time);
        }
        foreach (var queued in _queue) await SendAsync(ProxyMessages.Error(queued.Seq, queued.Command, $"the debug session has ended: {reason}"));
        _queue.Clear();
        await SendTerminatedAsync();
    }

    private async Task SendTerminatedAsync()
    {
        if (_terminatedSent) return;
        _terminatedSent = true;
        await SendAsync(ProxyMessages.Event("terminated"));
    }

    /// <summary>Closes the connection; the backend, if attached, is detached with <c>terminateDebuggee: false</c>.</summary>
    private async Task CloseAsync(string reason)
    {
        if (_closing) return;
        _closing = true;
        _left = true;
        _waitEpoch++;
        _progress.Step($"wand proxy: {Name} closed: {reason}");
        _queue.Clear();
        _proxy.Remove(this);
        if (_link is { } link)
        {
            _link = null;
            await link.CloseAsync(detach: _attachForwarded && !_disconnectForwarded, _options.Time);
        }
        await _closed.CancelAsync();
        await _stream.DisposeAsync();
        _work.Writer.TryComplete();
    }

    /// <summary>Writes one message to the editor with the next sequence number of this connection; returns that number.</summary>
    private async Task<int> SendAsync(JsonObject message)
    {
        var seq = _seq++;
        if (_closed.IsCancellationRequested) return seq;
        message["seq"] = seq;
        try
        {
            await DapFraming.WriteAsync(_stream, message, _closed.Token);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            PostClose($"writing to the editor failed ({e.Message})");
        }
        return seq;
    }

    /// <summary>The breakpoints of a setBreakpoints/setFunctionBreakpoints request, each unverified with <paramref name="why"/>.</summary>
    private static JsonObject Unverified(JsonObject? arguments, string why, IdTranslator? ids)
    {
        var result = new JsonArray();
        var requested = arguments?["breakpoints"] as JsonArray ?? arguments?["lines"] as JsonArray ?? [];
        foreach (var item in requested)
        {
            var breakpoint = new JsonObject { ["verified"] = false, ["message"] = why };
            if (ids is not null) breakpoint["id"] = ids.NewBreakpointId(); // so the replay can tell the editor when it is verified
            if (item is JsonObject b && DapJson.Int(b, "line") is { } line) breakpoint["line"] = line;
            else if (item is JsonValue v && v.TryGetValue<int>(out var bare)) breakpoint["line"] = bare;
            result.Add(breakpoint);
        }
        return new JsonObject { ["breakpoints"] = result };
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private sealed record Queued(long Id, JsonObject Request, int Seq, string Command);
}
