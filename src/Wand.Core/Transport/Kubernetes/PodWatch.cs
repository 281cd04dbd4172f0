using Wand.Errors;
using Wand.Progress;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// The pods a user means, kept current by a watch instead of a poll: listed once, then one long-lived
/// watch (<see cref="IPodEventSource.WatchAsync"/>: a `kubectl get --watch`) applies every event as it
/// comes; when the watch ends (the API server closes watches after a while, the network drops) the
/// pods are listed again and a new watch starts. Sessions wait on <see cref="ChangedAsync"/>: a pod that
/// becomes Ready, goes Terminating or is deleted reaches them at once.
/// </summary>
public sealed class PodWatch(IPodEventSource source, IProgressReporter progress, TimeProvider time) : IAsyncDisposable
{
    private readonly Supervisor _supervisor = new(time);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PodInfo> _pods = [];
    private long _version;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many times the watch was started again after it ended.</summary>
    public int Restarts { get; private set; }

    /// <summary>The pods now (Terminating ones included: <see cref="PodInfo.Terminating"/>), and the version of this view.</summary>
    public (long Version, IReadOnlyList<PodInfo> Pods) Snapshot
    {
        get
        {
            lock (_gate) return (_version, _pods.Values.ToList());
        }
    }

    /// <summary>Lists the pods (the user's errors, such as a missing pod, are thrown here) and starts watching them.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Replace(await source.ListAsync(cancellationToken));
        if (!_supervisor.Start(SuperviseAsync)) throw new ObjectDisposedException(nameof(PodWatch));
    }

    /// <summary>Completes as soon as the pods differ from the view of <paramref name="version"/> (at once if they already do).</summary>
    public Task ChangedAsync(long version, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_version != version) return Task.CompletedTask;
            return _changed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Applies one event to the view.</summary>
    public void Apply(PodEvent e) => Change(pods =>
    {
        if (e.Type == PodEvent.Deleted) return pods.Remove(e.Pod.Name);
        pods[e.Pod.Name] = e.Pod;
        return true;
    });

    private void Replace(IReadOnlyList<PodInfo> pods) => Change(view =>
    {
        view.Clear();
        foreach (var p in pods) view[p.Name] = p;
        return true;
    });

    private void Change(Func<Dictionary<string, PodInfo>, bool> change)
    {
        TaskCompletionSource? changed = null;
        lock (_gate)
        {
            if (!change(_pods)) return;
            _version++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private async Task SuperviseAsync()
    {
        var relist = false;
        while (!_supervisor.Stopping)
        {
            var started = time.GetTimestamp();
            var why = "it ended";
            try
            {
                // Events missed while no watch ran (a pod deleted meanwhile) are caught up by listing again.
                if (relist) Replace(await source.ListAsync(_supervisor.Token));
                await foreach (var e in source.WatchAsync(w => why = w, _supervisor.Token)) Apply(e);
            }
            catch (OperationCanceledException) when (_supervisor.Stopping)
            {
                return;
            }
            catch (WandException e)
            {
                why = e.Message;
            }
            if (_supervisor.Stopping) return;
            relist = true;
            Restarts++;
            await _supervisor.EndedAsync(time.GetElapsedTime(started), TimeSpan.FromSeconds(5),
                () => progress.Step($"the pod watch (kubectl get pods --watch) ended ({why}); starting it again"));
        }
    }

    public async ValueTask DisposeAsync() => await _supervisor.StopAsync();
}
