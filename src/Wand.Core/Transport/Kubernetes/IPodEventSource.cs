namespace Wand.Transport.Kubernetes;

/// <summary>The pods a user means, listed once or watched (<see cref="KubectlPodEvents"/>; tests give a fake stream).</summary>
public interface IPodEventSource
{
    /// <summary>The pods now (one list).</summary>
    Task<IReadOnlyList<PodInfo>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// One watch: the pods now as ADDED events, then one event per change, until the watch ends (the
    /// enumeration completes; why is in <paramref name="ended"/>) or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    IAsyncEnumerable<PodEvent> WatchAsync(Action<string> ended, CancellationToken cancellationToken);
}
