using Microsoft.Extensions.Time.Testing;
using Wand.Transport.Kubernetes;
using Xunit;
using static Wand.Tests.Unit.Kubernetes.FakePodEvents;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>The pods' watch: events change the view at once; a watch that ends is followed by a list and a new watch, after a backoff on the (fake) clock.</summary>
public class PodWatchTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task AnEventChangesTheViewAndWakesWhoWaitsAtOnce()
    {
        var source = new FakePodEvents { Listed = [Pod("a", ready: true)] };
        var time = new FakeTimeProvider();
        await using var watch = new PodWatch(source, source, time);
        await watch.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => source.Watches == 1, Deadline, "the watch to start");
        var (version, pods) = watch.Snapshot;
        Assert.Equal(["a"], pods.Select(p => p.Name));

        var changed = watch.ChangedAsync(version, CancellationToken.None);
        Assert.False(changed.IsCompleted);
        source.Send(PodEvent.Added, Pod("b", ready: false));
        await changed.WaitAsync(Deadline); // no clock moved
        source.Send(PodEvent.Modified, Pod("a", ready: true, terminating: true));
        source.Send(PodEvent.Deleted, Pod("b", ready: false));
        await Eventually.TrueAsync(() => watch.Snapshot.Pods is [{ Name: "a", Terminating: true, Ready: false }], Deadline, "a Terminating, b gone");
        Assert.Equal(1, source.Lists);
    }

    [Fact(Timeout = 30_000)]
    public async Task AWatchThatEndsIsFollowedByAListAndANewWatch()
    {
        var source = new FakePodEvents { Listed = [Pod("a", ready: true)] };
        var time = new FakeTimeProvider();
        await using var watch = new PodWatch(source, source, time);
        await watch.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => source.Watches == 1, Deadline, "the watch to start");

        source.Listed = [Pod("c", ready: true)]; // a was deleted and c added while no watch ran
        source.EndStream();
        await Eventually.TrueAsync(() => source.Steps.Any(s => s.Contains("the pod watch (kubectl get pods --watch) ended (the fake stream ended); starting it again")),
            Deadline, "the end to be reported");
        Assert.Equal(1, source.Lists); // it ended at once: a backoff first
        // The backoff's timer is made just after the report: the clock moves on until the second watch has started
        // (a single move could come before the timer exists and then never fire it).
        await Eventually.TrueAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            return source.Watches == 2;
        }, Deadline, "the second watch");
        Assert.Equal(2, source.Lists);
        Assert.Equal(["c"], watch.Snapshot.Pods.Select(p => p.Name));
        Assert.Equal(1, watch.Restarts);
    }

    [Fact]
    public void KubectlsIndentedEventsAreSplitWhereverTheReadsEnd()
    {
        const string stream = """
        {
            "type": "ADDED",
            "object": {"kind": "Pod", "metadata": {"name": "a-{1}", "namespace": "ns", "creationTimestamp": "2026-12-06T10:00:00Z", "annotations": {"x": "\"}{\\"}}}
        }
        {
            "type": "MODIFIED",
            "object": {"kind": "Pod", "metadata": {"name": "a-{1}", "namespace": "ns", "creationTimestamp": "2026-12-06T10:00:00Z", "deletionTimestamp": "2026-12-06T10:05:00Z"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        }
        {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "too old resource version", "code": 410}}
        {"type":"DELETED","object":{"kind":"Pod","metadata":{"name":"a-{1}","namespace":"ns","creationTimestamp":"2026-12-06T10:00:00Z"}}}

        """;
        var splitter = new JsonDocumentSplitter();
        var documents = new List<string>();
        for (var i = 0; i < stream.Length; i += 7) documents.AddRange(splitter.Feed(stream.AsSpan(i, Math.Min(7, stream.Length - i))));
        Assert.Equal(4, documents.Count);
        var events = documents.Select(KubectlPodEvents.Parse).ToList();
        Assert.Null(events[2]); // ERROR carries a Status, no pod
        Assert.Equal([PodEvent.Added, PodEvent.Modified, PodEvent.Deleted], events.Where(e => e is not null).Select(e => e!.Type));
        Assert.All(events.Where(e => e is not null), e => Assert.Equal("a-{1}", e!.Pod.Name));
        Assert.True(events[1]!.Pod.Terminating);
        Assert.False(events[1]!.Pod.Ready); // a Terminating pod is never Ready for wand
        Assert.Equal("Terminating", events[1]!.Pod.Status);
    }

    [Fact]
    public void TheWatchIsOneKubectlGetWithWatchEvents()
    {
        var kubectl = new KubectlClient("ctx", null, "shop");
        Assert.Equal(["--context", "ctx", "--namespace", "shop", "get", "pods", "-l", "app=api", "-o", "json", "--watch", "--output-watch-events"],
            new KubectlPodEvents(kubectl, "app=api", null).WatchArguments());
        Assert.Equal(["--context", "ctx", "--namespace", "shop", "get", "pods", "api-0", "-o", "json", "--watch", "--output-watch-events"],
            new KubectlPodEvents(kubectl, null, "api-0").WatchArguments());
    }

    [Fact]
    public void APendingPodShowsWhatItWaitsFor()
    {
        var pod = PodInfo.Parse(System.Text.Json.JsonDocument.Parse("""
            {"metadata": {"name": "p", "creationTimestamp": "2026-12-06T10:00:00Z"}, "spec": {"containers": [{"name": "app"}]},
             "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}
            """).RootElement);
        Assert.Equal(("Pending", "ContainerCreating", false), (pod.Phase, pod.Status, pod.Ready));
    }

    [Fact]
    public void ANewRevisionOrPodTemplateIsALaterRolloutAScaleUpIsNot()
    {
        Assert.True(PodFinder.IsNewerRollout(Pod("new", true, revision: "hello-00002", minutesAgo: 1), Pod("old", true, revision: "hello-00001", minutesAgo: 9)));
        Assert.False(PodFinder.IsNewerRollout(Pod("old", true, revision: "hello-00001", minutesAgo: 0), Pod("new", true, revision: "hello-00002", minutesAgo: 9)));
        Assert.False(PodFinder.IsNewerRollout(Pod("more", true, revision: "hello-00002", minutesAgo: 0), Pod("first", true, revision: "hello-00002", minutesAgo: 9)));
        static PodInfo Hash(string name, string hash, int minutesAgo) => Pod(name, true, minutesAgo: minutesAgo) with { Labels = new Dictionary<string, string> { ["pod-template-hash"] = hash } };
        Assert.True(PodFinder.IsNewerRollout(Hash("b", "7d9f", 1), Hash("a", "5c8e", 9)));
        Assert.False(PodFinder.IsNewerRollout(Hash("b", "5c8e", 1), Hash("a", "5c8e", 9)));
    }
}
