using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Wand.Errors;
using Wand.Session;
using Wand.Tests.Unit.Kubernetes;
using Wand.Transport.Kubernetes;
using Xunit;
using static Wand.Tests.Unit.Kubernetes.FakePodEvents;

namespace Wand.Tests.Unit.Session;

/// <summary>
/// The --all pod loop driven by the pods' watch: the test sends watch events itself and the clock
/// never moves, so whatever happens, happens because of an event, never because a poll came round.
/// </summary>
public class EveryReadyPodTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task APodThatBecomesReadyJoinsOnItsEventWithoutTheClockMoving()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: true), Pod("b", ready: false));
        await run.WaitForAsync("join a");

        run.Source.Send(PodEvent.Modified, Pod("b", ready: true));
        await run.WaitForAsync("join b");

        run.Source.Send(PodEvent.Added, Pod("c", ready: false)); // Pending / ContainerCreating: shown, not joined
        run.Source.Send(PodEvent.Added, Pod("d", ready: true)); // events are applied in order: once d joined, c was seen
        await run.WaitForAsync("join d");
        Assert.Equal(["join a", "join b", "join d"], run.Events);
        Assert.Equal(run.Start, run.Time.GetUtcNow());
        Assert.Equal(1, run.Source.Lists); // listed once, then only watched
    }

    [Fact(Timeout = 30_000)]
    public async Task ATerminatingPodLeavesAtOnceAndADeletedOneToo()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join a");
        await run.WaitForAsync("join b");

        // deletionTimestamp set: the pod's Ready condition may still say True, it is no target any more.
        run.Source.Send(PodEvent.Modified, Pod("b", ready: true, terminating: true));
        await run.WaitForAsync("leave b");

        run.Source.Send(PodEvent.Deleted, Pod("a", ready: true));
        await run.WaitForAsync("leave a");
        run.Source.Send(PodEvent.Added, Pod("b", ready: true)); // a pod whose session ended is not tried again
        run.Source.Send(PodEvent.Added, Pod("c", ready: true));
        await run.WaitForAsync("join c");
        Assert.Equal(1, run.Events.Count(e => e == "join b"));
        Assert.Equal(run.Start, run.Time.GetUtcNow());
    }

    /// <summary>
    /// Readiness comes and goes while a pod is debugged (its readinessProbe fails while the app is stopped
    /// at a breakpoint, a sidecar restarts): its processes still run, so its session stays until the pod is
    /// Terminating or deleted. The surviving pod of a scale-down lost its child session so (issue 16).
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task APodThatIsNoLongerReadyKeepsItsSessionUntilItIsTerminating()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join a");
        await run.WaitForAsync("join b");

        run.Source.Send(PodEvent.Modified, Pod("a", ready: false));
        run.Source.Send(PodEvent.Modified, Pod("a", ready: true));
        run.Source.Send(PodEvent.Modified, Pod("a", ready: false));
        run.Source.Send(PodEvent.Deleted, Pod("b", ready: true)); // applied after a's events: once b left, they were seen
        await run.WaitForAsync("leave b");
        Assert.DoesNotContain("leave a", run.Events);

        run.Source.Send(PodEvent.Modified, Pod("a", ready: false, terminating: true));
        await run.WaitForAsync("leave a");
        Assert.Equal(1, run.Events.Count(e => e == "join a"));
    }

    [Fact(Timeout = 30_000)]
    public async Task APodWhoseSessionEndedByItselfIsNotTriedAgain()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: true));
        await run.WaitForAsync("join a");
        run.End("a"); // e.g. its Python is too old: the session said why and ended
        await run.WaitForAsync("end a");

        run.Source.Send(PodEvent.Modified, Pod("a", ready: true));
        run.Source.Send(PodEvent.Added, Pod("b", ready: true));
        await run.WaitForAsync("join b");
        Assert.Equal(["join a", "end a", "join b"], run.Events);
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingEndsEveryPodsSessionBeforeItReturns()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join a");
        await run.WaitForAsync("join b");

        await run.Cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Loop.WaitAsync(Deadline));
        Assert.Contains("leave a", run.Events);
        Assert.Contains("leave b", run.Events);
    }

    [Fact(Timeout = 30_000)]
    public async Task NoReadyPodOnTheFirstViewIsTheUsersError()
    {
        await using var run = await LoopRun.StartAsync(Pod("a", ready: false), Pod("b", ready: true, terminating: true));

        var error = await Assert.ThrowsAsync<WandException>(() => run.Loop.WaitAsync(Deadline));
        Assert.Equal(ExitCodes.KubeNotFound, error.ExitCode);
        Assert.Equal("no Ready pod behind service web: a (Pending, not ready), b (Terminating, not ready)", error.Message);
        Assert.Empty(run.Events);
    }

    /// <summary>One loop over a watch of a fake source on a fake clock, with fake pod sessions that record joining and leaving.</summary>
    private sealed class LoopRun : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _events = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _ends = new();

        private LoopRun(PodWatch watch)
        {
            Watch = watch;
            Loop = new EveryReadyPod(watch, "service web", RunPodAsync).RunAsync(Cancel.Token);
        }

        public static async Task<LoopRun> StartAsync(params PodInfo[] pods)
        {
            var source = new FakePodEvents { Listed = pods };
            var time = new FakeTimeProvider();
            var watch = new PodWatch(source, source, time);
            await watch.StartAsync(CancellationToken.None);
            var run = new LoopRun(watch) { Source = source, Time = time, Start = time.GetUtcNow() };
            await Eventually.TrueAsync(() => source.Watches == 1, Deadline, "the watch to start");
            return run;
        }

        public required FakePodEvents Source { get; init; }

        public required FakeTimeProvider Time { get; init; }

        public required DateTimeOffset Start { get; init; }

        public PodWatch Watch { get; }

        public CancellationTokenSource Cancel { get; } = new();

        public Task Loop { get; }

        public IReadOnlyList<string> Events => _events.ToList();

        public Task WaitForAsync(string what) =>
            Eventually.TrueAsync(
                () => _events.Contains(what) || (Loop.IsCompleted
                    ? throw new Xunit.Sdk.XunitException($"the loop ended while waiting for {what}: {Loop.Exception?.InnerException?.Message ?? Loop.Status.ToString()}")
                    : false),
                Deadline, $"\"{what}\"", () => "events: " + string.Join(", ", _events));

        public void End(string pod) => _ends[pod].SetResult();

        private async Task RunPodAsync(PodInfo pod, CancellationToken cancellationToken)
        {
            var end = _ends[pod.Name] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _events.Enqueue($"join {pod.Name}");
            try
            {
                await end.Task.WaitAsync(cancellationToken);
                _events.Enqueue($"end {pod.Name}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _events.Enqueue($"leave {pod.Name}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Cancel.CancelAsync();
            try
            {
                await Loop.WaitAsync(Deadline);
            }
            catch (Exception e) when (e is OperationCanceledException or WandException)
            {
                // the loop ends by cancellation, or ended with the error a test looked at
            }
            await Watch.DisposeAsync();
            Cancel.Dispose();
        }
    }
}
