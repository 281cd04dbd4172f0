using Wand.Discovery;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Transport.Containers;
using Wand.Transport.Local;

namespace Wand.Session;

/// <summary>
/// Keeps `wand debug --container` working while things change (host route: the container's
/// processes are visible and attachable from here). debugpy is bound to loopback inside the
/// container and reached through a <see cref="PortForwarder"/>; when the debugged process goes away
/// (reload worker replaced, container restarted) the session finds the new one and injects again.
/// </summary>
public sealed class ContainerDebugSession(
    ContainerLocator locator, DebugpyInjector injector, ProcFs procfs, IProgress progress, TimeProvider time)
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The request: where debugpy listens inside, which local port forwards to it.</summary>
    public sealed record Options(string Host, int RemotePort, int LocalPort, string? DebugpyPath, TimeSpan SafePointTimeout, bool Keep);

    /// <summary>What the session reports to its user.</summary>
    public interface IObserver
    {
        /// <summary>debugpy is ready in <paramref name="endpoint"/>'s process, reachable on 127.0.0.1:<paramref name="localPort"/>.</summary>
        void Attached(DebugpyEndpoint endpoint, int hostPid, int localPort, bool first);

        /// <summary>Something went wrong that the session survives (re-injection failed; it keeps watching).</summary>
        void Problem(string message);
    }

    private int _namespacePid;
    private int _remotePort;

    /// <summary>Runs until cancelled; on the way out stops debugpy (unless Keep) and the forward.</summary>
    public async Task RunAsync(ContainerInfo container, Func<IReadOnlyList<PythonProcess>, PythonProcess> choose, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        _namespacePid = container.HostPid;
        _remotePort = options.RemotePort;
        var target = choose(await ScanAsync(container.HostPid, cancellationToken));
        var endpoint = await AttachAsync(target.Pid, options, cancellationToken);
        await using var forward = NetworkNamespace.IsOurs(container.HostPid, procfs)
            ? null
            : PortForwarder.Start(options.LocalPort, () => _namespacePid, () => _remotePort, progress);
        var localPort = forward?.LocalPort ?? endpoint.Port;
        observer.Attached(endpoint, target.Pid, localPort, first: true);

        var current = target.Pid;
        try
        {
            while (true)
            {
                await Task.Delay(WatchInterval, time, cancellationToken);
                if (procfs.Exists(current)) continue;

                forward?.DropConnections();
                var info = await WaitForContainerAsync(container, cancellationToken);
                _namespacePid = info.HostPid;
                var next = await WaitForTargetAsync(info.HostPid, cancellationToken);
                if (next is null) continue;
                try
                {
                    progress.Step($"PID {current} is gone; injecting into PID {next.Pid} ({next.RoleDetail ?? next.Role.ToString().ToLowerInvariant()})");
                    endpoint = await AttachAsync(next.Pid, options, cancellationToken);
                    current = next.Pid;
                    observer.Attached(endpoint, current, localPort, first: false);
                }
                catch (WandException e) when (e is not TargetExitedException)
                {
                    observer.Problem($"re-injection into PID {next.Pid} failed: {e.Message}");
                    current = next.Pid; // do not retry a process that refuses; wait for the next one
                }
                catch (TargetExitedException)
                {
                    // replaced again before we got to it: the loop picks up the next one
                }
            }
        }
        finally
        {
            if (!options.Keep && procfs.Exists(current))
            {
                try
                {
                    await injector.StopAsync(current, options.SafePointTimeout, CancellationToken.None);
                }
                catch (WandException e)
                {
                    observer.Problem($"could not stop debugpy in PID {current}: {e.Message}");
                }
            }
        }
    }

    private async Task<DebugpyEndpoint> AttachAsync(int pid, Options options, CancellationToken cancellationToken)
    {
        // A worker that just died may leave its adapter on the port for a moment: take the next free one inside.
        var busy = procfs.ListeningSockets(pid).Select(s => s.Port).ToHashSet();
        while (busy.Contains(_remotePort) && _remotePort < 65535) _remotePort++;
        var endpoint = await injector.StartAsync(pid, options.Host, _remotePort, options.DebugpyPath, options.SafePointTimeout, cancellationToken);
        _remotePort = endpoint.Port;
        return endpoint;
    }

    private async Task<IReadOnlyList<PythonProcess>> ScanAsync(int initPid, CancellationToken cancellationToken) =>
        await new PythonProcessScanner(procfs, time, progress) { SampleInterval = TimeSpan.Zero }
            .ScanAsync(ContainerProcesses.Filter(initPid, procfs), cancellationToken);

    /// <summary>The recommended process of the container once there is one (a new worker), or null if none comes within a while.</summary>
    private async Task<PythonProcess?> WaitForTargetAsync(int initPid, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 300; i++)
        {
            var found = (await ScanAsync(initPid, cancellationToken)).Where(p => p.Attach.CanAttach).ToList();
            if (RoleClassifier.Recommend(found) is { } next) return next;
            if (!procfs.Exists(initPid)) return null;
            await Task.Delay(WatchInterval, time, cancellationToken);
        }
        return null;
    }

    /// <summary>Returns the container as it runs now; if it stopped or restarts, waits for it to run again.</summary>
    private async Task<ContainerInfo> WaitForContainerAsync(ContainerInfo container, CancellationToken cancellationToken)
    {
        if (procfs.Exists(_namespacePid)) return container with { HostPid = _namespacePid };
        var said = false;
        while (true)
        {
            var info = await locator.FindAsync(container.Id, cancellationToken);
            if (info.Running && info.HostPid > 0 && procfs.Exists(info.HostPid)) return info;
            if (!said) progress.Step($"container {container.Name} is {info.Status}; waiting for it to run again");
            said = true;
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
    }
}
