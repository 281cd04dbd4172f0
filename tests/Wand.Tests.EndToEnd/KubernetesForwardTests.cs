using System.Diagnostics;
using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// The editor link of a pod session: wand's listener on the user's port relays to a supervised
/// `kubectl port-forward` (the stand-in's forwards into the pod's network namespace and ends with the pod).
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesForwardTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    [Fact]
    public async Task AKilledPortForwardIsRestartedAndTheSameLocalPortStillReachesDebugpy()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-pf-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal(localPort, attached.GetProperty("localPort").GetInt32());
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "before"));
        Assert.Contains("\"port-forward\", \"pod/api-pf-0\"", KubeCluster.Log); // the editor link goes through kubectl port-forward

        var first = Assert.Single(cluster.PortForwardPids("api-pf-0"));
        Process.GetProcessById(first).Kill();
        // The supervisor starts it again by itself, before any editor connects.
        var restarted = await WaitForAsync(() => cluster.PortForwardPids("api-pf-0").Where(p => p != first).ToList() is { Count: 1 } l ? l[0] : (int?)null);
        Assert.NotEqual(first, restarted);
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "after"));
        Assert.Contains("kubectl port-forward to pod api-pf-0 ended", session.Stderr);

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.Empty(cluster.PortForwardPids("api-pf-0")); // Ctrl+C stops the forward
        Assert.False(TestNet.IsListening(localPort));
    }

    private static async Task<int> WaitForAsync(Func<int?> probe)
    {
        for (var i = 0; i < 300; i++)
        {
            if (probe() is { } found) return found;
            await Task.Delay(100);
        }
        throw new TimeoutException("kubectl port-forward was not started again");
    }
}
