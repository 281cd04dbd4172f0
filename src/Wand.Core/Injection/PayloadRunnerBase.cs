using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Progress;

namespace Wand.Injection;

/// <summary>
/// Runs one of wand's payloads inside a live process and returns its JSON answer, whatever the route
/// (from this machine through /proc, or from inside a container through its runtime's exec). The
/// rules every route shares live here; a route only knows how to deliver one request.
/// </summary>
public abstract class PayloadRunnerBase(TimeProvider time, IProgressReporter progress)
{
    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(50);

    protected TimeProvider Time => time;
    protected IProgressReporter Progress => progress;

    /// <param name="safePointTimeout">How long the target may take to reach a safe point and accept the request.</param>
    /// <param name="resultTimeout">How long the payload may take to answer once accepted (then <see cref="NoAnswerException"/>); null waits as long as the target lives.</param>
    public async Task<JsonElement> RunAsync(int pid, string payload, JsonObject request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        // A target that is starting up may be halfway through an import: the payload then declines
        // at once (prelude.py) and is sent again a moment later, within the safe-point timeout.
        var started = time.GetTimestamp();
        var lost = 0;
        while (true)
        {
            var result = await RunOnceAsync(pid, payload, request, safePointTimeout, resultTimeout, cancellationToken);
            if (result.TryGetProperty("error", out var error) && error.GetString() == "payload-failed")
                throw new InjectionFailedException($"wand's code failed inside PID {pid}: {result.GetProperty("detail").GetString()?.Trim().Split('\n')[^1]}",
                    "this is a bug in wand; please report it with the Python version of the target");
            if (!result.TryGetProperty("error", out error) || error.GetString() is not ("busy-importing" or "not-started")) return result;
            if (error.GetString() == "not-started")
            {
                // The target took the script and failed before running it (PayloadRunner): nothing of it ran.
                if (++lost > 2) throw new InjectionFailedException($"PID {pid} took wand's code three times without running it", "its stderr says why (CPython's \"Can't open debugger script\"); try again");
                progress.Step($"PID {pid} took wand's code but did not run it; sending it again");
                continue;
            }
            var module = result.GetProperty("module").GetString();
            if (time.GetElapsedTime(started) > safePointTimeout)
                throw new StillImportingException(pid, module, safePointTimeout);
            progress.Step($"PID {pid} is importing {module}; trying again in a moment");
            await Task.Delay(BusyRetryDelay, time, cancellationToken);
        }
    }

    /// <summary>
    /// Delivers one request and returns the payload's answer as written (prelude.py's result.json).
    /// Cancelled, it withdraws the request, which removes its request.json: a payload still running
    /// reads that as "stop" (exec_capture.py interrupts the user's code).
    /// </summary>
    protected abstract Task<JsonElement> RunOnceAsync(int pid, string payload, JsonObject request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a folder of this machine (a Python package) readable inside the target; returns its path
    /// there, or null when this route cannot copy files. Removed again with <see cref="RemoveLent"/>.
    /// </summary>
    public abstract string? Lend(int pid, string hostFolder, string name);

    /// <summary>Removes a folder made by <see cref="Lend"/>.</summary>
    public abstract void RemoveLent(int pid, string pathInTarget);

    /// <summary>The target's root as seen from this machine ("/" when not reachable from here).</summary>
    public abstract string RootOnThisMachine(int pid);
}
