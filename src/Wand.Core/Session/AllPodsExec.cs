using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
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

    /// <param name="containers">Looks into the pods' containers (the one that runs Python is chosen in each).</param>
    /// <param name="requestedContainer">The container the user named, else null.</param>
    /// <param name="take">Takes the process to run in from the rule's decision (many pods: no one is asked).</param>
    /// <returns>One outcome per pod, in the order of <paramref name="pods"/>.</returns>
    public static async Task<IReadOnlyList<Outcome>> RunAsync(IReadOnlyList<PodInfo> pods, PodContainers containers, string? requestedContainer, Func<ProcessChoice, PythonProcess> take,
        string source, string name, TimeSpan safePoint, CancellationToken cancellationToken) =>
        await Task.WhenAll(pods.Select(async pod =>
        {
            try
            {
                var container = await containers.ChooseAsync(pod, requestedContainer, cancellationToken);
                var (route, processes) = await containers.ProcessesAsync(pod, container, cancellationToken);
                var chosen = take(ProcessChoice.Among(processes, containers.Target(pod, container).Description));
                return new Outcome(pod.Name, await new CodeRunner(route.Runner).RunAsync(chosen.Pid, source, name, safePoint, cancellationToken), null);
            }
            catch (WandException e)
            {
                return new Outcome(pod.Name, null, e.Message);
            }
        }));
}
