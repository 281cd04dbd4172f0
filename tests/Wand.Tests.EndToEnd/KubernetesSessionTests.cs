using System.Diagnostics;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// What keeps a pod session alive: the editor link (wand's listener on the user's port relays to a
/// supervised `kubectl port-forward`; the test API server forwards into the pod's network namespace
/// and ends the forward with the pod) and the in-pod process watcher (agent.py watch through one long `kubectl exec`).
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesSessionTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    [Fact(Timeout = TestTimeouts.EndToEnd)]
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
        Assert.Contains($"/api/v1/namespaces/{cluster.Namespace}/pods/api-pf-0/portforward", KubeCluster.Log); // the editor link goes through kubectl port-forward

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

    [Fact(Timeout = 240_000)]
    public async Task ALivenessProbeThatAPausedAppFailsIsWarnedAboutWhenTheSessionStarts()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var probe = new System.Text.Json.Nodes.JsonObject
        {
            ["httpGet"] = new System.Text.Json.Nodes.JsonObject { ["path"] = "/health", ["port"] = 8000 },
            ["periodSeconds"] = 5,
            ["failureThreshold"] = 2,
        };
        var pod = await cluster.AddPodAsync("api-live-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))], livenessProbe: probe);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", TestNet.FreePort().ToString(), "--output", "json"]);
        session.NextEvent(EventTimeout);
        Assert.Contains("pod api-live-0: a breakpoint held longer than about 10 s restarts container app (livenessProbe httpGet /health on port 8000, every 5 s, 2 failures)", session.Stderr);
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheInPodWatcherNoticesTheNewReloadWorkerAndIsRestartedWhenKilled()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-w-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: true))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var worker = session.NextEvent(EventTimeout).GetProperty("pidInside").GetInt32();

        // One long-running exec watches the pod: no exec per poll while nothing happens.
        var watcher = await WaitForAsync(() => KubeCluster.AgentExecPids(pod) is { Count: 1 } l ? l[0] : (int?)null);
        var execs = cluster.ExecCount;
        // A fixed interval on purpose: what is asserted is that nothing happens during it (no exec per poll).
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(cluster.ExecCount - execs <= 1, $"{cluster.ExecCount - execs} kubectl exec calls in 3 quiet seconds: the session polls instead of watching");

        // The watcher's kubectl dies: it is started again and still reports the next worker.
        Process.GetProcessById(watcher).Kill();
        await WaitForAsync(() => KubeCluster.AgentExecPids(pod).Where(p => p != watcher).ToList() is { Count: 1 } l ? l[0] : (int?)null);
        Assert.Contains("the process watcher in pod api-w-0 (container app) ended", session.Stderr);

        await pod.Main.PythonAsync($"open('{ContainerApp.AppFile}', 'a').write('\\n# edited by the watcher test\\n')");
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        Assert.NotEqual(worker, again.GetProperty("pidInside").GetInt32());
        Assert.NotEqual(1, again.GetProperty("pidInside").GetInt32());
        await ContainerApp.WaitUntilServingAsync(pod.Main);
        Assert.Equal(again.GetProperty("pidInside").GetInt32().ToString(), await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "watched"));

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.Empty(KubeCluster.AgentExecPids(pod)); // Ctrl+C stops the watcher
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task GunicornWithTwoWorkersFollowsTheRespawnedWorker()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-gunicorn-0", ApiLabels,
            [("app", ContainerApp.Gunicorn(workers: 2))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--one", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        var worker = attached.GetProperty("pidInside").GetInt32();
        var workers = await ContainerApp.GunicornWorkersAsync(pod.Main);
        Assert.Equal(2, workers.Count);
        Assert.Contains(worker, workers); // a worker, not the master
        Assert.Equal(worker.ToString(), await HitBreakpointOnWorkerAsync(pod.Main, localPort, "first"));

        // The worker is killed; gunicorn's master starts another one, and wand follows it (not the surviving sibling).
        await pod.Main.PythonAsync($"import os, signal; os.kill({worker}, signal.SIGKILL)");
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        var respawned = again.GetProperty("pidInside").GetInt32();
        Assert.DoesNotContain(respawned, workers);
        Assert.NotEqual(1, respawned);
        Assert.Contains(respawned, await ContainerApp.GunicornWorkersAsync(pod.Main));
        Assert.Equal(respawned.ToString(), await HitBreakpointOnWorkerAsync(pod.Main, localPort, "respawned"));

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// Like <see cref="ContainerApp.HitBreakpointAsync"/>, for several workers behind one socket: requests
    /// are sent until one lands on the debugged worker and stops; returns the PID that stopped.
    /// </summary>
    private static async Task<string> HitBreakpointOnWorkerAsync(TestContainer c, int localPort, string query)
    {
        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [ContainerApp.AppFile] = [line] });
        Assert.True(attached.Breakpoints[ContainerApp.AppFile][0].Verified);
        var requests = new List<Task<string>>();
        DapStopped? stopped = null;
        for (var i = 0; i < 40 && stopped is null; i++)
        {
            requests.Add(ContainerApp.GetInsideAsync(c, $"/items/21?q={query}"));
            try
            {
                stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(2));
            }
            catch (TimeoutException)
            {
                // that request went to the other worker
            }
        }
        Assert.NotNull(stopped);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("read_item", ContainerApp.AppFile, line), (frame.Name, frame.SourcePath, frame.Line));
        var pid = await editor.EvaluateAsync("__import__('os').getpid()", frame.Id);
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.All(await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60)), r => Assert.Contains($"\"q\":\"{query}\"", r));
        await editor.DisconnectAsync();
        return pid;
    }

    private static async Task<int> WaitForAsync(Func<int?> probe)
    {
        var found = 0;
        await Eventually.TrueAsync(() => probe() is { } p && (found = p) > 0, TimeSpan.FromSeconds(30), "the kubectl child to appear");
        return found;
    }
}
