using Wand.Errors;
using Wand.Stacks;
using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>
/// <c>stacks --all-pods</c>: the stacks of the chosen process of every given pod, read through each
/// pod's exec, all pods at once; a pod that cannot be read does not stop the others.
/// </summary>
public static class AllPodsStacks
{
    /// <summary>One pod's stacks, or why they could not be read.</summary>
    public sealed record Outcome(string Pod, ProcessStacks? Stacks, string? Error);

    /// <param name="containers">Looks into the pods' containers (the one that runs Python is chosen in each).</param>
    /// <param name="requestedContainer">The container the user named, else null.</param>
    /// <returns>One outcome per pod, in the order of <paramref name="pods"/>.</returns>
    public static async Task<IReadOnlyList<Outcome>> ReadAsync(IReadOnlyList<PodInfo> pods, PodContainers containers, string? requestedContainer, bool withLocals,
        CancellationToken cancellationToken) =>
        await Task.WhenAll(pods.Select(async pod =>
        {
            try
            {
                var container = await containers.ChooseAsync(pod, requestedContainer, cancellationToken);
                var exec = containers.Target(pod, container);
                var (_, processes) = await containers.ProcessesAsync(pod, container, cancellationToken);
                var choice = ReadableProcesses.Among(processes, exec.Description);
                var chosen = choice.WithoutAsking();
                // The read is synchronous (one answer line per request): one thread per pod keeps the pods parallel.
                var stacks = await Task.Run(() => StackCapture.CaptureThroughExec(exec, chosen.Pid, withLocals), cancellationToken);
                return new Outcome(pod.Name, stacks, null);
            }
            catch (WandException e)
            {
                return new Outcome(pod.Name, null, e.Message);
            }
        }));
}
