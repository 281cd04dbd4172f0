using System.Collections.Concurrent;
using Wand.Discovery;
using Wand.Errors;
using Wand.Progress;
using Wand.Transport.Exec;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// Looks into the containers of pods: one `kubectl exec` per container (agent.py's process listing,
/// run by the container's own interpreter), all containers of a pod at once, each remembered for the
/// session, so choosing the container and listing its processes afterwards cost no second exec.
/// </summary>
public sealed class PodContainers(KubectlClient kubectl, TimeProvider time, IProgressReporter progress)
{
    private readonly ConcurrentDictionary<(string Namespace, string Pod, string Container), Lazy<Task<Looked>>> _looks = new();

    public KubectlClient Kubectl => kubectl;

    /// <summary>The exec target of <paramref name="pod"/>'s container <paramref name="container"/>.</summary>
    public PodExecTarget Target(PodInfo pod, string container) => new(kubectl, pod, container);

    /// <summary>The container that runs Python (<see cref="ContainerChoice"/>): the one asked for, else the one seen running Python.</summary>
    public async Task<string> ChooseAsync(PodInfo pod, string? requested, CancellationToken cancellationToken)
    {
        if (ContainerChoice.Requested(pod, requested) is { } asked) return asked;
        if (pod.Containers.Count <= 1) return pod.Containers.Count == 1 ? pod.Containers[0].Name
            : throw new WandException(ExitCodes.KubeNotFound, $"pod {pod.Name} has no containers", "check the pod: kubectl get pod " + pod.Name + " -o yaml");
        var looks = await Task.WhenAll(pod.Containers.Select(c => LookAsync(pod, c.Name, cancellationToken)));
        return ContainerChoice.Choose(pod, looks);
    }

    /// <summary>The exec target of the container that runs Python.</summary>
    public async Task<PodExecTarget> TargetAsync(PodInfo pod, string? requested, CancellationToken cancellationToken) =>
        Target(pod, await ChooseAsync(pod, requested, cancellationToken));

    /// <summary>What the container showed (looked into once per session).</summary>
    public async Task<ContainerLook> LookAsync(PodInfo pod, string container, CancellationToken cancellationToken) =>
        (await LookedAsync(pod, container, cancellationToken)).Look;

    /// <summary>
    /// The container's Python processes as seen when it was looked into, and the exec route that saw them
    /// (it knows the interpreter to use there); throws what the look failed with.
    /// </summary>
    public async Task<(ExecRoute Route, IReadOnlyList<PythonProcess> Processes)> ProcessesAsync(PodInfo pod, string container, CancellationToken cancellationToken)
    {
        var looked = await LookedAsync(pod, container, cancellationToken);
        return looked.Failure is { } failure ? throw failure : (looked.Route, looked.Look.Python);
    }

    /// <summary>One look: the route that made it, what it saw, and the typed error when it failed.</summary>
    private sealed record Looked(ExecRoute Route, ContainerLook Look, WandException? Failure);

    private async Task<Looked> LookedAsync(PodInfo pod, string container, CancellationToken cancellationToken)
    {
        var key = (pod.Namespace, pod.Name, container);
        var lazy = _looks.GetOrAdd(key, _ => new Lazy<Task<Looked>>(() => LookOnceAsync(pod, container, cancellationToken)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _looks.TryRemove(KeyValuePair.Create(key, lazy)); // a cancelled look is not what the container showed
            throw;
        }
    }

    private async Task<Looked> LookOnceAsync(PodInfo pod, string container, CancellationToken cancellationToken)
    {
        var route = new ExecRoute(new ExecPayloadRunner(Target(pod, container), time, progress, PodRoute.PodPermissionHint));
        try
        {
            return new Looked(route, new ContainerLook(container, await route.ScanAsync(cancellationToken), null), null);
        }
        catch (WandException e)
        {
            return new Looked(route, new ContainerLook(container, [], e.Message), e);
        }
    }
}
