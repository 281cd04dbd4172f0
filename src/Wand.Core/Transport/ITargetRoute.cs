using Wand.Discovery;
using Wand.Injection;

namespace Wand.Transport;

/// <summary>
/// How wand reaches the processes of one debug target: this machine's app through /proc
/// (<see cref="Local.LocalRoute"/>), a container from this machine or through its runtime's exec
/// (<see cref="Containers.IContainerRoute"/>), a pod through kubectl (<see cref="Kubernetes.PodRoute"/>).
/// PIDs are in the route's own numbering.
/// </summary>
public interface ITargetRoute
{
    /// <summary>"local", "host" or "exec", for the user.</summary>
    string Name { get; }

    PayloadRunnerBase Runner { get; }

    Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken);

    Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken);

    /// <summary>Ports something listens on inside the target.</summary>
    Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken);

    /// <summary>A connection to 127.0.0.1:<paramref name="port"/> inside the target.</summary>
    Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken);

    /// <summary>
    /// Returns when the route learns that the processes changed (an in-target watcher reported a
    /// start or an end), or after <paramref name="timeout"/> when it cannot tell; then look again.
    /// </summary>
    Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// debugpy is about to listen on 127.0.0.1:<paramref name="port"/> inside: a route that keeps a
    /// tunnel of its own (kubectl port-forward) points it there now, so the editor's first connection
    /// does not wait for it. Others do nothing.
    /// </summary>
    void PrepareConnect(int port);

    /// <summary>The PID the process has inside the target (its own PID namespace).</summary>
    int PidInside(int pid);

    /// <summary>How many times the route moved to another place (a replacement pod): PIDs seen before a move belong to the old place.</summary>
    int Moves => 0;
}
