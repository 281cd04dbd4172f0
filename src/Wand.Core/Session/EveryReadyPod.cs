using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>
/// Keeps one session running per Ready pod of a query (a service, a selector): it looks at the pods
/// every <see cref="Interval"/>; a pod that becomes Ready joins on the next look, a pod that goes
/// away or is no longer Ready has its session cancelled. A pod whose session ended (it said why) is
/// not tried again.
/// </summary>
/// <param name="findPods">The query's pods now, and what the query is ("service web") for the "no Ready pod" error.</param>
/// <param name="runPod">One pod's session: runs until its token is cancelled, or ends by itself after saying why; never throws for a pod's failure.</param>
public sealed class EveryReadyPod(
    Func<CancellationToken, Task<(IReadOnlyList<PodInfo> Pods, string What)>> findPods,
    Func<PodInfo, CancellationToken, Task> runPod,
    TimeProvider time)
{
    /// <summary>How often the pods are looked at: kubectl get is a round trip to the API server, and a pod takes seconds to become Ready.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled, then waits for every pod's session
    /// to end and throws <see cref="OperationCanceledException"/>. Throws the "no Ready pod" error when
    /// the first look finds none.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var sessions = new Dictionary<string, (CancellationTokenSource Stop, Task Run)>();
        var given = new HashSet<string>(); // pods whose session ended (it said why): not tried again
        try
        {
            while (true)
            {
                var (pods, what) = await findPods(cancellationToken);
                var ready = pods.Where(p => p.Ready).ToDictionary(p => p.Name);
                if (ready.Count == 0 && sessions.Count == 0 && given.Count == 0) PodFinder.ChooseNewestReady(pods, what); // throws "no Ready pod"
                foreach (var (name, (stop, run)) in sessions.Where(s => !ready.ContainsKey(s.Key) || s.Value.Run.IsCompleted).ToList())
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
                await Task.Delay(Interval, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(sessions.Values.Select(s => s.Run));
            throw;
        }
    }
}
