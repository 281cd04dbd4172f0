using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Wand.Session.Dap;

/// <summary>
/// The editor's side of one DAP connection. A background loop reads every message and dispatches it:
/// responses complete the request with the same <c>request_seq</c>; events go to a buffer that
/// <see cref="WaitForEventAsync"/> consumes (and to <see cref="Events"/>); reverse requests from the
/// adapter are refused unless a handler was registered with <see cref="OnReverseRequest"/>.
/// </summary>
/// <remarks>
/// Safe to use from several tasks at once: writes are serialised here and each request gets its own
/// sequence number, starting at 1. When the connection ends, every pending request and event wait fails
/// with <see cref="DapConnectionClosedException"/>.
/// </remarks>
public sealed class DapClient : IAsyncDisposable
{
    /// <summary>How many events <see cref="Events"/> and the unconsumed buffer each keep before dropping the oldest.</summary>
    public const int MaxKeptEvents = 10_000;

    private const string DisposedReason = "the DAP client was disposed";

    private readonly Stream _stream;
    private readonly Stream _reader;
    private readonly TimeProvider _time;
    private readonly int _maxMessageBytes;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationToken _stopToken;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, PendingRequest> _pending = [];
    private readonly Queue<JsonObject> _events = new();
    private readonly List<JsonObject> _unconsumed = [];
    private readonly List<EventWaiter> _waiters = [];
    private readonly ConcurrentDictionary<string, Func<JsonObject, Task<JsonObject?>>> _reverseHandlers = new(StringComparer.Ordinal);
    private readonly Task _readLoop;
    private int _nextSeq = 1;
    private string? _closeReason;
    private Exception? _closeCause;
    private int _disposed;

    /// <summary>Starts a client over an already connected stream, which it owns from now on.</summary>
    /// <param name="stream">A readable and writable stream; one read and one write may be in progress at once (as on a socket).</param>
    /// <param name="timeProvider">Time for <see cref="WaitForEventAsync"/> timeouts; the system clock when null.</param>
    /// <param name="maxMessageBytes">The largest message body accepted from the adapter.</param>
    public DapClient(Stream stream, TimeProvider? timeProvider = null, int maxMessageBytes = DapFraming.DefaultMaxBodyBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanWrite) throw new ArgumentException("a DAP connection must be readable and writable", nameof(stream));
        _stream = stream;
        // DapFraming reads headers byte by byte; the buffer turns that into a few large socket reads.
        // Writes go to the stream itself, so the buffer never has to switch direction.
        _reader = new BufferedStream(stream, 64 * 1024);
        _time = timeProvider ?? TimeProvider.System;
        _maxMessageBytes = maxMessageBytes;
        _stopToken = _stop.Token;
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Connects over TCP to an adapter listening at <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <exception cref="SocketException">Nothing listens there, or the host cannot be resolved.</exception>
    public static async Task<DapClient> ConnectAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new DapClient(new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>Every event received so far, oldest first (a snapshot; the last <see cref="MaxKeptEvents"/>), for diagnostics.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_gate) return [.. _events];
        }
    }

    /// <summary>Completes when the connection has ended (closed by the adapter, broken, or disposed).</summary>
    public Task Completion => _readLoop;

    /// <summary>
    /// Answers the adapter's reverse request <paramref name="command"/> (e.g. <c>runInTerminal</c>) with
    /// <paramref name="handler"/>: it receives the request's <c>arguments</c> and returns the response body;
    /// if it throws, the adapter gets <c>success: false</c> with the exception's message. Replaces any
    /// earlier handler for the same command. Commands without a handler are refused.
    /// </summary>
    public void OnReverseRequest(string command, Func<JsonObject, Task<JsonObject?>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        ArgumentNullException.ThrowIfNull(handler);
        _reverseHandlers[command] = handler;
    }

    /// <summary>Sends a request and returns its response's <c>body</c> (an empty object when it has none).</summary>
    /// <remarks>Cancelling abandons the wait, not the request: a late response is dropped.</remarks>
    /// <exception cref="DapRequestFailedException">The adapter answered with <c>success: false</c>.</exception>
    /// <exception cref="DapConnectionClosedException">The connection ended before the response arrived.</exception>
    public async Task<JsonObject> RequestAsync(string command, JsonObject? arguments = null, CancellationToken cancellationToken = default)
    {
        var response = await SendRequestAsync(command, arguments, cancellationToken);
        return await response.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Sends a request now and returns, once it is written, the task of its response body (see
    /// <see cref="RequestAsync"/>). For requests answered only after later ones, such as debugpy's
    /// <c>attach</c>, which is answered after <c>configurationDone</c>.
    /// </summary>
    /// <remarks>
    /// <paramref name="arguments"/> is serialised as it is when sent and left unchanged (one that already
    /// belongs to another JSON tree is copied). Cancelling stops the send only before it starts writing.
    /// </remarks>
    public async Task<Task<JsonObject>> SendRequestAsync(string command, JsonObject? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        var pending = new PendingRequest(command);
        var message = new JsonObject { ["seq"] = 0, ["type"] = "request", ["command"] = command };
        if (arguments is not null) message["arguments"] = arguments.Parent is null ? arguments : arguments.DeepClone();
        try
        {
            await SendAsync(message, command, seq => _pending.Add(seq, pending), seq => _pending.Remove(seq), cancellationToken);
        }
        finally
        {
            // Hand the caller's object back without a parent, so it can be sent again.
            message.Remove("arguments");
        }
        return pending.Completion.Task;
    }

    /// <summary>
    /// Returns the first not yet consumed event named <paramref name="eventName"/> for which
    /// <paramref name="predicate"/> holds, waiting for it if none has arrived yet, and consumes it (a later
    /// wait does not see it again). Events that arrived before the call are found.
    /// </summary>
    /// <remarks><paramref name="predicate"/> runs under the client's lock: keep it quick and do not call the client from it.</remarks>
    /// <exception cref="TimeoutException">No such event within <paramref name="timeout"/> (the message lists the events seen).</exception>
    /// <exception cref="DapConnectionClosedException">The connection ended first.</exception>
    public async Task<JsonObject> WaitForEventAsync(string eventName, Func<JsonObject, bool>? predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "must be zero or more, or infinite");
        var waiter = new EventWaiter(eventName, predicate);
        lock (_gate)
        {
            for (var i = 0; i < _unconsumed.Count; i++)
            {
                if (!waiter.Matches(_unconsumed[i])) continue;
                var found = _unconsumed[i];
                _unconsumed.RemoveAt(i);
                return found;
            }
            if (_closeReason is not null) throw new DapConnectionClosedException($"no '{eventName}' event: {_closeReason}", _closeCause);
            _waiters.Add(waiter);
        }

        try
        {
            return await waiter.Completion.Task.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
                if (!waiter.Completion.Task.IsCompleted)
                {
                    if (ex is TimeoutException) throw new TimeoutException(TimeoutMessage(eventName, predicate is not null, timeout));
                    throw;
                }
            }
            // The event (or the end of the connection) came just as the wait ended: keep that outcome.
            return await waiter.Completion.Task;
        }
    }

    /// <summary>Stops reading, closes the stream and fails whatever is still pending.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync();
        try
        {
            // The read loop never throws. Cancellation ends a pending read on sockets and pipes...
            await _readLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // ...and closing the stream below ends any other kind.
        }
        await _stream.DisposeAsync();
        Close(DisposedReason, null);
        _stop.Dispose();
    }

    private async Task SendAsync(JsonObject message, string command, Action<int>? register, Action<int>? unregister, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            // Numbered under the write lock, so sequence numbers go out in order.
            var seq = _nextSeq++;
            message["seq"] = seq;
            lock (_gate)
            {
                if (_closeReason is not null) throw new DapConnectionClosedException($"cannot send '{command}': {_closeReason}", _closeCause);
                register?.Invoke(seq);
            }
            try
            {
                // Not the caller's token: a write abandoned half way would corrupt the stream for everyone.
                await DapFraming.WriteAsync(_stream, message, _stopToken);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
            {
                lock (_gate) unregister?.Invoke(seq);
                var reason = _stopToken.IsCancellationRequested ? DisposedReason : $"the connection to the debug adapter broke: {ex.Message}";
                throw new DapConnectionClosedException($"cannot send '{command}': {reason}", ex);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        string reason;
        Exception? cause = null;
        try
        {
            while (await DapFraming.ReadAsync(_reader, _maxMessageBytes, _stopToken) is { } message)
                Dispatch(message);
            reason = "the debug adapter closed the connection";
        }
        catch (Exception ex) when (_stopToken.IsCancellationRequested)
        {
            reason = DisposedReason;
            cause = ex is OperationCanceledException ? null : ex;
        }
        catch (DapProtocolException ex)
        {
            reason = $"the debug adapter broke the protocol: {ex.Message}";
            cause = ex;
        }
        catch (Exception ex)
        {
            reason = $"the connection to the debug adapter broke: {ex.Message}";
            cause = ex;
        }
        Close(reason, cause);
    }

    private void Dispatch(JsonObject message)
    {
        switch (DapJson.String(message, "type"))
        {
            case "response":
                CompleteRequest(message);
                break;
            case "event":
                DeliverEvent(message);
                break;
            case "request":
                AnswerReverseRequest(message);
                break;
            default:
                // Not a DAP message kind; ignoring it keeps the session alive.
                break;
        }
    }

    private void CompleteRequest(JsonObject response)
    {
        if (!DapJson.TryInt(response, "request_seq", out var requestSeq)) return;
        PendingRequest? pending;
        lock (_gate)
        {
            if (!_pending.Remove(requestSeq, out pending)) return; // not ours, or already failed
        }
        var body = response["body"] as JsonObject;
        if (body is not null) response.Remove("body");
        if (DapJson.Bool(response, "success"))
        {
            pending.Completion.TrySetResult(body ?? []);
            return;
        }
        var adapterMessage = DapJson.String(response, "message") is { Length: > 0 } m ? m
            : body?["error"] is JsonObject error && DapJson.String(error, "format") is { Length: > 0 } format ? format
            : "the adapter gave no reason";
        pending.Completion.TrySetException(new DapRequestFailedException(pending.Command, adapterMessage, body));
    }

    private void DeliverEvent(JsonObject message)
    {
        if (DapJson.String(message, "event") is null) return;
        lock (_gate)
        {
            _events.Enqueue(message);
            if (_events.Count > MaxKeptEvents) _events.Dequeue();
            for (var i = 0; i < _waiters.Count; i++)
            {
                var waiter = _waiters[i];
                bool matches;
                try
                {
                    matches = waiter.Matches(message);
                }
                catch (Exception ex)
                {
                    // A throwing predicate fails its own wait, not the connection.
                    _waiters.RemoveAt(i--);
                    waiter.Completion.TrySetException(ex);
                    continue;
                }
                if (!matches) continue;
                _waiters.RemoveAt(i);
                waiter.Completion.TrySetResult(message);
                return;
            }
            _unconsumed.Add(message);
            if (_unconsumed.Count > MaxKeptEvents) _unconsumed.RemoveAt(0);
        }
    }

    private void AnswerReverseRequest(JsonObject request)
    {
        if (!DapJson.TryInt(request, "seq", out var requestSeq)) return; // cannot be answered
        var command = DapJson.String(request, "command") ?? "";
        var arguments = request["arguments"] as JsonObject ?? [];
        // Off the read loop: a handler may take its time, and the response is written like any message.
        _ = Task.Run(async () =>
        {
            var response = new JsonObject { ["seq"] = 0, ["type"] = "response", ["request_seq"] = requestSeq, ["command"] = command };
            if (!_reverseHandlers.TryGetValue(command, out var handler))
            {
                // As debugpy's own relay does: reverse requests are refused unless explicitly allowed.
                response["success"] = false;
                response["message"] = $"wand does not handle the reverse request '{command}'";
            }
            else
            {
                try
                {
                    var body = await handler(arguments);
                    response["success"] = true;
                    if (body is not null) response["body"] = body.Parent is null ? body : body.DeepClone();
                }
                catch (Exception ex)
                {
                    response["success"] = false;
                    response["message"] = ex.Message;
                }
            }
            try
            {
                await SendAsync(response, command, null, null, CancellationToken.None);
            }
            catch (DapConnectionClosedException)
            {
                // The connection is gone; nobody is left to answer.
            }
        });
    }

    private void Close(string reason, Exception? cause)
    {
        lock (_gate)
        {
            if (_closeReason is not null) return;
            _closeReason = reason;
            _closeCause = cause;
            // Completed under the lock so a timing-out wait sees either its waiter pending or its outcome;
            // continuations run asynchronously, never here.
            foreach (var pending in _pending.Values)
                pending.Completion.TrySetException(new DapConnectionClosedException($"no response to '{pending.Command}': {reason}", cause));
            _pending.Clear();
            foreach (var waiter in _waiters)
                waiter.Completion.TrySetException(new DapConnectionClosedException($"no '{waiter.EventName}' event: {reason}", cause));
            _waiters.Clear();
        }
    }

    /// <summary>"no 'stopped' event within 10 s; events seen: initialized, output x3" (caller holds the lock).</summary>
    private string TimeoutMessage(string eventName, bool withPredicate, TimeSpan timeout)
    {
        var text = new StringBuilder($"no '{eventName}' event{(withPredicate ? " matching the condition" : "")} within {timeout.TotalSeconds:0.###} s; events seen: ");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in _events)
        {
            var name = DapJson.String(e, "event") ?? "?";
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        text.Append(counts.Count == 0 ? "none" : string.Join(", ", counts.Select(c => c.Value == 1 ? c.Key : $"{c.Key} x{c.Value}")));
        return text.ToString();
    }

    private sealed class PendingRequest(string command)
    {
        public string Command { get; } = command;
        public TaskCompletionSource<JsonObject> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class EventWaiter(string eventName, Func<JsonObject, bool>? predicate)
    {
        public string EventName { get; } = eventName;
        public TaskCompletionSource<JsonObject> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Matches(JsonObject message) =>
            DapJson.String(message, "event") == EventName && (predicate?.Invoke(message) ?? true);
    }
}
