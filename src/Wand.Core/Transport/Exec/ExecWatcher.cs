using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Payloads;
using Wand.Progress;

namespace Wand.Transport.Exec;

/// <summary>
/// A long-running <c>kubectl exec -i</c> (or <c>podman exec -i</c>) of agent.py's watch mode with the
/// target's own interpreter: it polls /proc inside every 50 ms and prints a process listing whenever a
/// process starts, ends or execs, and a heartbeat line every second otherwise. The latest listing lets
/// the route notice a new reload worker within a tenth of a second without an exec per poll. The
/// watcher is started again when it ends or falls silent; while it is not running, <see cref="Latest"/>
/// is null and the route polls through exec as before.
/// </summary>
public sealed class ExecWatcher(IExecTarget target, Func<string?> interpreter, IProgressReporter progress, TimeProvider time) : IAsyncDisposable
{
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(3);

    private readonly Supervisor _supervisor = new(time);
    private ChildProcess? _process;
    private (JsonElement Listing, string Place)? _latest;
    private long _lastLine;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private StreamWriter? _requests;
    private int _nextId;

    /// <summary>How many times the watcher was started again after it ended.</summary>
    public int Restarts { get; private set; }

    /// <summary>The PID of the running watcher's exec client (for diagnostics), or null.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>
    /// The latest listing (agent.py ps format) while the watcher runs, reports regularly and still
    /// watches the place the target names now; else null.
    /// </summary>
    public JsonElement? Latest
    {
        get
        {
            var latest = _latest;
            return latest is { } l && l.Place == target.Description && time.GetElapsedTime(Interlocked.Read(ref _lastLine)) < Silence ? l.Listing : null;
        }
    }

    /// <summary>Starts watching (once; later calls do nothing).</summary>
    public void Start() => _supervisor.Start(SuperviseAsync);

    private int _retargeted;

    /// <summary>
    /// The target moved (a pod session followed its replacement pod): the running exec, still in the
    /// old place, ends and the watcher starts again in the new one at once, without reporting an end.
    /// </summary>
    public void Retarget()
    {
        Interlocked.Exchange(ref _retargeted, 1);
        _process?.Kill(); // nothing when it ended by itself meanwhile
    }

    /// <summary>
    /// Sends one agent.py request (a listing, lending files) through the running watcher (no exec of its
    /// own: a tenth to a third of a second less); null when the watcher is not running or ended before
    /// answering (send it through an exec then).
    /// </summary>
    public async Task<JsonElement?> TryRequestAsync(JsonObject request, CancellationToken cancellationToken)
    {
        var writer = _requests;
        if (writer is null || Latest is null) return null;
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            await _writeLock.WaitAsync(cancellationToken);
            try
            {
                await writer.WriteLineAsync(new JsonObject { ["id"] = id, ["request"] = request.DeepClone() }.ToJsonString().AsMemory(), cancellationToken);
                await writer.FlushAsync(cancellationToken);
            }
            finally
            {
                _writeLock.Release();
            }
            return await answer.Task.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return null;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>The first listing of a watcher just started; null when it ended first (its interpreter is not Python, say) or took longer than <paramref name="timeout"/>.</summary>
    public async Task<JsonElement?> FirstListingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var restarts = Restarts;
        while (time.GetElapsedTime(started) < timeout)
        {
            if (Latest is { } latest) return latest;
            if (Restarts != restarts) return null;
            await ChangedAsync(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
        return null;
    }

    /// <summary>Completes when the next listing arrives (a process started, ended or exec'd), or after <paramref name="timeout"/>.</summary>
    public async Task ChangedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var changed = _changed.Task;
        await Task.WhenAny(changed, Task.Delay(timeout, time, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task SuperviseAsync()
    {
        while (!_supervisor.Stopping)
        {
            var interp = interpreter();
            if (interp is null)
            {
                await _supervisor.DelayAsync(TimeSpan.FromMilliseconds(200));
                continue;
            }
            var place = target.Description;
            var startedAt = time.GetTimestamp();
            string? why;
            try
            {
                why = await RunOnceAsync(interp, place);
            }
            catch (OperationCanceledException) when (_supervisor.Stopping)
            {
                return;
            }
            _latest = null;
            Signal();
            if (_supervisor.Stopping) return;
            if (Interlocked.Exchange(ref _retargeted, 0) == 1) continue; // moved on purpose: no report, no backoff
            Restarts++;
            await _supervisor.EndedAsync(time.GetElapsedTime(startedAt), TimeSpan.FromSeconds(5),
                () => progress.Step($"the process watcher in {place} ended ({why}); starting it again"));
        }
    }

    /// <summary>Runs one watcher until it ends or falls silent; returns why it ended.</summary>
    private async Task<string> RunOnceAsync(string interp, string place)
    {
        var stderr = new Queue<string>();
        void OnError(string line)
        {
            if (string.IsNullOrWhiteSpace(line)) return;
            lock (stderr)
            {
                stderr.Enqueue(line.Trim());
                while (stderr.Count > 3) stderr.Dequeue();
            }
        }
        ChildProcess process;
        try
        {
            process = ProcessRunner.Start(target.Program, target.ExecArguments([interp, "-I", "-S", "-c", Payload.AgentBoot]), new ChildProcessOptions { OnErrorLine = OnError });
        }
        catch (ProcessRunner.NotInstalledException)
        {
            return $"{target.Program} could not be started";
        }
        using (process)
        {
            _process = process;
            try
            {
                var request = new JsonObject { ["agent"] = Payload.Read(Payload.Agent), ["request"] = new JsonObject { ["op"] = "watch", ["interval"] = 0.05, ["heartbeat"] = 1.0, ["serve"] = true } };
                await process.StandardInput.WriteLineAsync(request.ToJsonString());
                await process.StandardInput.FlushAsync();
                _requests = process.StandardInput; // stays open: requests follow, and its end tells the agent to go
                Interlocked.Exchange(ref _lastLine, time.GetTimestamp());
                while (true)
                {
                    using var silence = CancellationTokenSource.CreateLinkedTokenSource(_supervisor.Token);
                    silence.CancelAfter(Silence);
                    string? line;
                    try
                    {
                        line = await process.StandardOutput.ReadLineAsync(silence.Token);
                    }
                    catch (OperationCanceledException) when (!_supervisor.Stopping)
                    {
                        return $"silent for {Silence.TotalSeconds:0} s";
                    }
                    if (line is null) break;
                    Interlocked.Exchange(ref _lastLine, time.GetTimestamp());
                    if (!line.StartsWith('{')) continue;
                    using var doc = JsonDocument.Parse(line);
                    if (doc.RootElement.TryGetProperty("id", out var id) && doc.RootElement.TryGetProperty("answer", out var answer))
                    {
                        if (_pending.TryGetValue(id.GetInt32(), out var waiting)) waiting.TrySetResult(answer.Clone());
                        continue;
                    }
                    if (!doc.RootElement.TryGetProperty("processes", out _)) continue; // heartbeat
                    _latest = (doc.RootElement.Clone(), place);
                    Signal();
                }
                await process.WaitForExitAsync(_supervisor.Token);
                lock (stderr) return stderr.Count > 0 ? string.Join(" ", stderr) : $"exit {process.ExitCode}";
            }
            catch (IOException e)
            {
                return e.Message;
            }
            catch (JsonException e)
            {
                return $"unreadable output: {e.Message}";
            }
            finally
            {
                _requests = null;
                foreach (var waiting in _pending.Values) waiting.TrySetException(new IOException("the watcher ended"));
                process.Kill();
                _process = null;
            }
        }
    }

    private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        if (await _supervisor.StopAsync()) _writeLock.Dispose();
    }
}
