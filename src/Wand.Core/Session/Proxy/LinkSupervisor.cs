using System.Text.Json.Nodes;

namespace Wand.Session.Proxy;

/// <summary>
/// The backend link of one editor connection: which link is current and in what <see cref="LinkState"/>,
/// connecting and replaying a new one, the backends that failed this connection, and the bounded wait
/// for a backend while there is none. Everything it learns goes to its <see cref="ILinkObserver"/>.
/// </summary>
/// <remarks>
/// Used only from its editor connection's work queue; the connect task and the timers only call the observer.
/// A link that is no longer <see cref="Current"/> may still report: the observer ignores it (<see cref="IsCurrent"/>).
/// </remarks>
internal sealed class LinkSupervisor(DapProxyOptions options, CancellationToken closed, ILinkObserver observer)
{
    private readonly HashSet<ProxyBackend> _failed = [];
    private int _generation;
    private long _waitEpoch;

    /// <summary>The link requests go to once it is <see cref="LinkState.Live"/> (null when <see cref="LinkState.None"/>).</summary>
    public BackendLink? Current { get; private set; }

    public LinkState State { get; private set; }

    /// <summary>The current link if requests can go to it now.</summary>
    public BackendLink? Live => State == LinkState.Live ? Current : null;

    public bool IsCurrent(BackendLink link) => ReferenceEquals(link, Current);

    /// <summary>The most recently added backend that has not failed this connection.</summary>
    public ProxyBackend? Pick(DapProxy proxy) => proxy.MostRecentBackend(b => !_failed.Contains(b));

    /// <summary>This connection does not try <paramref name="backend"/> again (a backend added again under its key is a new one).</summary>
    public void MarkFailed(ProxyBackend backend) => _failed.Add(backend);

    /// <summary>
    /// Makes a new link to <paramref name="backend"/> the current one (<see cref="LinkState.Connecting"/>), and
    /// connects and replays <paramref name="plan"/> in the background: <see cref="ILinkObserver.OnReady"/> or
    /// <see cref="ILinkObserver.OnFailed"/> follows.
    /// </summary>
    public BackendLink Start(ProxyBackend backend, ReplayPlan plan)
    {
        var link = new BackendLink(backend, ++_generation, options.MaxMessageBytes, observer.OnMessage, observer.OnClosed, observer.OnReplayedBreakpoints);
        Current = link;
        State = LinkState.Connecting;
        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(options.ReplayTimeout, options.Time);
            using var both = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, closed);
            try
            {
                await link.ConnectAsync(both.Token);
                var capabilities = await link.ReplayAsync(plan, both.Token);
                observer.OnReady(link, capabilities, plan.Kind);
            }
            catch (Exception e)
            {
                var why = e is OperationCanceledException && timeout.IsCancellationRequested
                    ? $"its debugpy did not answer within {ProxyMessages.Seconds(options.ReplayTimeout)} s"
                    : e.Message;
                observer.OnFailed(link, why);
            }
        });
        return link;
    }

    /// <summary>The current link is connected and replayed: requests go to it, and the wait for a backend is over.</summary>
    public void MarkLive()
    {
        State = LinkState.Live;
        StopWaiting();
    }

    /// <summary>Lets go of the current link (the caller closes it); null if there was none.</summary>
    public BackendLink? Drop()
    {
        var link = Current;
        Current = null;
        State = LinkState.None;
        return link;
    }

    /// <summary>
    /// Starts waiting for a backend for at most <see cref="DapProxyOptions.BackendWaitTimeout"/>: unless the wait
    /// is over first (<see cref="StopWaiting"/>, a link gets live, or another wait starts), the observer hears that it ran out.
    /// </summary>
    public void WaitForBackend(string reason)
    {
        var epoch = ++_waitEpoch;
        _ = Task.Delay(options.BackendWaitTimeout, options.Time, closed).ContinueWith(
            t => { if (!t.IsCanceled) observer.OnWaitExpired(epoch, reason); }, TaskScheduler.Default);
    }

    /// <summary>Whether the wait that reported <paramref name="epoch"/> is still the one going on.</summary>
    public bool IsWaiting(long epoch) => epoch == _waitEpoch;

    public void StopWaiting() => _waitEpoch++;
}
