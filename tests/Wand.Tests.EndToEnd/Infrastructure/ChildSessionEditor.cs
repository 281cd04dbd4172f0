using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// An editor that supports <c>startDebugging</c>, as VS Code does: its root session opens a child session
/// for each process wand offers, sets one breakpoint there, and every stop at it is counted per child
/// session (named by wand after its process: "PID 12", "POD PID 1") and continued. The PID asked from
/// the stopped frame must be the one the session is named after. For `wand debug --all`.
/// </summary>
public sealed class ChildSessionEditor : IAsyncDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly DapClient _root;
    private readonly int _port;
    private readonly string _file;
    private readonly int _line;
    private readonly string _function;
    private readonly ConcurrentQueue<DapClient> _children = new();
    private readonly ConcurrentDictionary<string, int> _stops = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly CancellationTokenSource _done = new();
    private int _ended;

    private ChildSessionEditor(DapClient root, int port, string file, int line, string function)
    {
        _root = root;
        _port = port;
        _file = file;
        _line = line;
        _function = function;
    }

    /// <summary>Connects to wand's port and attaches as the root session; children open as wand offers processes.</summary>
    /// <param name="configuration">The attach configuration's own keys (wand hands it to every child session).</param>
    public static async Task<ChildSessionEditor> AttachAsync(int port, string file, int line, string function, JsonObject? configuration = null)
    {
        var root = await DapClient.ConnectAsync("127.0.0.1", port);
        var editor = new ChildSessionEditor(root, port, file, line, function);
        root.OnStartDebugging(editor.RunChildAsync);
        await root.AttachAsync(editor.Breakpoint(), configuration, new JsonObject { ["supportsStartDebuggingRequest"] = true }).WaitAsync(RequestTimeout);
        return editor;
    }

    /// <summary>Stops counted so far, per child session name.</summary>
    public IReadOnlyDictionary<string, int> Stops => new Dictionary<string, int>(_stops);

    /// <summary>Child sessions opened so far.</summary>
    public int ChildCount => _children.Count;

    /// <summary>Child sessions that wand ended (their process went away) and that disconnected, as an editor does.</summary>
    public int EndedCount => Volatile.Read(ref _ended);

    /// <summary>Waits for <paramref name="condition"/>; fails with what was seen if a child session had a problem or time runs out.</summary>
    public Task WaitUntilAsync(Func<ChildSessionEditor, bool> condition, TimeSpan timeout, string what) =>
        Eventually.TrueAsync(
            () => _problems.IsEmpty ? condition(this) : throw new InvalidOperationException($"while waiting for {what}: {Describe()}"),
            timeout, what, Describe);

    /// <summary>Fails if a child session had a problem (an unverified breakpoint, a stop in the wrong process, an error).</summary>
    public void ThrowIfProblems()
    {
        if (!_problems.IsEmpty) throw new InvalidOperationException(Describe());
    }

    public string Describe() =>
        $"{ChildCount} child sessions ({EndedCount} ended), stops: {{{string.Join(", ", Stops.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}"))}}}"
        + (_problems.IsEmpty ? "" : $"; problems:\n{string.Join("\n", _problems)}");

    private Dictionary<string, IReadOnlyList<int>> Breakpoint() => new() { [_file] = [_line] };

    private async Task RunChildAsync(JsonObject configuration)
    {
        var name = (string?)configuration["name"] ?? "?";
        try
        {
            var child = await DapClient.ConnectAsync("127.0.0.1", _port);
            _children.Enqueue(child);
            var attached = await child.AttachAsync(Breakpoint(), configuration).WaitAsync(RequestTimeout);
            if (!attached.Breakpoints[_file][0].Verified) _problems.Enqueue($"{name}: the breakpoint was not verified");
            // wand ends a child session whose process went away with 'terminated'; the editor then disconnects.
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(_done.Token);
            var terminated = child.WaitForEventAsync("terminated", null, Timeout.InfiniteTimeSpan, ended.Token);
            _ = terminated.ContinueWith(_ => ended.Cancel(), TaskScheduler.Default);
            while (!ended.IsCancellationRequested)
            {
                DapStopped stopped;
                try
                {
                    stopped = await child.WaitForStoppedAsync(Timeout.InfiniteTimeSpan, ended.Token);
                }
                catch (OperationCanceledException) when (terminated.IsCompletedSuccessfully)
                {
                    Interlocked.Increment(ref _ended);
                    await child.DisconnectAsync().WaitAsync(RequestTimeout);
                    return;
                }
                // A thread that a continue of another stop already resumed has no frames any more: skip it.
                IReadOnlyList<DapStackFrame> frames;
                try
                {
                    frames = await child.StackTraceAsync(stopped.ThreadId).WaitAsync(RequestTimeout);
                }
                catch (DapRequestFailedException)
                {
                    continue;
                }
                if (frames.Count == 0 || frames[0].Name != _function || frames[0].Line != _line)
                {
                    await child.ContinueAsync(stopped.ThreadId).WaitAsync(RequestTimeout);
                    continue;
                }
                // FastAPI runs the handler in a thread pool: two requests can stop two threads of one worker,
                // and continuing one resumes both, so the other's stop is stale by the time it is asked.
                var pid = await child.EvaluateAsync("__import__('os').getpid()", frames[0].Id).WaitAsync(RequestTimeout);
                if (!int.TryParse(pid, out _))
                {
                    await child.ContinueAsync(stopped.ThreadId).WaitAsync(RequestTimeout);
                    continue;
                }
                if (!name.EndsWith($"PID {pid}", StringComparison.Ordinal)) _problems.Enqueue($"{name}: stopped in PID {pid}");
                _stops.AddOrUpdate(name, 1, (_, n) => n + 1);
                await child.ContinueAsync(stopped.ThreadId).WaitAsync(RequestTimeout);
            }
        }
        catch (Exception) when (_done.IsCancellationRequested)
        {
            // the test is done with it
        }
        catch (Exception e)
        {
            _problems.Enqueue($"{name}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// As a user ending the session: each child clears its breakpoint, continues whatever is stopped and
    /// disconnects; then the root disconnects. Bounded: a child that does not answer is dropped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _done.CancelAsync();
        foreach (var child in _children)
        {
            try
            {
                await child.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = _file }, ["breakpoints"] = new JsonArray() })
                    .WaitAsync(TimeSpan.FromSeconds(10));
                foreach (var thread in (await child.RequestAsync("threads").WaitAsync(TimeSpan.FromSeconds(10)))["threads"]!.AsArray())
                    await child.RequestAsync("continue", new JsonObject { ["threadId"] = (int)thread!["id"]! }).WaitAsync(TimeSpan.FromSeconds(10));
                await child.DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is DapException or TimeoutException)
            {
                // ended, or not answering: closing it below detaches it as well
            }
            await child.DisposeAsync();
        }
        try
        {
            await _root.DisconnectAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is DapException or TimeoutException)
        {
            // closing it below is what matters
        }
        await _root.DisposeAsync();
        _done.Dispose();
    }
}
