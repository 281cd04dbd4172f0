using System.Text.Json;
using Wand.Transport.Kubernetes;
using Xunit;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>A container's livenessProbe, read from the pod spec, and whether a paused app fails it.</summary>
public class LivenessProbeTests
{
    private static PodInfo Pod(string probes) => PodInfo.Parse(JsonDocument.Parse($$"""
        { "metadata": { "name": "api-0" }, "spec": { "containers": [ {{probes}} ] } }
        """).RootElement);

    [Fact]
    public void KubernetesDefaultsGiveThirtySeconds()
    {
        var pod = Pod("""{ "name": "app", "livenessProbe": { "httpGet": { "path": "/healthz", "port": "http" } } }, { "name": "sidecar" }""");
        var probe = Assert.Single(pod.LivenessProbes).Value;
        Assert.Equal(30, probe.RestartAfterSeconds);
        Assert.Equal("a breakpoint held longer than about 30 s restarts container app (livenessProbe httpGet /healthz on port http, every 10 s, 3 failures); "
            + "raise the probe's failureThreshold while debugging, or continue within that time", probe.PauseWarning("app"));
    }

    [Fact]
    public void ExecProbeIsNamedByItsCommand()
    {
        var probe = Pod("""{ "name": "app", "livenessProbe": { "exec": { "command": ["cat", "/tmp/alive"] }, "periodSeconds": 2, "failureThreshold": 1 } }""").LivenessProbes["app"];
        Assert.Equal(("exec cat /tmp/alive", 2), (probe.Check, probe.RestartAfterSeconds));
    }

    [Fact]
    public void TcpSocketProbeIsAnsweredByTheKernelWhilePaused()
    {
        var probe = Pod("""{ "name": "app", "livenessProbe": { "tcpSocket": { "port": 8000 } } }""").LivenessProbes["app"];
        Assert.Null(probe.PauseWarning("app"));
    }
}
