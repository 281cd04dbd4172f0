using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Progress;
using Wand.Transport.Exec;
using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>
/// <c>exec --all-pods</c>: the code runs in the chosen process of every given pod, all pods at once;
/// a pod that fails does not stop the others.
/// </summary>
public static class AllPodsExec
{
    /// <summary>What happened in one pod: the code's result, or why it could not run there.</summary>
    public sealed record Outcome(string Pod, ExecResult? Result, string? Error);

    /// <param name="target">The exec target of a pod's Python container.</param>
    /// <param name="take">Takes the process to run in from the rule's decision (many pods: no one is asked).</param>
    /// <returns>One outcome per pod, in the order of <paramref name="pods"/>.</returns>
    public static async Task<IReadOnlyList<Outcome>> RunAsync(IReadOnlyList<PodInfo> pods, Func<PodInfo, PodExecTarget> target, Func<ProcessChoice, PythonProcess> take,
        string source, string name, TimeSpan safePoint, CancellationToken cancellationToken) =>
        await Task.WhenAll(pods.Select(async pod =>
        {
            try
            {
                var exec = target(pod);
                var route = new ExecRoute(new ExecPayloadRunner(exec, TimeProvider.System, NullProgress.Instance, PodRoute.PodPermissionHint));
                var chosen = take(ProcessChoice.Among(await route.ScanAsync(cancellationToken), exec.Description));
                return new Outcome(pod.Name, await new CodeRunner(route.Runner).RunAsync(chosen.Pid, source, name, safePoint, cancellationToken), null);
            }
            catch (WandException e)
            {
                return new Outcome(pod.Name, null, e.Message);
            }
        }));
}
