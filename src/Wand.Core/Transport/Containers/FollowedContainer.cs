using Wand.Progress;

namespace Wand.Transport.Containers;

/// <summary>
/// The container a debug session follows through restarts: while it is stopped the session waits, and
/// when it runs again (a new init process) its route is told that the processes are new.
/// </summary>
public sealed class FollowedContainer(ContainerLocator locator, ContainerInfo container, IContainerRoute route)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private ContainerInfo _current = container;

    /// <summary>Waits until the container runs; returns whether it restarted meanwhile (and tells the route).</summary>
    public async Task<bool> WaitUntilRunningAsync(IProgressReporter progress, TimeProvider time, CancellationToken cancellationToken)
    {
        var said = false;
        while (true)
        {
            var info = await locator.FindAsync(_current.Id, cancellationToken);
            if (info.Running && info.HostPid > 0)
            {
                if (info.HostPid == _current.HostPid) return false;
                _current = info;
                route.Restarted(info);
                return true;
            }
            if (!said) progress.Step($"container {_current.Name} is {info.Status}; waiting for it to run again");
            said = true;
            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }
}
