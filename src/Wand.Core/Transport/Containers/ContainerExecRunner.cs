using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Payloads;
using Wand.Progress;

namespace Wand.Transport.Containers;

/// <summary>
/// The route through the container runtime (<c>podman exec -i</c> / <c>docker exec -i</c>) for when the
/// container's processes cannot be reached from here (Docker Desktop's VM, rootless runtimes, no
/// permission). The target's own interpreter (/proc/PID/exe inside the container) runs agent.py,
/// which calls sys.remote_exec; scripts travel on stdin, so the image needs no shell, ps or tar.
/// PIDs on this route are the container's own.
/// </summary>
public sealed class ContainerExecRunner(ContainerInfo container, TimeProvider time, IProgress progress) : PayloadRunnerBase(time, progress)
{
    private static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(120);

    public ContainerInfo Container => container;

    protected override async Task<JsonElement> RunOnceAsync(int pid, string payload, JsonObject request, TimeSpan safePointTimeout, TimeSpan? resultTimeout, CancellationToken cancellationToken)
    {
        Progress.Step($"asking PID {pid} in {container.Name} (through {container.RuntimeName} exec) to run wand's {Path.GetFileNameWithoutExtension(payload)}");
        var answer = await RunAgentAsync($"/proc/{pid}/exe", new JsonObject
        {
            ["op"] = "inject",
            ["pid"] = pid,
            ["script"] = Payload.ScriptBody(payload),
            ["request"] = request,
            ["timeout"] = (safePointTimeout + (resultTimeout ?? TimeSpan.FromMinutes(10))).TotalSeconds,
        }, cancellationToken);
        return answer.TryGetProperty("error", out var error) ? error.GetString() switch
        {
            "timeout" => throw new InjectionFailedException(
                $"PID {pid} in {container.Name} did not run wand's code in time (its main thread may be blocked in C code); the request was withdrawn",
                "retry with a longer --timeout once the application is idle-looping"),
            "target-exited" => throw new TargetExitedException(pid, "while running wand's code"),
            _ => answer,
        } : answer;
    }

    /// <summary>Runs agent.py with <paramref name="interpreter"/> (a path inside the container, e.g. /proc/PID/exe of the target).</summary>
    public async Task<JsonElement> RunAgentAsync(string interpreter, JsonObject request, CancellationToken cancellationToken)
    {
        var input = new JsonObject { ["agent"] = Payload.Read(Payload.Agent), ["request"] = request }.ToJsonString();
        var r = await ProcessRunner.RunAsync(ContainerLocator.Program(container.Runtime),
            ["exec", "-i", container.Id, interpreter, "-I", "-S", "-c", Payload.AgentBoot], input, AgentTimeout, cancellationToken);
        if (!r.Ok || !r.Stdout.TrimStart().StartsWith('{'))
            throw new InjectionFailedException($"{container.RuntimeName} exec into {container.Name} failed (exit {r.ExitCode}): {r.Stderr.Trim()}",
                "check that the container runs and that its process is a Python 3.14+ interpreter");
        using var doc = JsonDocument.Parse(r.Stdout);
        var answer = doc.RootElement.Clone();
        if (answer.TryGetProperty("error", out var error) && error.GetString() is "permission" or "agent-failed")
            throw error.GetString() == "permission"
                ? new PermissionDeniedException(request["pid"]?.GetValue<int>() ?? 0, answer.GetProperty("detail").GetString() ?? "")
                : new InjectionFailedException($"wand's agent failed in {container.Name}: {answer.GetProperty("detail").GetString()}");
        return answer;
    }

    /// <summary>This route cannot copy folders into the container (no tar in the image is assumed).</summary>
    public override string? Lend(int pid, string hostFolder, string name) => null;

    public override void RemoveLent(int pid, string pathInTarget) { }

    public override string RootOnThisMachine(int pid) => "/";
}
