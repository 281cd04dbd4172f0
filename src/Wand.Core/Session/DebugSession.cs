using Wand.Discovery;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Session.Proxy;
using Wand.Transport;
using Wand.Transport.Containers;

namespace Wand.Session;

/// <summary>
/// Keeps a `wand debug` session working while things change, on any route (<see cref="ITargetRoute"/>:
/// this machine, a container from the host or through its runtime's exec, a pod through kubectl).
/// debugpy stays bound to loopback inside the target; the editor talks to a <see cref="DapProxy"/> on
/// 127.0.0.1:LOCAL. When the debugged process goes away (reload worker replaced, container restarted,
/// pod replaced) the session finds the new one, injects again and hands it to the proxy, so the
/// editor's session goes on without a new attach. With <see cref="Options.All"/> every worker is
/// debugged at once, each a child session of the editor's.
/// </summary>
public sealed class DebugSession(ITargetRoute route, DebugpyLocator debugpyLocator, IProgressReporter progress, TimeProvider time)
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReloaderGrace = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan SiblingGrace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MinimumAge = TimeSpan.FromMilliseconds(250);
    private const int PortAttempts = 5;

    /// <summary>
    /// How long a new worker's main thread may wait in the bootstrap for the editor's configuration
    /// (debugpy_bootstrap.py, _wand_hold_until_configured): connecting and the replay take well under a
    /// second; past this the app goes on unarmed rather than hang on a wand that died.
    /// </summary>
    private static readonly TimeSpan FollowHold = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a worker that a gunicorn master just forked waits for wand's attach to start in it (fork_hold.py):
    /// wand sees it within a poll (100 ms) and injects; past this it goes on unarmed, as with a wand that died.
    /// </summary>
    private static readonly TimeSpan ForkHold = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The request: where debugpy listens inside, which local port the editor connects to; with
    /// <paramref name="All"/> every worker (all processes that run application code) is debugged, with
    /// false only the chosen process (and its successors), and with null every worker when the chosen
    /// process is one of several workers of one parent (gunicorn -w N, uvicorn --workers N). A chosen
    /// supervisor (<see cref="SupervisedWorkers"/>) stands for its workers, all of them when several,
    /// unless <see cref="One"/>.
    /// </summary>
    public sealed record Options(string Host, int RemotePort, int LocalPort, string? DebugpyPath, TimeSpan SafePointTimeout, bool Keep, bool? All = false)
    {
        /// <summary>Names the place in the proxy's backend keys and descriptions when several sessions share one proxy (a pod's name).</summary>
        public string? Place { get; init; }

        /// <summary>Debug the chosen process itself even when it is a supervisor that runs no app code (--one).</summary>
        public bool One { get; init; }

        /// <summary>pydevd accepts wand's proxy itself (debugpy's in-process adapter): no adapter process, about 0.4 s
        /// less per attach (issue 15). False: through debugpy's adapter process, as <c>debugpy.listen()</c> does by default.</summary>
        public bool Direct { get; init; } = true;
    }

    /// <summary>What the session reports to its user.</summary>
    public interface IObserver
    {
        /// <summary>debugpy is ready in <paramref name="endpoint"/>'s process, reachable on 127.0.0.1:<paramref name="localPort"/>.</summary>
        void Attached(DebugpyEndpoint endpoint, int pid, int localPort, bool first);

        /// <summary>A debugged process went away (its editor session waits for the next one, or its child session ends).</summary>
        void Detached(int pid, string reason);

        /// <summary>Something went wrong that the session survives (re-injection failed; it keeps watching).</summary>
        void Problem(string message);
    }

    private readonly DebugpyInjector _injector = new(route.Runner, debugpyLocator, progress);
    private readonly Dictionary<int, DebugpyEndpoint> _attached = [];
    private readonly HashSet<int> _refused = [];
    private readonly HashSet<int> _appParents = [];
    private FollowedContainer? _container;
    private bool _all;
    private int _remotePort;
    private int _current;
    private string _place = "";
    private bool _announced;
    private int _moves;

    /// <summary>The gunicorn master of the followed workers (0: none), whose new workers wait for wand while an editor is connected.</summary>
    private int _forker;

    /// <summary>Whether <see cref="_forker"/>'s fork hold is switched on.</summary>
    private bool _forksHeld;

    /// <summary>The app's werkzeug reloader (0: none), whose next worker waits for wand while an editor is connected.</summary>
    private int _spawner;

    /// <summary>The request pending in <see cref="_spawner"/> until its worker exits (<see cref="DebugpyInjector.HoldNextSpawnAsync"/>), and its cancellation.</summary>
    private (Task<bool> Request, CancellationTokenSource Cancel)? _spawnHold;

    /// <summary>The other processes when the current one was chosen: after it ends, a newcomer (gunicorn's respawned worker) is preferred to them.</summary>
    private HashSet<int> _siblings = [];

    /// <summary>
    /// Runs until cancelled; on the way out stops debugpy (unless Keep) and the proxy.
    /// <paramref name="container"/> is followed through restarts; null for places the route alone
    /// reaches (a pod's container through kubectl exec, this machine).
    /// <paramref name="sharedProxy"/>: the editor's proxy when several sessions feed one (every pod of a
    /// service); the session then leaves it running and only takes its own processes out of it.
    /// </summary>
    public async Task RunAsync(FollowedContainer? container, Func<IReadOnlyList<PythonProcess>, PythonProcess> choose, Options options, IObserver observer,
        DapProxy? sharedProxy, CancellationToken cancellationToken)
    {
        _remotePort = options.RemotePort;
        _container = container;
        var first = await route.ScanAsync(cancellationToken);
        var target = choose(first);
        var supervised = options.One ? null : SupervisedWorkers.Of(first, target);
        if (supervised is not null)
        {
            progress.Step(supervised.Describe(route.PidInside), supervised.Alternative(route.PidInside));
            target = supervised.Workers.FirstOrDefault() ?? target;
        }
        _siblings = first.Select(p => p.Pid).Where(p => p != target.Pid).ToHashSet();
        _all = supervised is { Several: true } || (options.All ?? AllByDefault(first, target));
        // The user's port is taken first, before the route opens tunnels of its own (kubectl port-forward
        // takes a free local port, which could otherwise be this one); debugpy then takes another inside.
        await using var ownProxy = sharedProxy is null ? DapProxy.Start(options.LocalPort, progress, new DapProxyOptions { Time = time, AllBackends = _all }) : null;
        var proxy = sharedProxy ?? ownProxy!;
        _place = options.Place is null ? "" : $"{options.Place} ";
        _current = target.Pid;
        try
        {
            await AttachAsync(target.Pid, proxy, options, observer, cancellationToken); // the first failure is the user's error
            RememberApp(target);
            _forker = Forker(first);
            _spawner = Spawner(first);
            if (_all) await JoinNewWorkersAsync(first, proxy, options, observer, cancellationToken);
            while (true)
            {
                await route.WaitForChangeAsync(WatchInterval, cancellationToken);
                await HoldForksAsync(proxy.EditorCount > 0, options, observer, cancellationToken);
                await HoldSpawnsAsync(proxy.EditorCount > 0, observer);
                if (_all) await FollowAllAsync(proxy, options, observer, cancellationToken);
                else await FollowOneAsync(proxy, options, observer, cancellationToken);
            }
        }
        finally
        {
            await HoldForksAsync(false, options, observer, CancellationToken.None); // even with --keep: no editor is left to wait for
            await HoldSpawnsAsync(false, observer);
            _injector.RemoveSpawnHoldModules();
            if (sharedProxy is not null)
                foreach (var pid in _attached.Keys) sharedProxy.RemoveBackend(Key(pid), "wand stopped debugging it");
            if (!options.Keep) await StopAllAsync(options, observer);
        }
    }

    /// <summary>
    /// Whether the app has several workers side by side (the chosen one and siblings of the same parent):
    /// a request may land on any of them, so all are debugged unless the user said otherwise.
    /// </summary>
    private bool AllByDefault(IReadOnlyList<PythonProcess> processes, PythonProcess target)
    {
        if (target.Role != ProcessRole.Worker || target.ParentPid <= 0) return false;
        var workers = Workers(processes).Count(p => p.Role == ProcessRole.Worker && p.ParentPid == target.ParentPid);
        if (workers < 2) return false;
        progress.Step($"PID {route.PidInside(target.Pid)} is one of {workers} workers: debugging all of them, each a child session in the editor",
            new Remedy(RemedyKind.DebugOnlyThis, route.PidInside(target.Pid)));
        return true;
    }

    /// <summary>One process at a time: when it is gone, the next one (a new worker) takes its place in the editor's session.</summary>
    private async Task FollowOneAsync(DapProxy proxy, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        if (await route.IsAliveAsync(_current, cancellationToken)) return;
        if (_attached.Remove(_current)) Detach(_current, proxy, observer);
        await WaitForContainerAsync(cancellationToken);
        if (await WaitForTargetAsync(cancellationToken) is not { } next) return; // none yet: look again from the same place
        progress.Step($"PID {_current} is gone; injecting into PID {next.Pid} ({next.RoleDetail ?? next.Role.ToString().ToLowerInvariant()})");
        _current = next.Pid; // watched even if it refuses: its successor is taken then
        await ReinjectAsync(next, proxy, options, observer, cancellationToken);
    }

    /// <summary>Every worker: the ones that ended leave the editor's session, new ones join it.</summary>
    private async Task FollowAllAsync(DapProxy proxy, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        foreach (var pid in _attached.Keys.ToList())
            if (!await route.IsAliveAsync(pid, cancellationToken))
            {
                _attached.Remove(pid);
                Detach(pid, proxy, observer);
            }
        if (_attached.Count == 0 && await WaitForContainerAsync(cancellationToken))
            _appParents.Clear(); // the container started again: the app's processes are all new
        var all = await route.ScanAsync(cancellationToken);
        if (_appParents.Count == 0 && RoleClassifier.Recommend(all) is { } app)
        {
            RememberApp(app);
            _forker = Forker(all);
            _spawner = Spawner(all);
            _forksHeld = false; // a new master (the container restarted): the old one's switch went with it
        }
        await JoinNewWorkersAsync(all, proxy, options, observer, cancellationToken);
    }

    /// <summary>
    /// The app is <paramref name="target"/>'s: its parent (a gunicorn master) and itself (if it is the
    /// master) start the app's workers. A container's PID 1 has parent 0, as has everything started by
    /// exec: 0 is never one of them.
    /// </summary>
    private void RememberApp(PythonProcess target) => _appParents.UnionWith(new[] { target.ParentPid, target.Pid }.Where(p => p > 0));

    private async Task JoinNewWorkersAsync(IReadOnlyList<PythonProcess> all, DapProxy proxy, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        foreach (var worker in Workers(all).Where(p => !_attached.ContainsKey(p.Pid) && !_refused.Contains(p.Pid) && InTheApp(p)))
            await ReinjectAsync(worker, proxy, options, observer, cancellationToken);
    }

    /// <summary>
    /// Whether a process belongs to the app being debugged: one of the first workers, or a later one
    /// started by the same parent (a respawned gunicorn worker). Anything else that runs Python there
    /// (a `kubectl exec ... python -c`, a cron job) is left alone.
    /// </summary>
    private bool InTheApp(PythonProcess p) => _appParents.Contains(p.ParentPid);

    /// <summary>
    /// The app's gunicorn master, if the followed workers have one: it forks each new worker without exec, and the worker
    /// serves about 0.1 s after it appears, before an attach from outside can land; held from inside, it waits for it
    /// (fork_hold.py). Reloaders that start a new program (werkzeug, uvicorn's spawn) run no fork handlers in their child.
    /// </summary>
    private int Forker(IReadOnlyList<PythonProcess> all) =>
        all.FirstOrDefault(p => _appParents.Contains(p.Pid) && p.RoleDetail == RoleClassifier.GunicornMaster && p.Attach.CanAttach)?.Pid ?? 0;

    /// <summary>
    /// The app's werkzeug reloader, if the followed worker has one on Python 3.14+: it starts each worker as a new program
    /// (no fork handler runs there) that serves 0.1-0.2 s after it appears, and waits in waitpid meanwhile, where only a
    /// PEP 768 request can wait for it without stopping it (the ptrace route of older Pythons would).
    /// </summary>
    private int Spawner(IReadOnlyList<PythonProcess> all) =>
        all.FirstOrDefault(p => _appParents.Contains(p.Pid) && p.RoleDetail == RoleClassifier.WerkzeugReloader && p.Attach.CanAttach
            && Version.TryParse(p.Version, out var v) && v >= new Version(3, 14))?.Pid ?? 0;

    /// <summary>
    /// While an editor is connected, keeps one request pending in the werkzeug reloader that makes its next worker wait for
    /// wand (spawn_hold.py); it runs when the current worker exits, and the next one is left once that one is done. Off:
    /// the pending request is withdrawn, so it never runs.
    /// </summary>
    private async Task HoldSpawnsAsync(bool on, IObserver observer)
    {
        if (_spawnHold is { Request.IsCompleted: true } done)
        {
            _spawnHold = null;
            done.Cancel.Dispose();
            if (done.Request.IsFaulted || done.Request is { IsCompletedSuccessfully: true, Result: false })
            {
                if (done.Request.Exception?.InnerException is WandException e and not TargetExitedException)
                    observer.Problem($"the next worker of PID {route.PidInside(_spawner)} starts unheld: {e.Message}");
                _spawner = 0;
            }
        }
        if (_spawner == 0) return;
        if (on && _spawnHold is null)
        {
            var cancel = new CancellationTokenSource();
            _spawnHold = (_injector.HoldNextSpawnAsync(_spawner, ForkHold, cancel.Token), cancel);
        }
        else if (!on && _spawnHold is { } pending)
        {
            _spawnHold = null;
            await pending.Cancel.CancelAsync();
            try
            {
                await pending.Request;
            }
            catch (Exception e) when (e is OperationCanceledException or WandException)
            {
            }
            pending.Cancel.Dispose();
        }
    }

    /// <summary>
    /// Switches the master's fork hold on while an editor is connected and off otherwise (and at the session's end). A
    /// failure is reported and the hold given up; a master that exited takes its switch with it.
    /// </summary>
    private async Task HoldForksAsync(bool on, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        if (_forker == 0 || on == _forksHeld) return;
        try
        {
            await _injector.HoldForksAsync(_forker, on ? ForkHold : TimeSpan.Zero, options.SafePointTimeout, cancellationToken);
            _forksHeld = on;
            progress.Step(on
                ? $"PID {route.PidInside(_forker)} (gunicorn master): each new worker waits for wand's attach before it serves (at most {ForkHold.TotalSeconds:0} s)"
                : $"PID {route.PidInside(_forker)} (gunicorn master): new workers no longer wait for wand");
        }
        catch (TargetExitedException)
        {
            _forker = 0;
            _forksHeld = false;
        }
        catch (WandException e)
        {
            observer.Problem($"new workers of PID {route.PidInside(_forker)} start unheld: {e.Message}");
            _forker = 0;
            _forksHeld = false;
        }
    }

    /// <summary>The processes that run the application's code: the workers when there are any, else the main processes.</summary>
    private static List<PythonProcess> Workers(IReadOnlyList<PythonProcess> all)
    {
        var candidates = all.Where(p => p.Attach.CanAttach).ToList();
        var workers = candidates.Where(p => p.Role == ProcessRole.Worker).ToList();
        return workers.Count > 0 ? workers : candidates.Where(p => p.Role == ProcessRole.Main).ToList();
    }

    /// <summary>Injects into a process that appeared during the session; failures are reported, not thrown.</summary>
    private async Task ReinjectAsync(PythonProcess next, DapProxy proxy, Options options, IObserver observer, CancellationToken cancellationToken)
    {
        // A process a few milliseconds old may lose a request sent while it is still setting up:
        // let it reach its first fraction of a second (it is importing by then, and declines politely).
        if (next.Uptime < MinimumAge) await Task.Delay(MinimumAge - next.Uptime, time, cancellationToken);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            try
            {
                // With an editor connected, the new worker serves nothing before its breakpoints are set:
                // the first request after a reload is the one the user wants to stop. Without one, nothing waits.
                await AttachAsync(next.Pid, proxy, options, observer, cancellationToken, proxy.EditorCount > 0 ? FollowHold : TimeSpan.Zero);
                return;
            }
            catch (InjectionFailedException e) when (attempt == 1)
            {
                observer.Problem($"injection into PID {route.PidInside(next.Pid)} ({next.RoleDetail ?? next.Role.ToString().ToLowerInvariant()}: {string.Join(' ', next.CommandLine)}) failed: {e.Message}; trying once more");
            }
            catch (TargetExitedException)
            {
                return; // replaced again before we got to it: the loop picks up the next one
            }
            catch (WandException e)
            {
                observer.Problem($"injection into PID {route.PidInside(next.Pid)} ({next.RoleDetail ?? next.Role.ToString().ToLowerInvariant()}: {string.Join(' ', next.CommandLine)}) failed: {e.Message}");
                _refused.Add(next.Pid); // never retried: the next process is waited for instead
                return;
            }
        }
    }

    private async Task AttachAsync(int pid, DapProxy proxy, Options options, IObserver observer, CancellationToken cancellationToken, TimeSpan hold = default)
    {
        var endpoint = await ListenOnFreePortAsync(pid, options, hold, cancellationToken);
        if (endpoint.Port != _remotePort) route.PrepareConnect(endpoint.Port);
        _remotePort = endpoint.Port;
        _attached[pid] = endpoint;
        var port = endpoint.Port;
        proxy.AddBackend(Key(pid), $"{_place}PID {route.PidInside(pid)}", ct => route.ConnectAsync(port, ct));
        observer.Attached(endpoint, pid, proxy.LocalPort, first: !_announced);
        _announced = true;
    }

    /// <summary>
    /// debugpy listening in <paramref name="pid"/> on the first port inside that is free. A worker that just died may leave
    /// its adapter on the port for a moment, and on this machine the proxy itself holds the user's port. The port is only
    /// free when looked at: another process can take it before debugpy binds (an outgoing connection gets it as its
    /// ephemeral port), so a port taken meanwhile moves on to the next one, a few times.
    /// </summary>
    private async Task<DebugpyEndpoint> ListenOnFreePortAsync(int pid, Options options, TimeSpan hold, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var busy = await route.BusyPortsAsync(cancellationToken);
            while ((busy.Contains(_remotePort) || _attached.Values.Any(e => e.Port == _remotePort)) && _remotePort < 65535) _remotePort++;
            route.PrepareConnect(_remotePort); // a tunnel of the route's own (kubectl port-forward) starts while debugpy does
            try
            {
                return await _injector.StartHeldAsync(pid, options.Host, _remotePort, options.DebugpyPath, options.SafePointTimeout, hold, options.Direct, cancellationToken);
            }
            catch (DebugpyListenFailedException e) when (e.PortInUse && attempt < PortAttempts && _remotePort < 65535)
            {
                progress.Step($"port {_remotePort} inside was taken meanwhile; trying the next one");
                _remotePort++;
            }
        }
    }

    private void Detach(int pid, DapProxy proxy, IObserver observer)
    {
        var reason = $"{_place}PID {route.PidInside(pid)} exited";
        proxy.RemoveBackend(Key(pid), reason);
        observer.Detached(pid, reason);
    }

    private string Key(int pid) => $"{_place}pid {pid}";

    private async Task StopAllAsync(Options options, IObserver observer)
    {
        foreach (var pid in _attached.Keys)
        {
            try
            {
                if (await route.IsAliveAsync(pid, CancellationToken.None))
                    await _injector.StopAsync(pid, options.SafePointTimeout, CancellationToken.None);
            }
            catch (WandException e)
            {
                observer.Problem($"could not stop debugpy in PID {route.PidInside(pid)}: {e.Message}");
            }
        }
    }

    /// <summary>The recommended process of the container once there is one (a new worker), or null if none comes within a while.</summary>
    private async Task<PythonProcess?> WaitForTargetAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < TimeSpan.FromSeconds(60))
        {
            var all = await route.ScanAsync(cancellationToken);
            if (route.Moves != _moves)
            {
                // A replacement pod: its PIDs (PID 1 again) are all new, none is a sibling of before.
                _moves = route.Moves;
                _siblings.Clear();
                _refused.Clear();
            }
            var found = all.Where(p => p.Attach.CanAttach && !_refused.Contains(p.Pid)).ToList();
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

    /// <summary>
    /// Waits until the container (if the session follows one) runs again; returns whether it restarted
    /// meanwhile (and told the route).
    /// </summary>
    private Task<bool> WaitForContainerAsync(CancellationToken cancellationToken) =>
        _container?.WaitUntilRunningAsync(progress, time, cancellationToken) ?? Task.FromResult(false);
}
