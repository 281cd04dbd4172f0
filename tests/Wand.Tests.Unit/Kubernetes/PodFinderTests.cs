using System.Text.Json;
using Wand.Errors;
using Wand.Transport.Kubernetes;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>Parsing Pod objects as `kubectl get pod -o json` prints them, and choosing the pod and container to debug.</summary>
public class PodFinderTests
{
    // The shape of `kubectl get pod -o json` for a Knative pod (fields wand does not read trimmed).
    private const string KnativePod = """
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": { "serving.knative.dev/creator": "admin" },
            "creationTimestamp": "2026-11-20T09:15:02Z",
            "labels": {
                "app": "hello-00002",
                "serving.knative.dev/revision": "hello-00002",
                "serving.knative.dev/service": "hello"
            },
            "name": "hello-00002-deployment-6f7c9d8b5-x2k4q",
            "namespace": "shop"
        },
        "spec": {
            "containers": [
                { "name": "user-container", "image": "ghcr.io/acme/hello@sha256:0123" },
                { "name": "queue-proxy", "image": "gcr.io/knative-releases/queue@sha256:4567" }
            ],
            "nodeName": "node-b"
        },
        "status": {
            "conditions": [
                { "lastTransitionTime": "2026-11-20T09:15:02Z", "status": "True", "type": "Initialized" },
                { "lastTransitionTime": "2026-11-20T09:15:09Z", "status": "True", "type": "Ready" }
            ],
            "containerStatuses": [
                { "name": "queue-proxy", "ready": true, "restartCount": 0, "started": true },
                { "name": "user-container", "ready": true, "restartCount": 2, "started": true }
            ],
            "phase": "Running"
        }
    }
    """;

    private static PodInfo Pod(string name, bool ready, int minutesAgo, string? revision = null, params (string Name, string Entry)[] containers)
    {
        var labels = revision is null ? new Dictionary<string, string>() : new() { [PodInfo.KnativeServiceLabel] = "hello", [PodInfo.KnativeRevisionLabel] = revision };
        return new PodInfo(name, "ns", ready ? "Running" : "Pending", ready, 0, DateTimeOffset.UtcNow.AddMinutes(-minutesAgo), "node", labels,
            containers.Length == 0 ? [("app", "")] : containers, null);
    }

    [Fact]
    public void ParsesAKnativePod()
    {
        var pod = PodInfo.Parse(JsonDocument.Parse(KnativePod).RootElement);
        Assert.Equal("hello-00002-deployment-6f7c9d8b5-x2k4q", pod.Name);
        Assert.Equal(("shop", "Running", true, 2, "node-b"), (pod.Namespace, pod.Phase, pod.Ready, pod.Restarts, pod.Node));
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 9, 15, 2, TimeSpan.Zero), pod.Created);
        Assert.Equal("hello-00002", pod.Revision);
        Assert.True(pod.IsKnative);
        Assert.Equal("user-container", ContainerChoice.Choose(pod, [])); // nothing seen: Knative's container by name
    }

    [Fact]
    public void APodWithoutStatusIsPendingAndNotReady()
    {
        var pod = PodInfo.Parse(JsonDocument.Parse("""{"metadata":{"name":"p","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"containers":[{"name":"c"}]}}""").RootElement);
        Assert.Equal(("Pending", false, 0), (pod.Phase, pod.Ready, pod.Restarts));
    }

    [Fact]
    public void NewestReadyPodWinsNeverTheNewestName()
    {
        var chosen = PodFinder.ChooseNewestReady([Pod("api-zzz", true, 60), Pod("api-aaa", true, 5), Pod("api-mmm", false, 1)], "service api");
        Assert.Equal("api-aaa", chosen.Name);
    }

    [Fact]
    public void TheLatestKnativeRevisionComesFirst()
    {
        var chosen = PodFinder.ChooseNewestReady([Pod("old-rev", true, 1, "hello-00001"), Pod("new-rev", true, 3, "hello-00002"), Pod("new-rev-b", true, 4, "hello-00002")], "service hello");
        Assert.Equal("new-rev", chosen.Name); // a pod of the old revision was created later, but the latest revision comes first
    }

    [Fact]
    public void NoReadyPodSaysWhichPodsExist()
    {
        var e = Assert.Throws<WandException>(() => PodFinder.ChooseNewestReady([Pod("api-1", false, 1)], "service api"));
        Assert.Equal(ExitCodes.KubeNotFound, e.ExitCode);
        Assert.Contains("api-1 (Pending, not ready)", e.Message);
    }

    [Fact]
    public void GlobalFlagsComeFromTheUser()
    {
        var kubectl = new KubectlClient("prod", "/home/u/.kube/config", "shop");
        Assert.Equal(["--context", "prod", "--kubeconfig", "/home/u/.kube/config", "--namespace", "shop", "get", "pods"], kubectl.Arguments(["get", "pods"]));
        Assert.Equal(["get", "pods"], new KubectlClient(null, null, null).Arguments(["get", "pods"]));
        var target = new PodExecTarget(new KubectlClient("prod", null, null), Pod("p-1", true, 1), "app");
        Assert.Equal(["--context", "prod", "--namespace", "ns", "exec", "-i", "p-1", "-c", "app", "--", "/proc/7/exe", "-I"], target.ExecArguments(["/proc/7/exe", "-I"]));
    }

    [Fact]
    public void KubectlErrorsKeepTheirWordsAndGetAnExitCode()
    {
        var notFound = KubectlClient.Failure("Error from server (NotFound): services \"api\" not found\n", 1);
        Assert.Equal(("Error from server (NotFound): services \"api\" not found", ExitCodes.KubeNotFound), (notFound.Message, notFound.ExitCode));
        Assert.Equal(ExitCodes.PermissionDenied, KubectlClient.Failure("Error from server (Forbidden): pods is forbidden: User \"dev\" cannot list resource", 1).ExitCode);
        Assert.Equal(ExitCodes.KubectlFailed, KubectlClient.Failure("Unable to connect to the server: dial tcp 10.0.0.1:443: i/o timeout", 1).ExitCode);
    }
}
