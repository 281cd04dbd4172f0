using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Tests.Unit.Dap;

namespace Wand.Tests.Unit.Proxy;

/// <summary>
/// A backend for the proxy that answers as debugpy does, over in-memory connections: every
/// <see cref="ConnectAsync"/> is a new session. Its ids are the same small numbers in every
/// instance (thread 1, frame 1, variables 7), as two debugpys would issue them, so leaks show.
/// </summary>
internal sealed class FakeDebugpy(string key)
{
    private readonly ConcurrentQueue<Session> _sessions = new();
    private readonly SemaphoreSlim _connected = new(0);

    public string Key { get; } = key;

    /// <summary>Breakpoint ids this debugpy gives are BASE+1, BASE+2, ... per setBreakpoints (debugpy's own are process-wide counters).</summary>
    public int BreakpointIdBase { get; init; }

    public IReadOnlyList<Session> Sessions => [.. _sessions];

    /// <summary>Passed to <c>AddBackend</c>.</summary>
    public Task<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var (proxySide, ours) = DuplexPipeStream.CreatePair();
        var session = new Session(this, ours);
        _sessions.Enqueue(session);
        _connected.Release();
        return Task.FromResult<Stream>(proxySide);
    }

    /// <summary>The next session opened (in order), waiting for it.</summary>
    public async Task<Session> NextSessionAsync(int index)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_sessions.Count <= index)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Key}: no session #{index + 1}");
            await _connected.WaitAsync(TimeSpan.FromMilliseconds(50));
        }
        return _sessions.ToArray()[index];
    }

    /// <summary>One connection from the proxy: answers requests, records them, and lets the test send events.</summary>
    internal sealed class Session
    {
        private readonly FakeDebugpy _owner;
        private readonly DuplexPipeStream _stream;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly Lock _gate = new();
        private readonly List<JsonObject> _received = [];
        private readonly List<(Func<JsonObject, bool> Match, TaskCompletionSource<JsonObject> Seen)> _waiters = [];
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private JsonObject? _attach;
        private int _seq = 5000;

        public Session(FakeDebugpy owner, DuplexPipeStream stream)
        {
            _owner = owner;
            _stream = stream;
            _ = Task.Run(LoopAsync);
        }

        /// <summary>Commands that are recorded but never answered.</summary>
        public HashSet<string> Unanswered { get; } = [];

        public IReadOnlyList<JsonObject> Received
        {
            get { lock (_gate) return [.. _received]; }
        }

        public IReadOnlyList<string> Commands => [.. Received.Where(m => (string?)m["type"] == "request").Select(m => (string)m["command"]!)];

        /// <summary>Completes when the proxy closed this connection.</summary>
        public Task Ended => _ended.Task;

        public Task<JsonObject> WaitForRequestAsync(string command) => WaitForAsync(m => (string?)m["type"] == "request" && (string?)m["command"] == command);

        public Task<JsonObject> WaitForAsync(Func<JsonObject, bool> match)
        {
            var seen = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                var found = _received.Find(m => match(m));
                if (found is not null) return Task.FromResult(found);
                _waiters.Add((match, seen));
            }
            return seen.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }

        public Task SendEventAsync(string name, JsonObject? body = null)
        {
            var message = new JsonObject { ["seq"] = 0, ["type"] = "event", ["event"] = name };
            if (body is not null) message["body"] = body;
            return SendAsync(message);
        }

        public Task StoppedAsync(int threadId = 1, int? breakpointId = null)
        {
            var body = new JsonObject { ["reason"] = "breakpoint", ["threadId"] = threadId, ["allThreadsStopped"] = true };
            if (breakpointId is { } id) body["hitBreakpointIds"] = new JsonArray(id);
            return SendEventAsync("stopped", body);
        }

        public async Task SendRawAsync(string text)
        {
            await _writeLock.WaitAsync();
            try
            {
                await _stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
            }
            finally
            {
                _writeLock.Release();
            }
        }

        /// <summary>Ends the connection from debugpy's side (the process died).</summary>
        public Task CloseAsync() => _stream.CloseWriteAsync();

        public async Task SendAsync(JsonObject message)
        {
            await _writeLock.WaitAsync();
            try
            {
                message["seq"] = _seq++;
                await DapFraming.WriteAsync(_stream, message);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // the proxy closed it
            }
            finally
            {
                _writeLock.Release();
            }
        }

        private async Task LoopAsync()
        {
            try
            {
                while (await DapFraming.ReadAsync(_stream) is { } message)
                {
                    lock (_gate)
                    {
                        _received.Add(message);
                        for (var i = _waiters.Count - 1; i >= 0; i--)
                        {
                            if (!_waiters[i].Match(message)) continue;
                            _waiters[i].Seen.TrySetResult(message);
                            _waiters.RemoveAt(i);
                        }
                    }
                    if ((string?)message["type"] == "request") await AnswerAsync(message);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or DapProtocolException or InvalidOperationException)
            {
            }
            _ended.TrySetResult();
        }

        private Task RespondAsync(JsonObject request, JsonObject? body = null, bool success = true, string? message = null)
        {
            var response = new JsonObject
            {
                ["seq"] = 0,
                ["type"] = "response",
                ["request_seq"] = (int)request["seq"]!,
                ["success"] = success,
                ["command"] = (string?)request["command"],
            };
            if (message is not null) response["message"] = message;
            if (body is not null) response["body"] = body;
            return SendAsync(response);
        }

        private async Task AnswerAsync(JsonObject request)
        {
            var command = (string)request["command"]!;
            var arguments = request["arguments"] as JsonObject ?? [];
            if (Unanswered.Contains(command)) return;
            switch (command)
            {
                case "initialize":
                    await RespondAsync(request, new JsonObject { ["supportsConfigurationDoneRequest"] = true, ["supportsTerminateRequest"] = true, ["fakeBackend"] = _owner.Key });
                    break;
                case "attach":
                    // As debugpy: initialized now, the attach response after configurationDone.
                    _attach = request;
                    await SendEventAsync("initialized");
                    break;
                case "setBreakpoints":
                    var lines = (arguments["breakpoints"] as JsonArray ?? []).Select(b => (int)b!["line"]!).ToList();
                    await RespondAsync(request, new JsonObject
                    {
                        ["breakpoints"] = new JsonArray([.. lines.Select((l, i) => (JsonNode)new JsonObject { ["id"] = _owner.BreakpointIdBase + i + 1, ["verified"] = true, ["line"] = l })]),
                    });
                    break;
                case "setExceptionBreakpoints" or "setFunctionBreakpoints":
                    await RespondAsync(request, new JsonObject { ["breakpoints"] = new JsonArray() });
                    break;
                case "configurationDone":
                    await RespondAsync(request);
                    if (_attach is not null) await RespondAsync(_attach);
                    break;
                case "threads":
                    await RespondAsync(request, new JsonObject { ["threads"] = new JsonArray(new JsonObject { ["id"] = 1, ["name"] = $"MainThread of {_owner.Key}" }) });
                    break;
                case "stackTrace" when (int?)arguments["threadId"] == 1:
                    await RespondAsync(request, new JsonObject
                    {
                        ["stackFrames"] = new JsonArray(new JsonObject { ["id"] = 1, ["name"] = $"tick in {_owner.Key}", ["line"] = 3, ["column"] = 1 }),
                        ["totalFrames"] = 1,
                    });
                    break;
                case "scopes" when (int?)arguments["frameId"] == 1:
                    await RespondAsync(request, new JsonObject { ["scopes"] = new JsonArray(new JsonObject { ["name"] = "Locals", ["variablesReference"] = 7, ["expensive"] = false }) });
                    break;
                case "variables" when (int?)arguments["variablesReference"] == 7:
                    await RespondAsync(request, new JsonObject
                    {
                        ["variables"] = new JsonArray(
                            new JsonObject { ["name"] = "backend", ["value"] = $"'{_owner.Key}'", ["variablesReference"] = 0 },
                            new JsonObject { ["name"] = "items", ["value"] = "[1]", ["variablesReference"] = 8 }),
                    });
                    break;
                case "continue":
                    await RespondAsync(request, new JsonObject { ["allThreadsContinued"] = true });
                    break;
                case "evaluate":
                    await RespondAsync(request, new JsonObject { ["result"] = $"{_owner.Key}:{(string?)arguments["expression"]}", ["variablesReference"] = 0 });
                    break;
                case "disconnect" or "cancel":
                    await RespondAsync(request);
                    break;
                default:
                    await RespondAsync(request, success: false, message: $"fake debugpy {_owner.Key} cannot '{command}' with {arguments.ToJsonString()}");
                    break;
            }
        }
    }
}
