using System.CommandLine;
using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Session.Proxy;
using Wand.Transport.Exec;
using Wand.Transport.Kubernetes;
using Wand.Transport.Local;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand debug</c> and <c>wand exec</c> in a Kubernetes pod: the pod's Python container is reached
/// through <c>kubectl exec -i</c> with the target's own interpreter (<see cref="ExecRoute"/>), and the
/// session is the container one: debugpy on loopback inside, the editor on wand's DAP proxy, which
/// reaches debugpy through a supervised kubectl port-forward; reload workers and pod replacements are
/// followed (<see cref="PodRoute"/>); Ctrl+C cleans up.
/// </summary>
public static class PodSessions
{
    /// <summary>The debug options that matter for a pod, as the debug command parsed them (<paramref name="All"/>, <paramref name="One"/>: see <see cref="DebugSession.Options"/>).</summary>
    public sealed record DebugRequest(int? Pid, bool Stop, bool Yes, string Host, int Port, string? Debugpy, TimeSpan SafePoint, bool Keep, bool? All, bool One, bool Json);

    public static async Task<int> DebugAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, DebugRequest request, CancellationToken cancellationToken)
    {
        if (request.All == true && !request.Stop && request.Pid is null) return await DebugAllPodsAsync(ui, kube, result, target, request, cancellationToken);
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
        route.WarnAboutLivenessProbe();
        var session = new DebugSession(route, DebugpyLocator.Default, ui, TimeProvider.System);
        var options = new DebugSession.Options(request.Host, request.Port, DebugCommand.ChooseLocalPort(ui, ProcFs.Default, request.Port, request.Yes, forProxy: true),
            request.Debugpy, request.SafePoint, request.Keep, request.All) { One = request.One };
        return await DebugCommand.RunSessionAsync(ui, session, null, Pick, options, Observer(ui, route, request.Json), "the pod", cancellationToken);
    }

    /// <summary>
    /// <c>--all</c>: every worker of every Ready pod behind the service is a child session of the editor's
    /// one session (one proxy, a session per pod); pods that become Ready later join, pods that go leave.
    /// </summary>
    private static async Task<int> DebugAllPodsAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, DebugRequest request, CancellationToken cancellationToken)
    {
        var localPort = DebugCommand.ChooseLocalPort(ui, ProcFs.Default, request.Port, request.Yes, forProxy: true);
        await using var proxy = DapProxy.Start(localPort, ui, new DapProxyOptions { AllBackends = true });
        var sessions = new Dictionary<string, (CancellationTokenSource Stop, Task Run)>();
        var given = new HashSet<string>(); // pods whose session ended (it said why): not tried again
        try
        {
            while (true)
            {
                var (pods, what) = await kube.PodsAsync(result, target, cancellationToken);
                var ready = pods.Where(p => p.Ready).ToDictionary(p => p.Name);
                if (ready.Count == 0 && sessions.Count == 0 && given.Count == 0) PodFinder.ChooseNewestReady(pods, what); // throws "no Ready pod"
                foreach (var (name, (stop, run)) in sessions.Where(s => !ready.ContainsKey(s.Key) || s.Value.Run.IsCompleted).ToList())
                {
                    await stop.CancelAsync();
                    await run;
                    stop.Dispose();
                    sessions.Remove(name);
                    given.Add(name);
                }
                foreach (var pod in ready.Values.Where(p => !sessions.ContainsKey(p.Name) && !given.Contains(p.Name)))
                {
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    sessions[pod.Name] = (stop, DebugOnePodAsync(ui, kube, result, target, pod, request, proxy, stop.Token));
                }
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(sessions.Values.Select(s => s.Run));
            ui.Info($"session ended; debugpy {(request.Keep ? "keeps running" : "was stopped")} in the pods");
        }
        return ExitCodes.Cancelled; // the session only ends by Ctrl+C
    }

    /// <summary>One pod's part of an --all session; ends (saying why) when the pod goes or cannot be debugged.</summary>
    private static async Task DebugOnePodAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, PodInfo pod, DebugRequest request, DapProxy proxy,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var route = kube.PinnedRoute(ui, result, target, pod);
            var exec = route.Target;
            route.WarnAboutLivenessProbe();
            var options = new DebugSession.Options(request.Host, request.Port, proxy.LocalPort, request.Debugpy, request.SafePoint, request.Keep, All: true) { Place = pod.Name };
            await new DebugSession(route, DebugpyLocator.Default, ui, TimeProvider.System)
                .RunAsync(null, ps => DebugCommand.Choose(ui, Attachable(ps, exec), true, exec.Description), options, Observer(ui, route, request.Json), proxy, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the pod went away or the user pressed Ctrl+C
        }
        catch (WandException e)
        {
            ui.Warn($"pod {pod.Name}: {e.Message}");
        }
    }

    /// <summary>Reports a pod session's events with the pod it is in now (the route follows replacements).</summary>
    private static SessionObserver Observer(IUserInterface ui, PodRoute route, bool json) =>
        new(ui, route, () => (new System.Text.Json.Nodes.JsonObject
        {
            ["namespace"] = route.Target.Pod.Namespace,
            ["pod"] = route.Target.Pod.Name,
            ["container"] = route.Target.Container,
        }, route.Target.Description), json);

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
    /// The pod's processes (the app's: not a `kubectl exec` beside it) when some can be attached; else the reason, with what to do about it in a
    /// pod: the SYS_PTRACE capability when the kernel refuses access, a 3.14 image (or rdg) when the
    /// Python is older.
    /// </summary>
    private static IReadOnlyList<PythonProcess> Attachable(IReadOnlyList<PythonProcess> all, PodExecTarget exec)
    {
        // The app is the container's PID 1 and what it started. A `kubectl exec` (a probe, someone's
        // python -c) runs beside it with parent 0: never the process meant (--pid still reaches it).
        var processes = all.Where(p => p.ParentPid != 0 || p.Pid == 1).ToList() is { Count: > 0 } app ? app : all;
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
