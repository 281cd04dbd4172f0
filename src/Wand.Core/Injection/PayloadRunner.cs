using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Payloads;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>
/// The route from this machine (PEP 768 through /proc and process memory, or ptrace for 3.9-3.13): the request and the result
/// travel as JSON files in a private folder inside the target's root, removed afterwards whatever happens.
/// </summary>
public sealed class PayloadRunner(ProcFs procfs, TimeProvider time, IProgressReporter progress) : PayloadRunnerBase(time, progress)
{
    public ProcFs ProcFs => procfs;

    protected override async Task<JsonElement> RunOnceAsync(int pid, string payload, JsonObject request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        Progress.Step($"reading the interpreter state of PID {pid}");
        using var target = ScriptInjectors.Open(pid, procfs, Time);
        using var targetLock = await TargetLock.AcquireAsync(pid, procfs, safePointTimeout, Time, cancellationToken);
        using var dir = TargetWorkDir.Create(pid, procfs);
        dir.WriteFile("request.json", request.ToJsonString());
        dir.WriteFile("run.py", Payload.Script(payload, dir.TargetPath));

        Progress.Step($"asking PID {pid} ({target.Description}) to run wand's {Path.GetFileNameWithoutExtension(payload)} at its next safe point");
        await target.InjectAsync(dir, "run.py", safePointTimeout, cancellationToken);
        return await WaitForResultAsync(pid, dir.HostFile("result.json"), dir.HostFile("started"), resultTimeout, cancellationToken);
    }

    public override string? Lend(int pid, string hostFolder, string name)
    {
        using var dir = TargetWorkDir.Create(pid, procfs, "wand-lent-");
        dir.CopyTree(hostFolder, name);
        dir.Keep();
        return dir.TargetPath;
    }

    public override void RemoveLent(int pid, string pathInTarget) => TargetWorkDir.Remove(pid, procfs, pathInTarget);

    public override string RootOnThisMachine(int pid) => procfs.ReadLink(pid, "root") ?? "/";

    /// <summary>
    /// How long a script the target took may go without reaching wand's first line (prelude.py's "started"
    /// marker, written within milliseconds). CPython can take the script and fail before running it: 3.14's
    /// remote exec then prints "Can't open debugger script ... KeyError: '__import__'" on the app's stderr
    /// (seen on uvicorn reload workers; most likely io.open_code importing through the current frame's
    /// builtins at a safe point in a frame with restricted ones, as collections.namedtuple's __new__ has).
    /// Such a script never answers: it is sent again (PayloadRunnerBase), not waited for a minute.
    /// </summary>
    private static readonly TimeSpan NotStartedTimeout = TimeSpan.FromSeconds(3);

    private async Task<JsonElement> WaitForResultAsync(int pid, string resultFile, string startedFile, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var started = Time.GetTimestamp();
        while (!File.Exists(resultFile))
        {
            if (!procfs.Exists(pid)) throw new TargetExitedException(pid, "while running wand's code");
            if (Time.GetElapsedTime(started) > NotStartedTimeout && !File.Exists(startedFile) && !File.Exists(resultFile))
                return JsonDocument.Parse("""{"ok": false, "error": "not-started"}""").RootElement.Clone();
            if (timeout is { } t && Time.GetElapsedTime(started) > t)
                throw new NoAnswerException(pid, t);
            await Task.Delay(2, cancellationToken);
        }
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(resultFile, cancellationToken));
        return doc.RootElement.Clone();
    }
}
