using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Progress;
using Wand.Transport.Exec;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// The exec route into a pod that follows pod replacement (rollout, crash, eviction, scale to zero and
/// back), told by a <see cref="PodWatch"/> rather than by polling: when a Ready pod of a later rollout
/// appears (a new Knative revision, a new pod template), or the pod is deleted, Terminating or no
/// longer Ready while another is Ready, its processes count as gone and the next scan moves to the
/// newest Ready pod. The debug session then injects there as it does for a new reload worker; the
/// local forward stays.
/// </summary>
public sealed class PodRoute : ITargetRoute, IAsyncDisposable
{
    private readonly PodExecTarget _target;
    private readonly PodWatch _pods;
    private readonly bool _follow;
    private readonly Func<PodInfo, CancellationToken, Task<string>> _chooseContainer;
    private readonly IProgressReporter _progress;
    private readonly ExecRoute _inner;
    private readonly KubectlPortForward _forward;
    private readonly ExecWatcher _watcher;
    private volatile bool _gone;
    private long _seen;
    private int _moves;

    /// <summary>How long a scan after a move waits for the watcher's first listing in the new pod before it lists through an exec.</summary>
    private static readonly TimeSpan FirstListingTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The pods there were when the session started: they never take over a pod that is still Ready (the user may have chosen an older one).</summary>
    private readonly HashSet<string> _there;

    /// <param name="pods">The watched pods of the user's query (the service's, the selector's, the named pod).</param>
    /// <param name="follow">Whether the route moves to a replacement pod (false: one pod's route, as with --all).</param>
    /// <param name="chooseContainer">The container of a replacement pod to debug (the one the user named, else the one running Python).</param>
    public PodRoute(PodExecTarget target, PodWatch pods, bool follow, Func<PodInfo, CancellationToken, Task<string>> chooseContainer, TimeProvider time, IProgressReporter progress)
    {
        _target = target;
        _pods = pods;
        _follow = follow;
        _chooseContainer = chooseContainer;
        _progress = progress;
        ExecRoute? inner = null;
        _watcher = new ExecWatcher(target, () => inner?.Interpreter, progress, time);
        _inner = inner = new ExecRoute(new ExecPayloadRunner(target, time, progress, PodPermissionHint) { Channel = _watcher }, _watcher, time);
        _forward = new KubectlPortForward(target, progress, time);
        _there = pods.Snapshot.Pods.Select(p => p.Name).ToHashSet();
    }

    /// <summary>The supervised kubectl port-forward editor connections travel through.</summary>
    public KubectlPortForward Forward => _forward;

    /// <summary>The in-pod process watcher (agent.py watch through kubectl exec) that tells new reload workers within 0.1 s.</summary>
    public ExecWatcher Watcher => _watcher;

    /// <summary>What to do when the kernel in the pod refuses wand the target's memory.</summary>
    public const string PodPermissionHint =
        "give the pod's container the SYS_PTRACE capability, e.g. in the Deployment: securityContext: {capabilities: {add: [SYS_PTRACE]}}; or run the app as the user kubectl exec runs as";

    public PodExecTarget Target => _target;

    /// <summary>
    /// Warns, when a debug session starts, if the container has a livenessProbe that a paused process
    /// fails: the kubelet restarts the container, and nothing inside it can keep the probe answered.
    /// </summary>
    public void WarnAboutLivenessProbe()
    {
        if (_target.Pod.LivenessProbes.GetValueOrDefault(_target.Container)?.PauseWarning(_target.Container) is { } warning)
            _progress.Warn($"pod {_target.Pod.Name}: {warning}");
    }
    public string Name => "kubectl exec";
    public PayloadRunnerBase Runner => _inner.Runner;

    /// <summary>How many times the route moved to a replacement pod (PIDs seen before belong to the old one).</summary>
    public int Moves => _moves;

    public async Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken)
    {
        var pods = Look();
        if (Successor(pods) is { } next)
        {
            if (!await MoveAsync(next, cancellationToken)) return [];
            // The watcher starts again in the new pod at once: its first listing is this scan's, no exec of
            // its own beside it (one process fewer while the new pod is being reached). Else the scan lists.
            await _watcher.FirstListingAsync(FirstListingTimeout, cancellationToken);
        }
        else if (_gone || Gone(pods))
        {
            return [];
        }
        try
        {
            return await _inner.ScanAsync(cancellationToken);
        }
        catch (WandException) when (!cancellationToken.IsCancellationRequested)
        {
            if (!await GoneAsync(cancellationToken)) throw;
            return [];
        }
    }

    public async Task<bool> IsAliveAsync(int pid, CancellationToken cancellationToken)
    {
        var pods = Look();
        if (_gone || Gone(pods) || Successor(pods) is not null) return false;
        try
        {
            return await _inner.IsAliveAsync(pid, cancellationToken);
        }
        catch (WandException) when (!cancellationToken.IsCancellationRequested)
        {
            if (!await GoneAsync(cancellationToken)) throw;
            return false;
        }
    }

    public Task<IReadOnlySet<int>> BusyPortsAsync(CancellationToken cancellationToken) => _inner.BusyPortsAsync(cancellationToken);

    /// <summary>Through kubectl port-forward (restarted when it ends, moved with the pod), not through exec.</summary>
    public Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken) => _forward.ConnectAsync(port, cancellationToken);

    public void PrepareConnect(int port) => _forward.Point(port);

    /// <summary>As soon as the pod's processes change (the in-pod watcher) or the pods do (the watch); else after <paramref name="timeout"/>.</summary>
    public async Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var first = await Task.WhenAny(_inner.WaitForChangeAsync(timeout, either.Token), _pods.ChangedAsync(Interlocked.Read(ref _seen), either.Token));
        await either.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
        if (first.IsFaulted) await first; // the failure itself, not a cancellation
    }

    public async ValueTask DisposeAsync()
    {
        await _forward.DisposeAsync();
        await _watcher.DisposeAsync();
    }

    public int PidInside(int pid) => pid;

    /// <summary>The watched pods now; what the session has seen (a later change ends <see cref="WaitForChangeAsync"/> at once).</summary>
    private IReadOnlyList<PodInfo> Look()
    {
        var (version, pods) = _pods.Snapshot;
        Interlocked.Exchange(ref _seen, version);
        return pods;
    }

    /// <summary>The pod was deleted or is being deleted: its processes are gone for wand.</summary>
    private bool Gone(IReadOnlyList<PodInfo> pods) => pods.FirstOrDefault(p => p.Name == _target.Pod.Name) is null or { Terminating: true };

    /// <summary>
    /// The pod to move to: the newest Ready one when the current pod is gone, Terminating or not Ready;
    /// a new Ready pod of a later rollout at once (it takes over while the old pod still drains); else null.
    /// </summary>
    private PodInfo? Successor(IReadOnlyList<PodInfo> pods)
    {
        if (!_follow) return null;
        var others = pods.Where(p => p.Ready && p.Name != _target.Pod.Name).ToList();
        if (pods.FirstOrDefault(p => p.Name == _target.Pod.Name) is { Ready: true } current)
            others = others.Where(p => !_there.Contains(p.Name) && PodFinder.IsNewerRollout(p, current)).ToList();
        return others.Count == 0 ? null : PodFinder.ChooseNewestReady(others, "the query");
    }

    /// <summary>True (and remembered) when an exec failed and the pod no longer exists or is no longer Ready (the watch may not have said so yet).</summary>
    private async Task<bool> GoneAsync(CancellationToken cancellationToken)
    {
        try
        {
            var pod = await new PodFinder(_target.Kubectl with { Namespace = _target.Pod.Namespace }).ByNameAsync(_target.Pod.Name, cancellationToken);
            _gone = !pod.Ready;
        }
        catch (WandException e) when (e.ExitCode == ExitCodes.KubeNotFound)
        {
            _gone = true;
        }
        if (_gone) _progress.Step($"pod {_target.Pod.Name} is gone or not Ready; waiting for its replacement");
        return _gone;
    }

    /// <summary>
    /// Moves to <paramref name="next"/>. A replacement of the same workload has the same containers, so
    /// the container debugged so far is kept when the new pod has it (no look into every container on the
    /// takeover's path); else the one running Python is chosen.
    /// </summary>
    private async Task<bool> MoveAsync(PodInfo next, CancellationToken cancellationToken)
    {
        string container;
        try
        {
            container = next.Containers.Any(c => c.Name == _target.Container) ? _target.Container : await _chooseContainer(next, cancellationToken);
        }
        catch (WandException e) when (!cancellationToken.IsCancellationRequested)
        {
            _progress.Warn($"pod {next.Name} replaces pod {_target.Pod.Name}, but {e.Message}");
            return false;
        }
        _progress.Step($"following pod {_target.Pod.Name} to its replacement, pod {next.Name} (container {container})");
        _target.MoveTo(next, container);
        _watcher.Retarget();
        _forward.Repoint();
        _gone = false;
        Interlocked.Increment(ref _moves);
        return true;
    }
}
