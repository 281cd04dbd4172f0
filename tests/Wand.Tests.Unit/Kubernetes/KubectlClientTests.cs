using Wand.Errors;
using Wand.Transport.Kubernetes;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>kubectl's version check and the argv wand builds for kubectl (never a shell string).</summary>
public class KubectlClientTests
{
    // `kubectl version --client -o json` of a GKE-packaged kubectl (minor "32+").
    private const string Gke = """
    {
      "clientVersion": {
        "major": "1",
        "minor": "32+",
        "gitVersion": "v1.32.4-dispatcher",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T20:09:34Z",
        "goVersion": "go1.23.8",
        "compiler": "gc",
        "platform": "linux/amd64"
      },
      "kustomizeVersion": "v5.5.0"
    }
    """;

    [Fact]
    public void ACurrentKubectlPasses() => KubectlClient.CheckVersion(Gke);

    [Theory]
    [InlineData("1", "22", "kubectl 1.22 is too old")]
    [InlineData("1", "19+", "kubectl 1.19 is too old")]
    public void AnOldKubectlIsRefusedWithItsVersion(string major, string minor, string expected)
    {
        var e = Assert.Throws<WandException>(() => KubectlClient.CheckVersion("{\"clientVersion\": {\"major\": \"" + major + "\", \"minor\": \"" + minor + "\"}}"));
        Assert.Equal(ExitCodes.KubectlFailed, e.ExitCode);
        Assert.StartsWith(expected, e.Message);
        Assert.Contains("1.23 or newer", e.Message);
        Assert.NotNull(e.Hint);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"serverVersion": {}}""")]
    [InlineData("""{"clientVersion": {"major": "", "minor": ""}}""")]
    public void AKubectlThatCannotSayIsLetThrough(string output) => KubectlClient.CheckVersion(output);

    [Fact]
    public void PortForwardGoesToThePodInItsNamespaceOnLoopbackWithAPortKubectlChooses()
    {
        var pod = new PodInfo("api-7c9b", "shop", "Running", true, 0, DateTimeOffset.UnixEpoch, "node-1", new Dictionary<string, string>(), [("app", "")], null);
        var target = new PodExecTarget(new KubectlClient("prod", "/home/u/.kube/config", null), pod, "app");
        Assert.Equal(["--context", "prod", "--kubeconfig", "/home/u/.kube/config", "--namespace", "shop", "port-forward", "pod/api-7c9b", ":5678", "--address", "127.0.0.1"],
            target.PortForwardArguments(5678));

        var next = pod with { Name = "api-8d0c" };
        target.MoveTo(next, "app");
        Assert.Contains("pod/api-8d0c", target.PortForwardArguments(5678)); // a replaced pod is forwarded to from then on
    }

    [Fact]
    public void KubectlsOwnWordsAreKeptWithAnExitCodeFromTheReason()
    {
        Assert.Equal(ExitCodes.KubeNotFound, KubectlClient.Failure("Error from server (NotFound): pods \"x\" not found\n", 1).ExitCode);
        var forbidden = KubectlClient.Failure("Error from server (Forbidden): pods \"x\" is forbidden: User \"u\" cannot create resource \"pods/portforward\"", 1);
        Assert.Equal(ExitCodes.PermissionDenied, forbidden.ExitCode);
        Assert.StartsWith("Error from server (Forbidden)", forbidden.Message);
        Assert.Contains("exit 7", KubectlClient.Failure("", 7).Message);
    }

    [Fact]
    public void KlogLinesBeforeKubectlsMessageAreLeftOut()
    {
        const string klog = "E1206 21:30:12.633725    5960 memcache.go:265] \"Unhandled Error\" err=\"couldn't get current server API group list: Get \\\"https://127.0.0.1:1/api?timeout=32s\\\": dial tcp 127.0.0.1:1: connect: connection refused\"\n";
        var failure = KubectlClient.Failure(string.Concat(Enumerable.Repeat(klog, 5)) + "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n", 1);
        Assert.Equal("The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?", failure.Message);
        Assert.True(failure.ClusterUnreachable);
        Assert.Equal(ExitCodes.KubectlFailed, failure.ExitCode);
        Assert.StartsWith("\"Unhandled Error\"", KubectlClient.Failure(klog, 1).Message); // nothing else said: the klog line's text
        Assert.False(KubectlClient.Failure("Error from server (NotFound): pods \"x\" not found", 1).ClusterUnreachable);
    }
}
