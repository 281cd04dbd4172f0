using System.Text.Json;
using Wand.Errors;
using Wand.Injection.Attacher;
using Wand.Injection.Payloads;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>
/// Runs Python source inside a live local process (PEP 768) and brings back its output: the request
/// and the result travel as files in a private folder inside the target's root, which is removed
/// afterwards whatever happens.
/// </summary>
public sealed class CodeRunner(ProcFs procfs, TimeProvider time, IProgress progress)
{
    public CodeRunner() : this(ProcFs.Default, TimeProvider.System, NullProgress.Instance) { }

    /// <param name="safePointTimeout">How long the target may take to reach a safe point and accept the request.</param>
    public async Task<ExecResult> RunAsync(int pid, string source, string filename, TimeSpan safePointTimeout, CancellationToken cancellationToken)
    {
        progress.Step($"reading the interpreter state of PID {pid}");
        using var target = Pep768Target.Open(pid, procfs, time);
        if (!target.RemoteDebuggingEnabled) throw new RemoteDebugDisabledException(pid);
        using var targetLock = await TargetLock.AcquireAsync(pid, procfs, safePointTimeout, time, cancellationToken);
        using var dir = TargetWorkDir.Create(pid, procfs);
        dir.WriteFile("request.json", JsonSerializer.Serialize(new { source, filename }));
        var script = dir.WriteFile("run.py", Payload.WithWorkDir("exec_capture.py", dir.TargetPath));

        progress.Step($"asking PID {pid} (Python {target.Offsets.Version}) to run the code at its next safe point");
        await target.InjectAsync(script, safePointTimeout, cancellationToken);
        return await WaitForResultAsync(pid, dir.HostFile("result.json"), cancellationToken);
    }

    private async Task<ExecResult> WaitForResultAsync(int pid, string resultFile, CancellationToken cancellationToken)
    {
        while (!File.Exists(resultFile))
        {
            if (!procfs.Exists(pid)) throw new TargetExitedException(pid, "while running the code");
            await Task.Delay(2, cancellationToken);
        }
        var result = JsonSerializer.Deserialize<ResultFile>(await File.ReadAllTextAsync(resultFile, cancellationToken), JsonOptions)
            ?? throw new InjectionFailedException("the target wrote an empty result");
        return new ExecResult(result.Ok, result.Stdout ?? "", result.Stderr ?? "", result.Traceback);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record ResultFile(bool Ok, string? Stdout, string? Stderr, string? Traceback);
}
