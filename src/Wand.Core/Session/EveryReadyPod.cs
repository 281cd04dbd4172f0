using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>
/// Keeps one session running per Ready pod of a query (a service, a selector), driven by the pods'
/// watch (<see cref="PodWatch"/>), never by a poll: a pod that becomes Ready joins as soon as the watch
/// says so, a pod that is deleted or Terminating has its session cancelled at once. A pod that is only
/// no longer Ready keeps its session: its processes still run, and readiness comes and goes while they
/// are debugged (a readinessProbe fails while the app is stopped at a breakpoint; a sidecar restarts).
/// A pod whose session ended (it said why) is not tried again.
/// </summary>
/// <param name="pods">The query's pods, watched (started).</param>
/// <param name="what">What the query is ("service web") for the "no Ready pod" error.</param>
/// <param name="runPod">One pod's session: runs until its token is cancelled, or ends by itself after saying why; never throws for a pod's failure.</param>
public sealed class EveryReadyPod(PodWatch pods, string what, Func<PodInfo, CancellationToken, Task> runPod)
{
    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled, then waits for every pod's session
    /// to end and throws <see cref="OperationCanceledException"/>. Throws the "no Ready pod" error when
    /// the first view has none.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var sessions = new Dictionary<string, (CancellationTokenSource Stop, Task Run)>();
        var given = new HashSet<string>(); // pods whose session ended (it said why): not tried again
        try
        {
            while (true)
            {
                var (version, all) = pods.Snapshot;
                var ready = all.Where(p => p.Ready).ToDictionary(p => p.Name); // Ready is never a Terminating pod
                var there = all.Where(p => !p.Terminating).Select(p => p.Name).ToHashSet();
                if (ready.Count == 0 && sessions.Count == 0 && given.Count == 0) PodFinder.ChooseNewestReady(all, what); // throws "no Ready pod"
                foreach (var (name, (stop, run)) in sessions.Where(s => !there.Contains(s.Key) || s.Value.Run.IsCompleted).ToList())
                {
                    await stop.CancelAsync();
                    await run;
                    stop.Dispose();
                    sessions.Remove(name);
                    given.Add(name);
                }
                foreach (var pod in ready.Values.Where(p => !sessions.ContainsKey(p.Name) && !given.Contains(p.Name)))
                {
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    sessions[pod.Name] = (stop, runPod(pod, stop.Token));
                }
                // The next change of the pods, or a pod's session ending by itself.
                await Task.WhenAny([pods.ChangedAsync(version, cancellationToken), .. sessions.Values.Select(s => s.Run)]);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(sessions.Values.Select(s => s.Run));
            throw;
        }
    }
}
