using System.CommandLine;
using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Transport.Exec;
using Wand.Transport.Kubernetes;
using Wand.Transport.Local;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand debug</c> and <c>wand exec</c> in a Kubernetes pod: the pod's Python container is reached
/// through <c>kubectl exec -i</c> with the target's own interpreter (<see cref="ExecRoute"/>), and the
/// session is the container one: debugpy on loopback inside, a local forward through relay.py,
/// reload workers and pod replacements followed (<see cref="PodRoute"/>), Ctrl+C cleans up.
/// </summary>
public static class PodSessions
{
    /// <summary>The debug options that matter for a pod, as the debug command parsed them.</summary>
    public sealed record DebugRequest(int? Pid, bool Stop, bool Yes, string Host, int Port, string? Debugpy, TimeSpan SafePoint, bool Keep, bool All, bool Json);

    public static async Task<int> DebugAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, DebugRequest request, CancellationToken cancellationToken)
    {
        var exec = await kube.ResolveAsync(ui, result, target, request.Yes, cancellationToken);
        await using var route = kube.FollowingRoute(ui, result, target, exec);
        PythonProcess Pick(IReadOnlyList<PythonProcess> processes) => request.Pid is { } p
            ? ByPid(processes, p, exec)
            : DebugCommand.Choose(ui, Attachable(processes, exec), request.Yes, exec.Description);
        if (request.Stop)
        {
            var stopIn = Pick(await route.ScanAsync(cancellationToken)).Pid;
            var stopped = await new DebugpyInjector(route.Runner, DebugpyLocator.Default, ui).StopAsync(stopIn, request.SafePoint, cancellationToken);
            ui.Info(stopped ? $"debugpy stopped in PID {stopIn} of {exec.Description}" : "wand's debugpy was not running there");
            return ExitCodes.Ok;
        }
        var session = new ContainerDebugSession(null, route, DebugpyLocator.Default, ui, TimeProvider.System);
        var options = new ContainerDebugSession.Options(request.Host, request.Port, DebugCommand.ChooseLocalPort(ui, ProcFs.Default, request.Port, request.Yes, forProxy: true),
            request.Debugpy, request.SafePoint, request.Keep, request.All);
        try
        {
            await session.RunAsync(null, Pick, options, new SessionObserver(ui, route, () => (new System.Text.Json.Nodes.JsonObject
                {
                    ["namespace"] = exec.Pod.Namespace,
                    ["pod"] = exec.Pod.Name,
                    ["container"] = exec.Container,
                }, exec.Description), request.Json), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ui.Info("session ended; the forward is closed" + (options.Keep ? " and debugpy keeps running in the pod" : " and debugpy was stopped in the pod"));
        }
        return ExitCodes.Cancelled; // the session only ends by Ctrl+C
    }

    public static async Task<ExecResult> ExecAsync(IUserInterface ui, KubeOptions kube, ParseResult result, int? pid, string source, string name, TimeSpan safePoint, CancellationToken cancellationToken)
    {
        var exec = await kube.ResolveAsync(ui, result, null, yes: true, cancellationToken);
        var route = KubeOptions.Route(ui, exec);
        var processes = await route.ScanAsync(cancellationToken);
        var target = pid is { } p ? ByPid(processes, p, exec) : DebugCommand.Choose(ui, Attachable(processes, exec), true, exec.Description);
        return await new CodeRunner(route.Runner).RunAsync(target.Pid, source, name, safePoint, cancellationToken);
    }

    /// <summary>
    /// <c>--all-pods</c>: the code runs in the recommended process of every Ready pod, all pods at once;
    /// each pod's output follows a header line, its traceback goes to stderr. Exit 0 only when no pod raised.
    /// </summary>
    public static async Task<int> ExecInAllPodsAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string source, string name, TimeSpan safePoint, CancellationToken cancellationToken)
    {
        var (pods, what) = await kube.PodsAsync(result, null, cancellationToken);
        var ready = pods.Where(p => p.Ready).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (ready.Count == 0) PodFinder.ChooseNewestReady(pods, what); // throws the "no Ready pod" error
        ui.Info($"running the code in {ready.Count} Ready pod(s) behind {what}");
        var outcomes = await Task.WhenAll(ready.Select(async pod =>
        {
            try
            {
                var exec = kube.Target(result, pod);
                var route = KubeOptions.Route(Wand.Progress.NullProgress.Instance, exec);
                var processes = await route.ScanAsync(cancellationToken);
                var target = RoleClassifier.Recommend(processes.Where(p => p.Attach.CanAttach).ToList())
                    ?? DebugCommand.Choose(ui, processes, true, exec.Description); // no single recommendation: its error says why
                return (Pod: pod.Name, Result: await new CodeRunner(route.Runner).RunAsync(target.Pid, source, name, safePoint, cancellationToken), Error: (string?)null);
            }
            catch (WandException e)
            {
                return (Pod: pod.Name, Result: (ExecResult?)null, Error: e.Message);
            }
        }));
        var failed = false;
        foreach (var (pod, exec, error) in outcomes)
        {
            await ui.Out.WriteLineAsync($"==> pod {pod} <==");
            await ui.Out.WriteAsync(exec?.Stdout ?? "");
            await ui.Out.FlushAsync(cancellationToken);
            if (exec is not null)
            {
                await Console.Error.WriteAsync(exec.Stderr);
                if (exec.Traceback is not null) await Console.Error.WriteAsync($"pod {pod}: " + exec.Traceback);
            }
            else
            {
                ui.Warn($"pod {pod}: {error}");
            }
            failed |= exec is not { Ok: true };
        }
        return failed ? ExitCodes.CodeRaised : ExitCodes.Ok;
    }

    /// <summary>
    /// The pod's processes when some can be attached; else the reason, with what to do about it in a
    /// pod: the SYS_PTRACE capability when the kernel refuses access, a 3.14 image (or rdg) when the
    /// Python is older.
    /// </summary>
    private static IReadOnlyList<PythonProcess> Attachable(IReadOnlyList<PythonProcess> processes, PodExecTarget exec)
    {
        if (processes.Count == 0 || processes.Any(p => p.Attach.CanAttach)) return processes;
        if (processes.FirstOrDefault(p => p.Attach.State == AttachState.PermissionDenied) is { } denied)
            throw new WandException(ExitCodes.PermissionDenied,
                $"the kernel in {exec.Description} refuses wand access to PID {denied.Pid} ({denied.Attach.Reason})", PodRoute.PodPermissionHint);
        if (processes.All(p => p.Attach.State == AttachState.UnsupportedVersion))
            throw new UnsupportedPythonException(
                $"the Python processes in {exec.Description} cannot be attached: {string.Join("; ", processes.Select(p => $"PID {p.Pid}: Python {p.Version}"))}; wand needs CPython 3.14+ (PEP 768)",
                "build the image on Python 3.14 (e.g. FROM python:3.14-slim), or start the app under `rdg debug python ...` in the image (Python 3.8+)");
        return processes;
    }

    private static PythonProcess ByPid(IReadOnlyList<PythonProcess> processes, int pid, PodExecTarget exec) =>
        processes.FirstOrDefault(x => x.Pid == pid)
            ?? throw new WandException(ExitCodes.ProcessNotFound, $"no Python process with PID {pid} in {exec.Description}",
                $"list them: wand pods -n {exec.Pod.Namespace} --pod {exec.Pod.Name} --with-pids");
}
