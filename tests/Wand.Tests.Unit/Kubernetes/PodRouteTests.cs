using Microsoft.Extensions.Time.Testing;
using Wand.Transport.Kubernetes;
using Xunit;
using static Wand.Tests.Unit.Kubernetes.FakePodEvents;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>A pod session's route learns from the pods' watch, on a clock that never moves: no poll decides anything.</summary>
public class PodRouteTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task ANewRevisionsPodTakesOverAsSoonAsItIsReady()
    {
        var old = Pod("hello-00001-a", ready: true, revision: "hello-00001", minutesAgo: 30);
        await using var run = await RouteRun.StartAsync(old, follow: true);

        var woken = run.Route.WaitForChangeAsync(TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.False(woken.IsCompleted);
        run.Source.Send(PodEvent.Added, Pod("hello-00002-b", ready: false, revision: "hello-00002")); // ContainerCreating: not yet
        await woken.WaitAsync(Deadline); // the event wakes the session, not a timer

        run.Source.Send(PodEvent.Modified, Pod("hello-00002-b", ready: true, revision: "hello-00002"));
        await Eventually.TrueAsync(() => run.Watch.Snapshot.Pods.Any(p => p is { Name: "hello-00002-b", Ready: true }), Deadline, "the Ready event");
        Assert.False(await run.Route.IsAliveAsync(1, CancellationToken.None)); // the old pod still runs, yet its processes are done with
        Assert.Equal(run.Start, run.Time.GetUtcNow());
    }

    [Fact(Timeout = 30_000)]
    public async Task ATerminatingPodsProcessesAreGoneAtOnceEvenForAPinnedRoute()
    {
        var pod = Pod("api-a", ready: true);
        await using var run = await RouteRun.StartAsync(pod, follow: false);

        run.Source.Send(PodEvent.Modified, Pod("api-a", ready: true, terminating: true));
        await Eventually.TrueAsync(() => run.Watch.Snapshot.Pods.Single().Terminating, Deadline, "the Terminating event");
        Assert.False(await run.Route.IsAliveAsync(1, CancellationToken.None));
        Assert.Empty(await run.Route.ScanAsync(CancellationToken.None)); // no exec into a pod that is going
        Assert.Equal(run.Start, run.Time.GetUtcNow());
    }

    private sealed class RouteRun : IAsyncDisposable
    {
        public required FakePodEvents Source { get; init; }
        public required FakeTimeProvider Time { get; init; }
        public required DateTimeOffset Start { get; init; }
        public required PodWatch Watch { get; init; }
        public required PodRoute Route { get; init; }

        public static async Task<RouteRun> StartAsync(PodInfo pod, bool follow)
        {
            var source = new FakePodEvents { Listed = [pod] };
            var time = new FakeTimeProvider();
            var watch = new PodWatch(source, source, time);
            await watch.StartAsync(CancellationToken.None);
            await Eventually.TrueAsync(() => source.Watches == 1, Deadline, "the watch to start");
            var target = new PodExecTarget(new KubectlClient(null, null, "ns"), pod, "app");
            var route = new PodRoute(target, watch, follow, (p, _) => Task.FromResult("app"), time, source);
            return new RouteRun { Source = source, Time = time, Start = time.GetUtcNow(), Watch = watch, Route = route };
        }

        public async ValueTask DisposeAsync()
        {
            await Route.DisposeAsync();
            await Watch.DisposeAsync();
        }
    }
}
