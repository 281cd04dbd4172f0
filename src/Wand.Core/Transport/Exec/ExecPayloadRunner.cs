using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Payloads;
using Wand.Injection.Ptrace;
using Wand.Progress;

namespace Wand.Transport.Exec;

/// <summary>
/// The route through a CLI's exec (<c>podman/docker exec -i</c>, <c>kubectl exec -i</c>) for when the
/// target's processes cannot be reached from here (Docker Desktop's VM, rootless runtimes, a cluster).
/// The target's own interpreter (/proc/PID/exe inside) runs agent.py, which calls sys.remote_exec
/// (3.14+) or queues a pending call with ptrace through ctypes (3.9-3.13, agent_ptrace.py); scripts travel on stdin, so the image needs no shell, ps or tar. PIDs are the container's own.
/// </summary>
/// <param name="permissionHint">What to tell the user when the kernel refuses access to the target (null: the general advice).</param>
public sealed class ExecPayloadRunner(IExecTarget target, TimeProvider time, IProgressReporter progress, string? permissionHint = null) : PayloadRunnerBase(time, progress)
{
    private static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan WithdrawTimeout = TimeSpan.FromSeconds(15);

    public IExecTarget Target => target;

    protected override async Task<JsonElement> RunOnceAsync(int pid, string payload, JsonObject request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        Progress.Step($"asking PID {pid} in {target.Description} (through {target.Verb}) to run wand's {Path.GetFileNameWithoutExtension(payload)}");
        // wand names the request's folder, so that it can withdraw the request on Ctrl+C.
        var name = "wand-" + RandomName.Hex16();
        // Bounded even when the caller waits as long as the target lives: an agent whose exec was
        // killed (the fuse below) must not poll in the container for ever.
        var answerTimeout = resultTimeout ?? AgentTimeout;
        JsonElement answer;
        try
        {
            answer = await RunAgentAsync($"/proc/{pid}/exe", new JsonObject
            {
                ["op"] = "inject",
                ["pid"] = pid,
                ["name"] = name,
                ["script"] = Payload.ScriptBody(payload),
                ["request"] = request.DeepClone(), // a node has one parent, and a declined request is sent again
                ["safe_point"] = safePointTimeout.TotalSeconds,
                ["result"] = answerTimeout.TotalSeconds,
                // For an interpreter without sys.remote_exec (3.9-3.13): agent_ptrace.py queues the request with ptrace.
                ["pending_call"] = new JsonObject { ["agent"] = Payload.Read(Payload.AgentPtrace), ["bootstrap"] = PendingCallTarget.BootstrapTemplate },
            }, cancellationToken, safePointTimeout + answerTimeout + AgentTimeout);
        }
        catch (OperationCanceledException)
        {
            // Killing the exec's client leaves the agent, and the payload it started, running in the
            // container: remove the request, so the payload stops (exec_capture.py) and nothing stays.
            try
            {
                await RunAgentAsync($"/proc/{pid}/exe", new JsonObject { ["op"] = "withdraw", ["name"] = name }, CancellationToken.None, WithdrawTimeout);
            }
            catch (Exception e) when (e is WandException or OperationCanceledException)
            {
                Progress.Step($"could not withdraw wand's request from {target.Description}: {e.Message}");
            }
            throw;
        }
        return answer.TryGetProperty("error", out var error) ? error.GetString() switch
        {
            "timeout" => throw new ExecRouteTimeoutException(pid, target.Description, MainThreadStack(pid)),
            "no-answer" => throw new NoAnswerException(pid, answerTimeout),
            "target-exited" => throw new TargetExitedException(pid, "while running wand's code"),
            "ptrace-refused" => throw PtraceRefused(pid, answer.GetProperty("detail").GetString() ?? ""),
            "unsupported" => throw new UnsupportedPythonException($"{answer.GetProperty("detail").GetString()} (in {target.Description})",
                "run the app on Python 3.14+ (PEP 768)", new Remedy(RemedyKind.StartUnderLauncher)),
            "injection-failed" => throw new InjectionFailedException($"in {target.Description}: {answer.GetProperty("detail").GetString()}"),
            "busy" => throw new TargetBusyException(pid),
            "thread-not-restored" => throw new ThreadNotRestoredException(pid, $"in {target.Description}: {answer.GetProperty("detail").GetString()}"),
            _ => answer,
        } : answer;
    }

    /// <summary>
    /// Where the main thread of <paramref name="pid"/> (the PID inside, which is also its main thread's TID) is blocked,
    /// read from memory through the same exec as <c>wand stacks</c> does: nothing runs in the target. Null when it cannot
    /// be read; the timeout is the error the user gets either way.
    /// </summary>
    private IReadOnlyList<Stacks.StackFrame>? MainThreadStack(int pid)
    {
        try
        {
            return Stacks.StackCapture.CaptureThroughExec(target, pid, withLocals: false).Threads.FirstOrDefault(t => t.Tid == pid)?.Python?.Frames;
        }
        catch (Exception e) when (e is WandException or IOException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            Progress.Step($"could not read where PID {pid} waits: {e.Message}");
            return null;
        }
    }

    /// <summary>Runs agent.py with <paramref name="interpreter"/> (a path inside the container, e.g. /proc/PID/exe of the target).</summary>
    /// <param name="timeout">How long the exec may take (default: two minutes).</param>
    public async Task<JsonElement> RunAgentAsync(string interpreter, JsonObject request, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        // A running watcher answers listings and file requests without an exec of its own. Injections
        // always get an exec of their own: handed over by the long-lived watcher, a target now and then
        // never ran the script (the benchmark saw 1 in 10 re-injections wait for the full timeout).
        if (request["op"]?.GetValue<string>() != "inject" && Channel is { } channel && await channel.TryRequestAsync(request, cancellationToken) is { } viaWatcher
            && !(viaWatcher.TryGetProperty("error", out var declined) && declined.GetString() == "other-interpreter"))
            return Checked(viaWatcher, request);
        // One line (compact JSON escapes newlines): the agent reads up to it, not up to stdin's end.
        var input = new JsonObject { ["agent"] = Payload.Read(Payload.Agent), ["request"] = request }.ToJsonString() + "\n";
        var r = await ProcessRunner.RunAsync(target.Program, target.ExecArguments([interpreter, "-I", "-S", "-c", Payload.AgentBoot]), input, timeout ?? AgentTimeout, cancellationToken);
        if (!r.Ok || !r.Stdout.TrimStart().StartsWith('{'))
            throw new InjectionFailedException($"{target.Verb} into {target.Description} failed (exit {r.ExitCode}): {r.Stderr.Trim()}",
                "check that the container runs and that its process is a Python 3.9+ interpreter");
        using var doc = JsonDocument.Parse(r.Stdout);
        return Checked(doc.RootElement.Clone(), request);
    }

    /// <summary>
    /// The watcher that also carries agent requests other than injections (<see cref="ExecWatcher.TryRequestAsync"/>)
    /// while it runs; null: every request is an exec of its own.
    /// </summary>
    public ExecWatcher? Channel { get; set; }

    /// <summary>The agent's answer, or the exception its error stands for.</summary>
    private JsonElement Checked(JsonElement answer, JsonObject request)
    {
        if (answer.TryGetProperty("error", out var error) && error.GetString() is "permission" or "agent-failed")
            throw error.GetString() == "permission"
                ? PermissionDenied(request["pid"]?.GetValue<int>() ?? 0, answer.GetProperty("detail").GetString() ?? "")
                : new InjectionFailedException($"wand's agent failed in {target.Description}: {answer.GetProperty("detail").GetString()}");
        return answer;
    }

    /// <summary>ptrace refused inside (agent_ptrace.py says why): the tracer to stop, or the capability to add (in a pod, the securityContext snippet).</summary>
    private PtraceRefusedException PtraceRefused(int pid, string detail) =>
        new(pid, $"{detail} (in {target.Description})", detail.Contains("already traced", StringComparison.Ordinal)
            ? "stop the other tracer or detach it, then retry"
            : permissionHint ?? PtraceRefusedException.CapabilityHint);

    private WandException PermissionDenied(int pid, string detail) => permissionHint is null
        ? new PermissionDeniedException(pid, detail)
        : new WandException(ExitCodes.PermissionDenied, $"the kernel in {target.Description} refused wand access to PID {pid} ({detail})", permissionHint);

    /// <summary>
    /// Lends a package folder (debugpy) through the exec's stdin: packed here as an uncompressed tar
    /// (sources only, no __pycache__), unpacked by agent.py into a wand-lent-* folder in the pod's temp
    /// folder, owned by the target's user. The image needs no tar program.
    /// </summary>
    public override string? Lend(int pid, string hostFolder, string name)
    {
        using var buffer = new MemoryStream();
        using (var tar = new System.Formats.Tar.TarWriter(buffer, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
            AddTree(tar, new DirectoryInfo(hostFolder), name);
        var answer = RunAgentAsync($"/proc/{pid}/exe", new JsonObject
        {
            ["op"] = "lend",
            ["pid"] = pid,
            ["archive"] = Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length),
        }, CancellationToken.None).GetAwaiter().GetResult(); // the base class's contract is synchronous
        if (!answer.GetProperty("ok").GetBoolean())
            throw new InjectionFailedException($"could not lend {name} to PID {pid} in {target.Description}: {answer.GetProperty("detail").GetString()}",
                "install debugpy in the image (pip install debugpy), or make /tmp writable");
        return answer.GetProperty("path").GetString();

        static void AddTree(System.Formats.Tar.TarWriter tar, DirectoryInfo dir, string prefix)
        {
            foreach (var file in dir.EnumerateFiles())
                if (!file.Name.EndsWith(".pyc", StringComparison.Ordinal)) tar.WriteEntry(file.FullName, prefix + "/" + file.Name);
            foreach (var sub in dir.EnumerateDirectories())
                if (sub.Name != "__pycache__") AddTree(tar, sub, prefix + "/" + sub.Name);
        }
    }

    /// <summary>Removes a folder made by <see cref="Lend"/> (agent.py refuses anything else).</summary>
    public override void RemoveLent(int pid, string pathInTarget)
    {
        try
        {
            RunAgentAsync($"/proc/{pid}/exe", new JsonObject { ["op"] = "unlend", ["path"] = pathInTarget }, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (InjectionFailedException e)
        {
            Progress.Step($"could not remove {pathInTarget} from {target.Description}: {e.Message}");
        }
    }

    public override string RootOnThisMachine(int pid) => "/";
}
