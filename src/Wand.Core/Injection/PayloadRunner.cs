using System.Text.Json;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Payloads;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>
/// Runs one of wand's payloads inside a live local process (PEP 768): the request and the result
/// travel as JSON files in a private folder inside the target's root (prelude.py), which is removed
/// afterwards whatever happens.
/// </summary>
public sealed class PayloadRunner(ProcFs procfs, TimeProvider time, IProgress progress)
{
    public ProcFs ProcFs => procfs;

    /// <param name="safePointTimeout">How long the target may take to reach a safe point and accept the request.</param>
    /// <param name="resultTimeout">How long the payload may take to answer once accepted; null waits as long as the target lives.</param>
    public async Task<JsonElement> RunAsync(int pid, string payload, object request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        // A target that is starting up may be halfway through an import: the payload then declines
        // at once (prelude.py) and is sent again a moment later, within the safe-point timeout.
        var started = time.GetTimestamp();
        while (true)
        {
            var result = await RunOnceAsync(pid, payload, request, safePointTimeout, resultTimeout, cancellationToken);
            if (!result.TryGetProperty("error", out var error) || error.GetString() != "busy-importing") return result;
            var module = result.GetProperty("module").GetString();
            if (time.GetElapsedTime(started) > safePointTimeout)
                throw new InjectionFailedException($"PID {pid} is still importing {module} (starting up) after {safePointTimeout.TotalSeconds:0.#} s",
                    "try again once the application has started, or pass a longer --timeout");
            progress.Step($"PID {pid} is importing {module}; trying again in a moment");
            await Task.Delay(BusyRetryDelay, time, cancellationToken);
        }
    }

    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(50);

    private async Task<JsonElement> RunOnceAsync(int pid, string payload, object request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        progress.Step($"reading the interpreter state of PID {pid}");
        using var target = Pep768Target.Open(pid, procfs, time);
        if (!target.RemoteDebuggingEnabled) throw new RemoteDebugDisabledException(pid);
        using var targetLock = await TargetLock.AcquireAsync(pid, procfs, safePointTimeout, time, cancellationToken);
        using var dir = TargetWorkDir.Create(pid, procfs);
        dir.WriteFile("request.json", JsonSerializer.Serialize(request));
        var script = dir.WriteFile("run.py", Payload.Script(payload, dir.TargetPath));

        progress.Step($"asking PID {pid} (Python {target.Offsets.Version}) to run wand's {Path.GetFileNameWithoutExtension(payload)} at its next safe point");
        await target.InjectAsync(script, safePointTimeout, cancellationToken);
        return await WaitForResultAsync(pid, dir.HostFile("result.json"), resultTimeout, cancellationToken);
    }

    private async Task<JsonElement> WaitForResultAsync(int pid, string resultFile, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (!File.Exists(resultFile))
        {
            if (!procfs.Exists(pid)) throw new TargetExitedException(pid, "while running wand's code");
            if (timeout is { } t && time.GetElapsedTime(started) > t)
                throw new InjectionFailedException($"PID {pid} accepted wand's code but gave no answer within {t.TotalSeconds:0.#} s", "look at the target's stderr for an error from the injected script");
            await Task.Delay(2, cancellationToken);
        }
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(resultFile, cancellationToken));
        var result = doc.RootElement.Clone();
        if (result.TryGetProperty("error", out var error) && error.GetString() == "payload-failed")
            throw new InjectionFailedException($"wand's code failed inside PID {pid}: {result.GetProperty("detail").GetString()?.Trim().Split('\n')[^1]}",
                "this is a bug in wand; please report it with the Python version of the target");
        return result;
    }
}
