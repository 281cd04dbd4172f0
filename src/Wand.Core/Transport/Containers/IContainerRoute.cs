using Wand.Discovery;
using Wand.Injection;

namespace Wand.Transport.Containers;

/// <summary>
/// How wand reaches the processes of one container: from this machine through /proc (host route) or
/// through the runtime's exec (exec route). PIDs are in the route's own numbering.
/// </summary>
public interface IContainerRoute
{
    /// <summary>"host" or "exec", for the user.</summary>
    string Name { get; }

    PayloadRunnerBase Runner { get; }

    /// <summary>True when 127.0.0.1 inside the container is not this machine's (a forward is needed).</summary>
    bool NeedsForward { get; }

    Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken);

    Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken);

    /// <summary>Ports something listens on inside the container.</summary>
    Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken);

    /// <summary>A connection to 127.0.0.1:<paramref name="port"/> inside the container.</summary>
    Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken);

    /// <summary>
    /// Returns when the route learns that the processes changed (an in-container watcher reported a
    /// start or an end), or after <paramref name="timeout"/> when it cannot tell; then look again.
    /// </summary>
    Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// debugpy is about to listen on 127.0.0.1:<paramref name="port"/> inside: a route that keeps a
    /// tunnel of its own (kubectl port-forward) points it there now, so the editor's first connection
    /// does not wait for it. Others do nothing.
    /// </summary>
    void PrepareConnect(int port);

    /// <summary>The PID the process has inside the container.</summary>
    int PidInside(int pid);

    /// <summary>The container ran again after a restart: its processes are new.</summary>
    void Restarted(ContainerInfo container);
}
