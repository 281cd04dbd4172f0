using System.Text.Json;
using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// The pod's container is chosen by what runs in it (one `kubectl exec` per container, all at once),
/// never by its position, name or spec command: no --pod-container in any of these.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesContainerChoiceTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    /// <summary>A sidecar that runs no Python (a shell blocked on a FIFO), though its image has a python3 wand's look can run.</summary>
    private static readonly string[] Sidecar = ["/usr/bin/dash", "-c", "/usr/bin/python3.14 -c 'import os; os.mkfifo(\"/tmp/idle\")' && read x < /tmp/idle"];

    /// <summary>uvicorn under a shell that outlives it (`sh -c 'python3.14 ...; echo ...'`): PID 1 is the shell, Python its child.</summary>
    private static readonly string[] UnderAShell = ["/usr/bin/dash", "-c", string.Join(' ', ContainerApp.Uvicorn(reload: false)) + "; echo uvicorn ended"];

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ASidecarFirstPodWhoseAppRunsUnderAShellIsFoundForExecAndDebug()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-shell-0", ApiLabels, [("log-shipper", Sidecar), ("app", UnderAShell)]);
        var app = pod.Containers["app"];
        await ContainerApp.WaitUntilServingAsync(app);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "-c", "import os; print(os.getpid() != 1, os.getppid())"]);
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Equal("True 1\n", exec.Stdout); // the shell's Python child
        Assert.Contains("pod api-shell-0 (container app)", exec.Stderr);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("app", attached.GetProperty("container").GetString());
        var pid = attached.GetProperty("pidInside").GetInt32();
        Assert.NotEqual(1, pid);
        Assert.Equal(pid.ToString(), await ContainerApp.HitBreakpointAsync(app, localPort, "shell"));
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AShareProcessNamespacePodCountsEachProcessInItsOwnContainer()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        // Every container sees every process: the sidecar's look must not count the app's Python as its own,
        // or two containers would seem to run Python.
        var pod = await cluster.AddPodAsync("api-shared-0", ApiLabels, [("log-shipper", Sidecar), ("app", ContainerApp.Uvicorn(reload: false))], shareProcessNamespace: true);
        var app = pod.Containers["app"];
        await ContainerApp.WaitUntilServingAsync(app);

        var pods = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "--with-pids", "-o", "json"]);
        Assert.True(pods.ExitCode == 0, pods.ToString());
        var listed = Assert.Single(JsonDocument.Parse(pods.Stdout).RootElement.EnumerateArray().ToList());
        Assert.Equal("app", listed.GetProperty("container").GetString());
        var uvicorn = Assert.Single(listed.GetProperty("processes").EnumerateArray().ToList()); // not the sidecar's python that made the FIFO, not pause
        Assert.NotEqual(1, uvicorn.GetProperty("pid").GetInt32()); // PID 1 is the pod's pause
        Assert.Equal(0, uvicorn.GetProperty("ppid").GetInt32());

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("app", attached.GetProperty("container").GetString());
        Assert.Equal(uvicorn.GetProperty("pid").GetInt32(), attached.GetProperty("pidInside").GetInt32());
        Assert.Equal(uvicorn.GetProperty("pid").GetInt32().ToString(), await ContainerApp.HitBreakpointAsync(app, localPort, "shared"));
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TwoContainersThatRunPythonAreListedWithTheirProcesses()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-two-0", ApiLabels,
            [("app", ContainerApp.Uvicorn(reload: false)), ("worker", ["/usr/bin/python3.14", "-c", "import time; time.sleep(600)"])]);
        await ContainerApp.WaitUntilServingAsync(pod.Containers["app"]);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.Usage, exec.ExitCode);
        Assert.Contains("pod api-two-0 has 2 containers that run Python: app (PID 1 /usr/bin/python3.14 -m uvicorn", exec.Stderr);
        Assert.Contains("worker (PID 1 /usr/bin/python3.14 -c import time; time.sleep(600))", exec.Stderr);
        Assert.Contains("--pod-container app or --pod-container worker", exec.Stderr);
    }
}
