using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Progress;
using Wand.Transport.Exec;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// The exec route into a pod that follows pod replacement (rollout, crash, eviction, scale to zero and
/// back): when the pod is gone or no longer Ready, its processes count as gone, and the next scan
/// moves to the newest Ready pod of the same query (service, selector), latest revision first. The
/// debug session then injects there as it does for a new reload worker; the local forward stays.
/// </summary>
public sealed class PodRoute : ITargetRoute, IAsyncDisposable
{
    private readonly PodExecTarget _target;
    private readonly Func<CancellationToken, Task<IReadOnlyList<PodInfo>>> _findPods;
    private readonly Func<PodInfo, CancellationToken, Task<string>> _chooseContainer;
    private readonly IProgressReporter _progress;
    private readonly ExecRoute _inner;
    private readonly KubectlPortForward _forward;
    private readonly ExecWatcher _watcher;
    private volatile bool _gone;

    /// <param name="findPods">The user's query again (the pods behind the service now).</param>
    /// <param name="chooseContainer">The container of a replacement pod to debug (the one the user named, else the one running Python).</param>
    public PodRoute(PodExecTarget target, Func<CancellationToken, Task<IReadOnlyList<PodInfo>>> findPods, Func<PodInfo, CancellationToken, Task<string>> chooseContainer,
        TimeProvider time, IProgressReporter progress)
    {
        _target = target;
        _findPods = findPods;
        _chooseContainer = chooseContainer;
        _progress = progress;
        ExecRoute? inner = null;
        _watcher = new ExecWatcher(target, () => inner?.Interpreter, progress, time);
        _inner = inner = new ExecRoute(new ExecPayloadRunner(target, time, progress, PodPermissionHint) { Channel = _watcher }, _watcher, time);
        _forward = new KubectlPortForward(target, progress, time);
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
    public bool NeedsForward => true;

    public async Task<IReadOnlyList<PythonProcess>> ScanAsync(CancellationToken cancellationToken)
    {
        if (_gone && !await FollowAsync(cancellationToken)) return [];
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
        if (_gone) return false;
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

    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken cancellationToken) => _inner.WaitForChangeAsync(timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _forward.DisposeAsync();
        await _watcher.DisposeAsync();
    }

    public int PidInside(int pid) => pid;

    /// <summary>True (and remembered) when the pod no longer exists or is no longer Ready.</summary>
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

    /// <summary>Moves to the replacement pod when there is a Ready one.</summary>
    private async Task<bool> FollowAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<PodInfo> pods;
        try
        {
            pods = await _findPods(cancellationToken);
        }
        catch (WandException e) when (e.ExitCode == ExitCodes.KubeNotFound)
        {
            return false; // a Knative service scaled to zero, a service being recreated: keep waiting
        }
        var candidates = pods.Where(p => p.Ready && p.Name != _target.Pod.Name).ToList();
        if (candidates.Count == 0) return false;
        var next = PodFinder.ChooseNewestReady(candidates, "the service");
        string container;
        try
        {
            container = await _chooseContainer(next, cancellationToken);
        }
        catch (WandException e) when (!cancellationToken.IsCancellationRequested)
        {
            _progress.Warn($"pod {next.Name} replaces pod {_target.Pod.Name}, but {e.Message}");
            return false;
        }
        _progress.Step($"following pod {_target.Pod.Name} to its replacement, pod {next.Name} (container {container})");
        _target.MoveTo(next, container);
        _gone = false;
        return true;
    }
}
