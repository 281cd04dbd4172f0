using System.Text.Json;
using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>What goes wrong with pods, through the real kubectl on the test API server with real podman containers: each fault gives one clear line and what to do.</summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesFaultTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(120);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };
    private static readonly string[] Loop = ["/usr/bin/python3.14", "-c", "import time\nwhile True: time.sleep(0.05)"];

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task APodWithoutPythonSaysSo()
    {
        await using var cluster = KubeCluster.Create();
        // Python in the image, but no Python process running.
        await cluster.AddPodAsync("sleeper-0", ApiLabels, [("app", ["/usr/bin/perl", "-e", "sleep 600"])]);
        var none = await WandCli.RunAsync(["debug", "-n", cluster.Namespace, "pod/sleeper-0", "--yes"]);
        Assert.Equal(ExitCodes.ProcessNotFound, none.ExitCode);
        Assert.Contains("no Python processes found in pod sleeper-0 (container app)", none.Stderr);

        // No Python in the image at all (a Go, Node or Perl image).
        await cluster.AddPodAsync("golang-0", ApiLabels, [("app", ["/usr/bin/perl", "-e", "sleep 600"])], rootfs: KubeRootfs.WithoutPython());
        var noInterpreter = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "golang-0", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.ProcessNotFound, noInterpreter.ExitCode);
        Assert.Contains("found no Python interpreter to work with inside pod golang-0 (container app)", noInterpreter.Stderr);
    }

    /// <summary>Python before 3.14 in a pod is no longer refused: the exec route queues the call with ptrace there (agent_ptrace.py).</summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task Python313InThePodIsReachedThroughTheExecRoute()
    {
        await using var cluster = KubeCluster.Create();
        await cluster.AddPodAsync("old-0", ApiLabels, [("app", ["/usr/bin/python3.13", "-c", "import time\nwhile True: time.sleep(0.05)"])]);
        var r = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "old-0", "-c", "import os, sys; print(os.getpid(), sys.version_info[:2])"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("1 (3, 13)\n", r.Stdout);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task APodWithoutDebugpyIsLentTheUsersThroughKubectlExecAndItIsRemovedOnStop()
    {
        await using var cluster = KubeCluster.Create();
        var rootfs = KubeRootfs.WithoutDebugpy();
        var pod = await cluster.AddPodAsync("nodebugpy-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))], rootfs: rootfs);
        await ContainerApp.WaitUntilServingAsync(pod.Main);
        Assert.Equal("False\n", await pod.Main.PythonAsync("import importlib.util; print(importlib.util.find_spec('debugpy') is not None)"));

        var users = Path.Combine(Testbed.Root, "usr/lib/python3/dist-packages/debugpy"); // the user's own debugpy on this machine
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "pod/nodebugpy-0", "--yes", "--port", localPort.ToString(), "--debugpy", users, "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal(users, attached.GetProperty("endpoint").GetProperty("copiedFrom").GetString());
        var lent = (await pod.Main.PythonAsync("import glob; print('\\n'.join(glob.glob('/tmp/wand-lent-*/debugpy/__init__.py')))")).Trim();
        Assert.StartsWith("/tmp/wand-lent-", lent);
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "lent"));

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("", (await pod.Main.PythonAsync("import glob; print('\\n'.join(glob.glob('/tmp/wand-*')))")).Trim()); // the lent copy is gone with debugpy
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PtraceDeniedInThePodPrintsTheSecurityContextSnippet()
    {
        // The app drops to another user; kubectl exec runs as root without CAP_SYS_PTRACE (podman's
        // default capabilities), so the kernel refuses access to the app's memory, as in most clusters.
        await using var cluster = KubeCluster.Create();
        var pod = await cluster.AddPodAsync("nobody-0", ApiLabels,
            [("app", ["/usr/bin/python3.14", "-c", "import os, time\nos.setgid(65534)\nos.setuid(65534)\nwhile True: time.sleep(0.05)"])]);
        // Sleeping in its loop means past the setuid.
        await Eventually.TrueAsync(async () => TargetProcess.IsPythonSleeping(await pod.Main.HostPidAsync()), TimeSpan.FromSeconds(30), "the app in nobody-0 to run its loop");

        var r = await WandCli.RunAsync(["debug", "-n", cluster.Namespace, "pod/nobody-0", "--yes"]);
        Assert.Equal(ExitCodes.PermissionDenied, r.ExitCode);
        Assert.Contains("refuses wand access to PID 1", r.Stderr);
        Assert.Contains("securityContext: {capabilities: {add: [SYS_PTRACE]}}", r.Stderr);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "nobody-0", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.PermissionDenied, exec.ExitCode);
        Assert.Contains("SYS_PTRACE", exec.Stderr);
    }

    /// <summary>
    /// The machine's kubectl (1.32) passes wand's version check (1.23+); refusing an older one is
    /// KubectlClientTests' (no kubectl older than 1.23 is installed to run).
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheMachinesKubectlPassesTheVersionCheck()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var current = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "-o", "json"]);
        Assert.True(current.ExitCode == 0, current.ToString());
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(current.Stdout).RootElement.ValueKind);
    }
}
