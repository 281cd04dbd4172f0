using Wand.Discovery;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Transport.Containers;
using Wand.Transport.Local;

namespace Wand.Session;

/// <summary>
/// Keeps `wand debug --container` working while things change, on either route
/// (<see cref="IContainerRoute"/>). debugpy stays bound to loopback inside the container and is
/// reached through a <see cref="PortForwarder"/>; when the debugged process goes away (reload worker
/// replaced, container restarted) the session finds the new one and injects again.
/// </summary>
public sealed class ContainerDebugSession(ContainerLocator? locator, IContainerRoute route, DebugpyLocator debugpyLocator, IProgress progress, TimeProvider time)
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReloaderGrace = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan SiblingGrace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MinimumAge = TimeSpan.FromMilliseconds(250);

    /// <summary>The request: where debugpy listens inside, which local port forwards to it.</summary>
    public sealed record Options(string Host, int RemotePort, int LocalPort, string? DebugpyPath, TimeSpan SafePointTimeout, bool Keep);

    /// <summary>What the session reports to its user.</summary>
    public interface IObserver
    {
        /// <summary>debugpy is ready in <paramref name="endpoint"/>'s process, reachable on 127.0.0.1:<paramref name="localPort"/>.</summary>
        void Attached(DebugpyEndpoint endpoint, int pid, int localPort, bool first);

        /// <summary>Something went wrong that the session survives (re-injection failed; it keeps watching).</summary>
        void Problem(string message);
    }

    private readonly DebugpyInjector _injector = new(route.Runner, debugpyLocator, progress);
    private int _remotePort;

    /// <summary>The other processes when the current one was chosen: after it ends, a newcomer (gunicorn's respawned worker) is preferred to them.</summary>
    private HashSet<int> _siblings = [];

    /// <summary>
    /// Runs until cancelled; on the way out stops debugpy (unless Keep) and the forward.
    /// <paramref name="container"/> (with a locator) is followed through restarts; null for places the
    /// route alone reaches (a pod's container through kubectl exec).
    /// </summary>
    public async Task RunAsync(ContainerInfo? container, Func<IReadOnlyList<PythonProcess>, PythonProcess> choose, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        _remotePort = options.RemotePort;
        var first = await route.ScanAsync(cancellationToken);
        var target = choose(first);
        _siblings = first.Select(p => p.Pid).Where(p => p != target.Pid).ToHashSet();
        // The user's port is taken first, before the route opens tunnels of its own (kubectl port-forward
        // takes a free local port, which could otherwise be this one).
        await using var forward = route.NeedsForward ? PortForwarder.Start(options.LocalPort, ct => route.ConnectAsync(_remotePort, ct), progress) : null;
        var endpoint = await AttachAsync(target.Pid, options, cancellationToken);
        var localPort = forward?.LocalPort ?? endpoint.Port;
        observer.Attached(endpoint, target.Pid, localPort, first: true);

        var current = target.Pid;
        try
        {
            while (true)
            {
                await route.WaitForChangeAsync(WatchInterval, cancellationToken);
                if (await route.IsAliveAsync(current, cancellationToken)) continue;

                forward?.DropConnections();
                if (container is not null && locator is not null) await WaitForContainerAsync(locator, container, cancellationToken);
                var next = await WaitForTargetAsync(cancellationToken);
                if (next is null) continue;
                progress.Step($"PID {current} is gone; injecting into PID {next.Pid} ({next.RoleDetail ?? next.Role.ToString().ToLowerInvariant()})");
                // A process a few milliseconds old may lose a request sent while it is still setting up:
                // let it reach its first fraction of a second (it is importing by then, and declines politely).
                if (next.Uptime < MinimumAge) await Task.Delay(MinimumAge - next.Uptime, time, cancellationToken);
                for (var attempt = 1; attempt <= 2; attempt++)
                {
                    try
                    {
                        endpoint = await AttachAsync(next.Pid, options, cancellationToken);
                        current = next.Pid;
                        observer.Attached(endpoint, current, localPort, first: false);
                        break;
                    }
                    catch (InjectionFailedException e) when (attempt == 1)
                    {
                        observer.Problem($"re-injection into PID {next.Pid} failed: {e.Message}; trying once more");
                    }
                    catch (WandException e) when (e is not TargetExitedException)
                    {
                        observer.Problem($"re-injection into PID {next.Pid} failed: {e.Message}");
                        current = next.Pid; // do not retry a process that refuses again; wait for the next one
                        break;
                    }
                    catch (TargetExitedException)
                    {
                        break; // replaced again before we got to it: the loop picks up the next one
                    }
                }
            }
        }
        finally
        {
            if (!options.Keep)
            {
                try
                {
                    if (await route.IsAliveAsync(current, CancellationToken.None))
                        await _injector.StopAsync(current, options.SafePointTimeout, CancellationToken.None);
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
        var busy = await route.BusyPortsAsync(cancellationToken);
        while (busy.Contains(_remotePort) && _remotePort < 65535) _remotePort++;
        route.PrepareConnect(_remotePort); // a tunnel of the route's own (kubectl port-forward) starts while debugpy does
        var endpoint = await _injector.StartAsync(pid, options.Host, _remotePort, options.DebugpyPath, options.SafePointTimeout, cancellationToken);
        if (endpoint.Port != _remotePort) route.PrepareConnect(endpoint.Port);
        _remotePort = endpoint.Port;
        return endpoint;
    }

    /// <summary>The recommended process of the container once there is one (a new worker), or null if none comes within a while.</summary>
    private async Task<PythonProcess?> WaitForTargetAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
        {
            var all = await route.ScanAsync(cancellationToken);
            var found = all.Where(p => p.Attach.CanAttach).ToList();
            var waited = time.GetElapsedTime(started);
            // A worker started since (the reloader's or gunicorn's replacement) is what the user debugs now.
            var newcomer = found.Where(p => p.Role == ProcessRole.Worker && !_siblings.Contains(p.Pid)).OrderBy(p => p.Uptime).FirstOrDefault();
            var next = newcomer ?? RoleClassifier.Recommend(found);
            // Between a worker's end and its successor's start only the reloader (no application code) or
            // the other workers are left: wait a moment for the successor, then take what there is.
            var take = newcomer is not null
                || (next is not null && (next.Role == ProcessRole.ReloaderParent ? waited > ReloaderGrace : !_siblings.Contains(next.Pid) || waited > SiblingGrace));
            if (take && next is not null)
            {
                _siblings = all.Select(p => p.Pid).Where(p => p != next.Pid).ToHashSet();
                return next;
            }
            await route.WaitForChangeAsync(WatchInterval, cancellationToken);
        }
        return null;
    }

    /// <summary>Waits until the container runs (again); tells the route when it restarted.</summary>
    private async Task WaitForContainerAsync(ContainerLocator locator, ContainerInfo container, CancellationToken cancellationToken)
    {
        var said = false;
        while (true)
        {
            var info = await locator.FindAsync(container.Id, cancellationToken);
            if (info.Running && info.HostPid > 0)
            {
                if (info.HostPid != container.HostPid) route.Restarted(info);
                return;
            }
            if (!said) progress.Step($"container {container.Name} is {info.Status}; waiting for it to run again");
            said = true;
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
        }
    }
}
