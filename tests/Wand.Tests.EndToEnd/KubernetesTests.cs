using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// `wand pods/exec/debug` through the machine's real kubectl against the test API server
/// (tests/Wand.Testing.KubeApi): cluster state as Kubernetes JSON, every pod container a real podman
/// container running real Python. debugpy stays on loopback in the pod and is reached through
/// `kubectl exec -i` and `kubectl port-forward`.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class KubernetesTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    /// <summary>
    /// Nothing of wand's stays in the pod's /tmp. Folders already in the testbed rootfs (the overlay's
    /// lower layer, shared with chroot tests running elsewhere) are not the pod's.
    /// </summary>
    private static async Task AssertNothingLeftAsync(TestContainer c)
    {
        var inside = (await c.PythonAsync("import glob; print('\\n'.join(glob.glob('/tmp/wand-*')))")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(inside, d => !Directory.Exists(c.Rootfs + d));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PodsListsTheServicesPodsWithTheirPythonProcesses()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var older = await cluster.AddPodAsync("api-5d8f-old", ApiLabels, [("app", ContainerApp.Uvicorn(reload: true))], created: DateTimeOffset.UtcNow.AddMinutes(-30));
        var newer = await cluster.AddPodAsync("api-5d8f-new", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await cluster.AddPodAsync("worker-1", new Dictionary<string, string> { ["app"] = "worker" }, [("app", ["/usr/bin/python3.14", "-c", "import time; time.sleep(600)"])]);
        await ContainerApp.WaitUntilServingAsync(older.Main);
        await ContainerApp.WaitUntilServingAsync(newer.Main);

        var pods = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "--context", KubeCluster.SecondContext, "-o", "json"]);
        Assert.True(pods.ExitCode == 0, pods.ToString());
        var list = JsonDocument.Parse(pods.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(["api-5d8f-new", "api-5d8f-old"], list.Select(p => p.GetProperty("name").GetString() ?? "").ToArray()); // newest first, the worker pod not selected
        Assert.All(list, p => Assert.True(p.GetProperty("ready").GetBoolean()));
        Assert.All(list, p => Assert.Equal("Running", p.GetProperty("phase").GetString()));
        Assert.Equal("test-node-1", list[0].GetProperty("node").GetString());
        Assert.True(list[1].GetProperty("ageSeconds").GetDouble() >= 1700);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(KubeCluster.Log, $@"/api/v1/namespaces/{cluster.Namespace}/pods\?labelSelector=app%3Dapi[^ ]* \(context {KubeCluster.SecondContext}\)"), KubeCluster.Log); // the user's context reaches kubectl

        var table = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api"]);
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("api-5d8f-old", table.Stdout);
        Assert.Contains("30m", table.Stdout);

        var withPids = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "--with-pids", "-o", "json"]);
        Assert.True(withPids.ExitCode == 0, withPids.ToString());
        var byPod = JsonDocument.Parse(withPids.Stdout).RootElement.EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("processes").EnumerateArray().ToList());
        Assert.Contains(byPod["api-5d8f-old"], p => p.GetProperty("role").GetString() == "worker" && p.GetProperty("attach").GetProperty("canAttach").GetBoolean());
        Assert.Contains(byPod["api-5d8f-old"], p => p.GetProperty("pid").GetInt32() == 1 && p.GetProperty("role").GetString() == "reloaderParent");
        Assert.Contains(byPod["api-5d8f-new"], p => p.GetProperty("pid").GetInt32() == 1 && p.GetProperty("version").GetString()!.StartsWith("3.14", StringComparison.Ordinal));

        // --all-pods: the recommended process of every pod (the reload worker in the old one).
        var all = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "--all-pods", "-c", "import os; print('pid', os.getpid())"]);
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Contains("==> pod api-5d8f-new <==\npid 1\n", all.Stdout);
        Assert.Matches("==> pod api-5d8f-old <==\npid (?!1\n)[0-9]+\n", all.Stdout);

        // debugwand's spelling: `wand inject -c FILE` runs the file.
        var script = Path.Combine(Directory.CreateTempSubdirectory("wand-inject-").FullName, "probe.py");
        await File.WriteAllTextAsync(script, "import sys\nprint('uvicorn' in sys.modules)\n");
        var inject = await WandCli.RunAsync(["inject", "-n", cluster.Namespace, "-s", "api", "-c", script]);
        Assert.True(inject.ExitCode == 0, inject.ToString());
        Assert.Equal("True\n", inject.Stdout);
        Assert.Contains("-c names a script file", inject.Stderr);
        Directory.Delete(Path.GetDirectoryName(script)!, recursive: true);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task DebugAServiceHitsABreakpointThroughTheForwardAndFollowsTheReloadWorker()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-7c9b-x2k4q", ApiLabels, [("app", ContainerApp.Uvicorn(reload: true))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("attached", attached.GetProperty("event").GetString());
        Assert.Equal("api-7c9b-x2k4q", attached.GetProperty("pod").GetString());
        Assert.Equal("app", attached.GetProperty("container").GetString());
        Assert.Equal(localPort, attached.GetProperty("localPort").GetInt32());
        Assert.Equal("127.0.0.1", attached.GetProperty("endpoint").GetProperty("host").GetString());
        var worker = attached.GetProperty("pidInside").GetInt32();
        Assert.NotEqual(1, worker); // the reload worker, not the reloader

        Assert.Equal(worker.ToString(), await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "pod"));

        await pod.Main.PythonAsync($"open('{ContainerApp.AppFile}', 'a').write('\\n# edited by the test\\n')");
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        Assert.NotEqual(worker, again.GetProperty("pidInside").GetInt32());
        Assert.NotEqual(1, again.GetProperty("pidInside").GetInt32()); // the new worker, never the reloader between two workers
        await ContainerApp.WaitUntilServingAsync(pod.Main);
        Assert.Equal(again.GetProperty("pidInside").GetInt32().ToString(), await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "pod"));

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("session ended", session.Stderr);
        Assert.False(TestNet.IsListening(localPort));
        await AssertNothingLeftAsync(pod.Main);
        Assert.Matches($@"GET /api/v1/namespaces/{cluster.Namespace}/pods/api-7c9b-x2k4q/exec\?[^ ]*container=app[^ ]*stdin=true", KubeCluster.Log); // wand went through kubectl exec
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ADeletedPodIsFollowedToItsReplacement()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var first = await cluster.AddPodAsync("api-6b7d-aaaaa", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await ContainerApp.WaitUntilServingAsync(first.Main);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("api-6b7d-aaaaa", attached.GetProperty("pod").GetString());
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(first.Main, localPort, "pod"));

        // A rollout: the pod goes away and the Deployment's new pod takes its place, without a prompt.
        await cluster.DeletePodAsync(first);
        var second = await cluster.AddPodAsync("api-6b7d-bbbbb", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        Assert.Equal("api-6b7d-bbbbb", again.GetProperty("pod").GetString());
        Assert.Equal(localPort, again.GetProperty("localPort").GetInt32());
        await ContainerApp.WaitUntilServingAsync(second.Main);
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(second.Main, localPort, "pod"));
        Assert.Contains("api-6b7d-bbbbb", session.Stderr);

        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        await AssertNothingLeftAsync(second.Main);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ASecondDebugOnTheSamePodReusesTheRunningDebugpy()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var firstPort = TestNet.FreePort();
        await using var first = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", firstPort.ToString(), "--output", "json"]);
        var one = session(first);
        Assert.False(one.GetProperty("endpoint").GetProperty("reused").GetBoolean());

        var secondPort = TestNet.FreePort();
        await using var second = WandSession.Start(["debug", "-n", cluster.Namespace, "pod/api-0", "--yes", "--keep", "--port", secondPort.ToString(), "--output", "json"]);
        var two = session(second);
        Assert.True(two.GetProperty("endpoint").GetProperty("reused").GetBoolean()); // no second listener in the process
        Assert.Equal(one.GetProperty("endpoint").GetProperty("port").GetInt32(), two.GetProperty("endpoint").GetProperty("port").GetInt32());
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, secondPort, "pod"));

        Assert.Equal(ExitCodes.Cancelled, await second.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, firstPort, "pod")); // --keep: the first session's debugpy still serves

        static JsonElement session(WandSession s) => s.NextEvent(EventTimeout);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ServiceNotFoundShowsKubectlsErrorVerbatim()
    {
        await using var cluster = KubeCluster.Create();
        var r = await WandCli.RunAsync(["debug", "-n", cluster.Namespace, "-s", "no-such-svc", "--yes"]);
        Assert.Equal(ExitCodes.KubeNotFound, r.ExitCode);
        Assert.Contains("Error from server (NotFound): services \"no-such-svc\" not found", r.Stderr);

        var pod = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "ghost", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.KubeNotFound, pod.ExitCode);
        Assert.Contains("Error from server (NotFound): pods \"ghost\" not found", pod.Stderr);
    }

    /// <summary>Issue 16: what the real kubectl says about a missing pod is what the user reads, word for word.</summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AMissingPodShowsKubectlsOwnErrorWordForWord()
    {
        await using var cluster = KubeCluster.Create();
        var own = await KubectlAsync(["get", "pods", "ghost-7d9f", "-n", cluster.Namespace], TimeSpan.FromSeconds(60));
        Assert.Equal(1, own.ExitCode);
        var line = own.Stderr.TrimEnd('\n');
        Assert.Equal("Error from server (NotFound): pods \"ghost-7d9f\" not found", line);

        foreach (var args in new[] { new[] { "exec", "-n", cluster.Namespace, "--pod", "ghost-7d9f", "-c", "print(1)" }, ["debug", "-n", cluster.Namespace, "pod/ghost-7d9f", "--yes"] })
        {
            var r = await WandCli.RunAsync(args);
            Assert.Equal(ExitCodes.KubeNotFound, r.ExitCode);
            Assert.Contains(line, r.Stderr.Split('\n').Select(l => l.Replace("error: ", "", StringComparison.Ordinal)));
        }
    }

    /// <summary>
    /// Issue 16, item 4: an API server older than 1.30 has no v5.channel.k8s.io, so kubectl 1.32 execs
    /// over SPDY with v4 and the end of its stdin never reaches the command. Nothing wand runs in the pod
    /// may wait for it: `wand exec`, `wand pods --with-pids` and a debug session work through such a server.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ExecAndDebugWorkWhenTheServerSpeaksOnlyV4AndCannotSignalTheEndOfStdin()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-v4-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))]);
        await ContainerApp.WaitUntilServingAsync(pod.Main);
        string[] v4 = ["--kubeconfig", KubeCluster.V4OnlyKubeconfig, "-n", cluster.Namespace];

        // The server really withholds the end of stdin: a command reading stdin to its end does not finish.
        var reader = await KubectlAsync(["--kubeconfig", KubeCluster.V4OnlyKubeconfig, "-n", cluster.Namespace, "exec", "-i", "api-v4-0", "--",
            "/usr/bin/python3.14", "-c", "import sys; sys.stdin.read(); print('eof')"], TimeSpan.FromSeconds(5));
        Assert.Null(reader.ExitCode);
        Assert.Contains($"POST /api/v1/namespaces/{cluster.Namespace}/pods/api-v4-0/exec?", KubeCluster.V4OnlyLog); // SPDY (v4), not a WebSocket

        var exec = await WandCli.RunAsync(["exec", .. v4, "--pod", "api-v4-0", "-c", "import os; print(os.getpid(), 6 * 7)"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Equal("1 42\n", exec.Stdout);

        var pids = await WandCli.RunAsync(["pods", .. v4, "-s", "api", "--with-pids", "-o", "json"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(pids.ExitCode == 0, pids.ToString());
        Assert.Contains(JsonDocument.Parse(pids.Stdout).RootElement[0].GetProperty("processes").EnumerateArray(), p => p.GetProperty("pid").GetInt32() == 1);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", .. v4, "pod/api-v4-0", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        Assert.Equal(1, session.NextEvent(EventTimeout).GetProperty("pidInside").GetInt32());
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "v4"));
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        await AssertNothingLeftAsync(pod.Main);
    }

    /// <summary>
    /// The test cluster's pods are podman pods: their containers share the network namespace, and with
    /// shareProcessNamespace the PID namespace, whose PID 1 is the pod's pause process (as in Kubernetes).
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task APodsContainersShareItsNetworkAndWithShareProcessNamespaceItsProcesses()
    {
        await using var cluster = KubeCluster.Create();
        var pod = await cluster.AddPodAsync("shared-0", ApiLabels,
            [("sidecar", ["/usr/bin/python3.14", "-c", "import time; time.sleep(600)"]), ("app", ContainerApp.Uvicorn(reload: false))], shareProcessNamespace: true);
        await ContainerApp.WaitUntilServingAsync(pod.Containers["app"]);
        string[] inSidecar = ["-n", cluster.Namespace, "exec", "shared-0", "-c", "sidecar", "--", "/usr/bin/python3.14", "-c"];

        var pid1 = await KubectlAsync([.. inSidecar, "print(open('/proc/1/cmdline').read().split(chr(0))[0])"], TimeSpan.FromSeconds(60));
        Assert.True(pid1.ExitCode == 0, pid1.Stderr);
        Assert.Contains("catatonit", pid1.Stdout); // podman's pause process
        var seen = await KubectlAsync([.. inSidecar, "import glob; print([open(p).read() for p in glob.glob('/proc/[0-9]*/cmdline')])"], TimeSpan.FromSeconds(60));
        Assert.Contains("uvicorn", seen.Stdout); // the app container's process, from the sidecar
        var served = await KubectlAsync([.. inSidecar, "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/items/3?q=shared').read().decode())"], TimeSpan.FromSeconds(60));
        Assert.True(served.ExitCode == 0, served.Stderr);
        Assert.Contains("\"q\":\"shared\"", served.Stdout); // the app's port, on the sidecar's loopback
    }

    /// <summary>The machine's kubectl with <paramref name="args"/>; ExitCode null when it had to be killed after <paramref name="timeout"/>.</summary>
    private static async Task<(int? ExitCode, string Stdout, string Stderr)> KubectlAsync(string[] args, TimeSpan timeout)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        int? code = null;
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
            code = p.ExitCode;
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        return (code, await stdout, await stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ServiceWithoutSelectorOrWithoutReadyPodsSaysSo()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("headless", selector: null);
        var r = await WandCli.RunAsync(["debug", "-n", cluster.Namespace, "-s", "headless", "--yes"]);
        Assert.Equal(ExitCodes.KubeNotFound, r.ExitCode);
        Assert.Contains("service headless has no selector", r.Stderr);

        cluster.AddService("api", ApiLabels);
        var none = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.KubeNotFound, none.ExitCode);
        Assert.Contains("no pods behind service api", none.Stderr);

        // A pod whose container has stopped is listed, but never chosen.
        var pod = await cluster.AddPodAsync("api-1", ApiLabels, [("app", ["/usr/bin/python3.14", "-c", "pass"])]);
        await Eventually.TrueAsync(async () => (await TestContainer.PodmanAsync(["inspect", "--format", "{{.State.Running}}", pod.Main.Name])).Stdout.Trim() != "true",
            TimeSpan.FromSeconds(30), $"pod api-1's container to stop");
        var pods = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "api", "-o", "json"]);
        Assert.False(JsonDocument.Parse(pods.Stdout).RootElement[0].GetProperty("ready").GetBoolean());
        var notReady = await WandCli.RunAsync(["debug", "-n", cluster.Namespace, "-s", "api", "--yes"]);
        Assert.Equal(ExitCodes.KubeNotFound, notReady.ExitCode);
        Assert.Contains("no Ready pod behind service api: api-1 (Running, not ready)", notReady.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task KubectlMissingSaysHowToGetIt()
    {
        var emptyPath = Directory.CreateTempSubdirectory("wand-nopath-").FullName;
        var r = await WandCli.RunAsync(["pods", "-s", "api"], env: new Dictionary<string, string> { ["PATH"] = emptyPath });
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("kubectl is not installed or not on PATH", r.Stderr);
        Directory.Delete(emptyPath);
    }

    /// <summary>
    /// Issue 17, item 2: the real kubectl with a kubeconfig whose server is a closed
    /// loopback port logs five klog lines (memcache.go) before its own message; wand shows only that message
    /// and how to choose the cluster.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task NoClusterShowsKubectlsOwnMessageAndHowToChooseOne()
    {
        var closedPort = TestNet.FreePort();
        var kubeconfig = Path.Combine(Directory.CreateTempSubdirectory("wand-kubeconfig-").FullName, "config");
        await File.WriteAllTextAsync(kubeconfig, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: closed, cluster: {server: "https://127.0.0.1:{{{closedPort}}}"}}]
            contexts: [{name: closed, context: {cluster: closed, user: nobody}}]
            current-context: closed
            users: [{name: nobody, user: {token: none}}]
            """);
        try
        {
            var r = await WandCli.RunAsync(["pods", "-s", "x"], env: new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig });
            Assert.True(r.ExitCode == ExitCodes.KubectlFailed, r.ToString());
            Assert.DoesNotContain("memcache.go", r.Stderr);
            Assert.Contains($"The connection to the server 127.0.0.1:{closedPort} was refused", r.Stderr);
            Assert.Contains("--context", r.Stderr);
            Assert.Contains("KUBECONFIG", r.Stderr);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(kubeconfig)!, recursive: true);
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ShellLessPodWorksThroughKubectlExec()
    {
        await using var cluster = KubeCluster.Create();
        var pod = await cluster.AddPodAsync("distroless-0", ApiLabels, [("app", ContainerApp.Uvicorn(reload: false))], rootfs: TestContainer.ShellLessRootfs());
        foreach (var tool in new[] { "/bin/sh", "/usr/bin/ps", "/usr/bin/tar" })
            Assert.NotEqual(0, (await TestContainer.PodmanAsync(["exec", pod.Main.Name, tool, "--version"])).ExitCode);
        await ContainerApp.WaitUntilServingAsync(pod.Main);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "distroless-0", "-c", "import os, sys\nprint(os.getpid(), 'uvicorn' in sys.modules)\nraise KeyError('boom')"]);
        Assert.Equal(ExitCodes.CodeRaised, exec.ExitCode);
        Assert.Equal("1 True\n", exec.Stdout);
        Assert.Contains("KeyError: 'boom'", exec.Stderr);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "-n", cluster.Namespace, "pod/distroless-0", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal(1, attached.GetProperty("pidInside").GetInt32());
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(pod.Main, localPort, "pod"));
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        await AssertNothingLeftAsync(pod.Main);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task KnativePodUsesTheUserContainerNeverTheQueueProxy()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddKnativeService("hello");
        var labels = new Dictionary<string, string> { ["serving.knative.dev/service"] = "hello", ["serving.knative.dev/revision"] = "hello-00002" };
        await cluster.AddPodAsync("hello-00002-deployment-6f7c-abcde", labels,
        [
            ("queue-proxy", ["/usr/bin/python3.14", "-c", "import time; time.sleep(600)"]),
            ("user-container", ["/usr/bin/python3.14", "-c", "import time\nwhile True: time.sleep(0.05)"]),
        ]);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "hello", "-c", "import sys; print(sys.argv)"]);
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Contains("container user-container", exec.Stderr);
        Assert.Equal("['-c']\n", exec.Stdout);

        var pods = await WandCli.RunAsync(["pods", "-n", cluster.Namespace, "-s", "hello", "-o", "json"]);
        Assert.Equal("hello-00002", JsonDocument.Parse(pods.Stdout).RootElement[0].GetProperty("revision").GetString());

        var wrong = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "hello", "--pod-container", "app", "-c", "print(1)"]);
        Assert.Equal(ExitCodes.KubeNotFound, wrong.ExitCode);
        Assert.Contains("queue-proxy, user-container", wrong.Stderr);

    }
}
