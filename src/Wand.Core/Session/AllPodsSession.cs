using Wand.Discovery;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Session.Proxy;
using Wand.Transport.Kubernetes;

namespace Wand.Session;

/// <summary>
/// <c>--all</c> with pods: every worker of every Ready pod behind a service is a child session of the
/// editor's one session: one <see cref="DapProxy"/>, a <see cref="DebugSession"/> per pod
/// (<see cref="EveryReadyPod"/>); pods that become Ready later join, pods that go leave.
/// </summary>
public sealed class AllPodsSession(IProgressReporter progress, TimeProvider time)
{
    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled; then every pod's session has ended
    /// (debugpy stopped unless <see cref="DebugSession.Options.Keep"/>) and it throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="routeTo">A route into one pod that never moves to another pod.</param>
    /// <param name="observe">What reports one pod's session to the user.</param>
    /// <param name="take">Takes the process to debug in a pod from the rule's decision (no one is asked: many pods, one terminal).</param>
    /// <param name="options">The request; its local port is the proxy's, every pod's workers are debugged.</param>
    /// <param name="pods">The watched pods of the query (started), and what the query is for messages.</param>
    public async Task RunAsync(PodWatch pods, string what, Func<PodInfo, CancellationToken, Task<PodRoute>> routeTo,
        Func<PodRoute, DebugSession.IObserver> observe, Func<ProcessChoice, PythonProcess> take, DebugSession.Options options, CancellationToken cancellationToken)
    {
        await using var proxy = DapProxy.Start(options.LocalPort, progress, new DapProxyOptions { AllBackends = true });
        var perPod = options with { LocalPort = proxy.LocalPort, All = true, One = false };
        await new EveryReadyPod(pods, what, (pod, ct) => DebugPodAsync(pod, routeTo, observe, take, perPod with { Place = pod.Name }, proxy, ct)).RunAsync(cancellationToken);
    }

    /// <summary>One pod's part: ends (saying why) when the pod goes or cannot be debugged.</summary>
    private async Task DebugPodAsync(PodInfo pod, Func<PodInfo, CancellationToken, Task<PodRoute>> routeTo, Func<PodRoute, DebugSession.IObserver> observe, Func<ProcessChoice, PythonProcess> take,
        DebugSession.Options options, DapProxy proxy, CancellationToken cancellationToken)
    {
        try
        {
            await using var route = await routeTo(pod, cancellationToken);
            var exec = route.Target;
            route.WarnAboutLivenessProbe();
            await new DebugSession(route, DebugpyLocator.Default, progress, time)
                .RunAsync(null, ps => take(ProcessChoice.Among(PodProcessChoice.Attachable(ps, exec), exec.Description)), options, observe(route), proxy, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the pod went away or the user pressed Ctrl+C
        }
        catch (WandException e)
        {
            progress.Warn($"pod {pod.Name}: {e.Message}");
        }
    }
}
