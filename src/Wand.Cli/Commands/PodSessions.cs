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
        var (watch, what) = await kube.WatchAsync(ui, result, target, cancellationToken);
        await using var pods = watch;
        var exec = await kube.ResolveAsync(ui, result, (watch.Snapshot.Pods, what), request.Yes, cancellationToken);
        await using var route = kube.FollowingRoute(ui, result, watch, exec);
        PythonProcess Pick(IReadOnlyList<PythonProcess> processes) => request.Pid is { } p
            ? PodProcessChoice.ByPid(processes, p, exec)
            : Prompts.Choose(ui, PodProcessChoice.Attachable(processes, exec), request.Yes, exec.Description);
        if (request.Stop)
        {
            var stopIn = Pick(await route.ScanAsync(cancellationToken)).Pid;
            var stopped = await new DebugpyInjector(route.Runner, DebugpyLocator.Default, ui).StopAsync(stopIn, request.SafePoint, cancellationToken);
            ui.Info(stopped ? $"debugpy stopped in PID {stopIn} of {exec.Description}" : "wand's debugpy was not running there");
            return ExitCodes.Ok;
        }
        route.WarnAboutLivenessProbe();
        var session = new DebugSession(route, DebugpyLocator.Default, ui, TimeProvider.System);
        var options = new DebugSession.Options(request.Host, request.Port, Prompts.ChooseLocalPort(ui, ProcFs.Default, request.Port, request.Yes, forProxy: true),
            request.Debugpy, request.SafePoint, request.Keep, request.All) { One = request.One, Direct = DebugCommand.InProcessAdapter };
        var observer = Observer(ui, route, request.Json);
        return await SessionEnd.AfterCtrlCAsync(ui, ct => session.RunAsync(null, Pick, options, observer, null, ct), options.Keep, "the pod", cancellationToken);
    }

    /// <summary><c>--all</c>: every worker of every Ready pod behind the service (<see cref="AllPodsSession"/>).</summary>
    private static async Task<int> DebugAllPodsAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, DebugRequest request, CancellationToken cancellationToken)
    {
        var options = new DebugSession.Options(request.Host, request.Port, Prompts.ChooseLocalPort(ui, ProcFs.Default, request.Port, request.Yes, forProxy: true),
            request.Debugpy, request.SafePoint, request.Keep, All: true) { Direct = DebugCommand.InProcessAdapter };
        var (watch, what) = await kube.WatchAsync(ui, result, target, cancellationToken);
        await using var pods = watch;
        return await SessionEnd.AfterCtrlCAsync(ui, ct => new AllPodsSession(ui, TimeProvider.System).RunAsync(watch, what, (pod, ct2) => kube.PinnedRouteAsync(ui, result, watch, pod, ct2),
            route => Observer(ui, route, request.Json), choice => Prompts.Take(ui, choice, yes: true), options, ct), request.Keep, "the pods", cancellationToken);
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
        var exec = await kube.ResolveAsync(ui, result, await kube.PodsAsync(result, null, cancellationToken), yes: true, cancellationToken);
        var (route, processes) = await kube.Containers(result, ui).ProcessesAsync(exec.Pod, exec.Container, cancellationToken); // as seen when the container was chosen
        var target = pid is { } p ? PodProcessChoice.ByPid(processes, p, exec) : Prompts.Choose(ui, PodProcessChoice.Attachable(processes, exec), true, exec.Description);
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
        var outcomes = await AllPodsExec.RunAsync(ready, kube.Containers(result, ui), result.GetValue(kube.PodContainer),
            choice => choice.Recommended ?? Prompts.Take(ui, choice, yes: true), // no single recommendation: its error says why
            source, name, safePoint, cancellationToken);
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
}
