using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// `wand ps/exec/debug --container` on real podman containers made from the testbed rootfs, each in
/// its own network namespace (not --network host): debugpy stays on loopback inside the container and
/// is reached through wand's own forward.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class ContainerTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ReloadAppBreakpointThroughTheForwardFollowsTheNewWorkerAndCtrlCCleansUp()
    {
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: true));
        await ContainerApp.WaitUntilServingAsync(c);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--container", c.Name, "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("attached", attached.GetProperty("event").GetString());
        Assert.Equal(localPort, attached.GetProperty("localPort").GetInt32());
        Assert.Equal(ContainerApp.AppDir, attached.GetProperty("endpoint").GetProperty("target").GetProperty("remoteRoot").GetString());
        var firstWorker = attached.GetProperty("pidInside").GetInt32();
        Assert.NotEqual(1, firstWorker); // the worker, not the reloader (PID 1)

        Assert.Equal(firstWorker.ToString(), await ContainerApp.HitBreakpointAsync(c, localPort, "container"));

        // A source change: uvicorn replaces its worker; wand notices and injects into the new one.
        await c.PythonAsync($"open('{ContainerApp.AppFile}', 'a').write('\\n# edited by the test\\n')");
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        var secondWorker = again.GetProperty("pidInside").GetInt32();
        Assert.NotEqual(firstWorker, secondWorker);
        await ContainerApp.WaitUntilServingAsync(c);
        Assert.Equal(secondWorker.ToString(), await ContainerApp.HitBreakpointAsync(c, localPort, "container"));

        // Ctrl+C: the forward closes, debugpy stops in the container, nothing of wand's stays there.
        Assert.Equal("host", again.GetProperty("route").GetString());
        var hostPid = again.GetProperty("pid").GetInt32();
        var innerPort = again.GetProperty("endpoint").GetProperty("port").GetInt32();
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("session ended", session.Stderr);
        Assert.False(TestNet.IsListening(localPort));
        Assert.DoesNotContain(Wand.Transport.Local.ProcFs.Default.ListeningSockets(hostPid), s => s.Port == innerPort);
        Assert.Empty(Directory.GetDirectories($"/proc/{hostPid}/root/tmp", "wand-*"));
        Assert.Contains("ok", await ContainerApp.GetInsideAsync(c, "/health"));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ContainerRestartIsFollowed()
    {
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: false));
        await ContainerApp.WaitUntilServingAsync(c);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--container", c.Name, "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var first = session.NextEvent(EventTimeout);
        Assert.Equal(1, first.GetProperty("pidInside").GetInt32());

        // stop + start rather than `podman restart`: podman 4.3's restart fails when the stop signal
        // wins the race against its SIGKILL fallback ("container state improper").
        await TestContainer.PodmanAsync(["stop", "-t", "10", c.Name]);
        var start = await TestContainer.PodmanAsync(["start", c.Name]);
        Assert.True(start.ExitCode == 0, start.ToString());
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        Assert.NotEqual(first.GetProperty("pid").GetInt32(), again.GetProperty("pid").GetInt32());
        await ContainerApp.WaitUntilServingAsync(c);
        Assert.Equal("1", await ContainerApp.HitBreakpointAsync(c, localPort, "container"));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PsAndExecInsideAContainer()
    {
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: true));
        await ContainerApp.WaitUntilServingAsync(c);
        var hostPid = await c.HostPidAsync();

        var ps = await WandCli.RunAsync(["ps", "--container", c.Name, "--output", "json"]);
        Assert.True(ps.ExitCode == 0, ps.ToString());
        var processes = JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray().ToList();
        Assert.Contains(processes, p => p.GetProperty("pid").GetInt32() == hostPid && p.GetProperty("role").GetString() == "reloaderParent");
        Assert.Contains(processes, p => p.GetProperty("role").GetString() == "worker");
        Assert.Contains("podman container " + c.Name, ps.Stderr); // says which runtime was used

        var exec = await WandCli.RunAsync(["exec", "--container", c.Name, "-c", "import os, sys; print(os.getpid(), 'uvicorn' in sys.modules)"]);
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.EndsWith(" True\n", exec.Stdout);
        Assert.NotEqual("1 True\n", exec.Stdout); // the worker, not the reloader

        var one = await WandCli.RunAsync(["exec", "--container", c.Name, "--pid", "1", "-c", "import os; print(os.getpid())"]);
        Assert.Equal("1\n", one.Stdout);
        Assert.Empty(Directory.GetDirectories($"/proc/{hostPid}/root/tmp", "wand-*"));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ShellLessContainerThroughTheRuntimesExecRoute()
    {
        var rootfs = TestContainer.ShellLessRootfs();
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: true), rootfs);
        // Really nothing but Python: no shell, no ps, no tar.
        foreach (var tool in new[] { "/bin/sh", "/usr/bin/ps", "/usr/bin/tar" })
            Assert.NotEqual(0, (await TestContainer.PodmanAsync(["exec", c.Name, tool, "--version"])).ExitCode);
        await ContainerApp.WaitUntilServingAsync(c);

        var ps = await WandCli.RunAsync(["ps", "--container", c.Name, "--route", "exec", "--output", "json"]);
        Assert.True(ps.ExitCode == 0, ps.ToString());
        var roles = JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("pid").GetInt32(), p => p.GetProperty("role").GetString());
        Assert.Equal("reloaderParent", roles[1]); // the container's own PIDs on this route
        Assert.Contains("worker", roles.Values);
        Assert.Contains("through `podman exec`", ps.Stderr);

        var exec = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "-c", "import os, sys\nprint(os.getpid() != 1, 'uvicorn' in sys.modules)\nraise KeyError('boom')"]);
        Assert.Equal(ExitCodes.CodeRaised, exec.ExitCode);
        Assert.Equal("True True\n", exec.Stdout);
        Assert.Contains("KeyError: 'boom'", exec.Stderr);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--container", c.Name, "--route", "exec", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("exec", attached.GetProperty("route").GetString());
        var worker = attached.GetProperty("pidInside").GetInt32();
        Assert.Equal(worker.ToString(), await ContainerApp.HitBreakpointAsync(c, localPort, "container"));

        await c.PythonAsync($"open('{ContainerApp.AppFile}', 'a').write('\\n# edited by the test\\n')");
        var again = session.NextEvent("reattached", EventTimeout);
        Assert.Equal("reattached", again.GetProperty("event").GetString());
        Assert.NotEqual(worker, again.GetProperty("pidInside").GetInt32());
        await ContainerApp.WaitUntilServingAsync(c);
        Assert.Equal(again.GetProperty("pidInside").GetInt32().ToString(), await ContainerApp.HitBreakpointAsync(c, localPort, "container"));
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        var hostPid = await c.HostPidAsync();
        Assert.Empty(Directory.GetDirectories($"/proc/{hostPid}/root/tmp", "wand-*"));
    }

    [Fact(Timeout = 300_000)]
    public async Task RunawayExecCodeIsStoppedThroughTheExecRouteAtTheTimeoutAndOnCtrlC()
    {
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: false));
        await ContainerApp.WaitUntilServingAsync(c);
        var hostPid = await c.HostPidAsync();
        string[] Exec(string code, string timeout) => ["exec", "--container", c.Name, "--route", "exec", "--timeout", timeout, "-c", code];

        var r = await WandCli.RunAsync(Exec("print('before')\nwhile True: pass", "3"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == ExitCodes.ExecTimeout, r.ToString());
        Assert.Equal("before\n", r.Stdout);
        Assert.Contains("was interrupted", r.Stderr);
        await ContainerApp.WaitUntilServingAsync(c);

        // Ctrl+C kills wand's exec, not the agent in the container: wand withdraws the request there.
        var marker = $"/proc/{hostPid}/root/tmp/exec-running";
        await using (var exec = WandSession.Start(Exec("open('/tmp/exec-running', 'w').close()\nwhile True: pass", "600")))
        {
            await Eventually.TrueAsync(() => File.Exists(marker), TimeSpan.FromSeconds(60), "the code to start running in the container");
            Assert.Equal(ExitCodes.Cancelled, await exec.InterruptAsync(TimeSpan.FromSeconds(30)));
        }
        await ContainerApp.WaitUntilServingAsync(c); // its main thread left the loop
        await Eventually.TrueAsync(() => Directory.GetDirectories($"/proc/{hostPid}/root/tmp", "wand-*").Length == 0, TimeSpan.FromSeconds(10), "wand's folders to leave the container's /tmp");
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task UnknownContainerListsTheRunningOnes()
    {
        await using var c = await TestContainer.StartAsync(["/usr/bin/python3.14", "-c", "import time; time.sleep(300)"]);
        var r = await WandCli.RunAsync(["debug", "--container", "no-such-container", "--yes"]);
        Assert.Equal(ExitCodes.ProcessNotFound, r.ExitCode);
        Assert.Contains("no container named no-such-container", r.Stderr);
        Assert.Contains(c.Name, r.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task StoppedContainerSaysHowToStartIt()
    {
        await using var c = await TestContainer.StartAsync(["/usr/bin/python3.14", "-c", "pass"]);
        await Eventually.TrueAsync(async () => (await TestContainer.PodmanAsync(["inspect", "--format", "{{.State.Running}}", c.Name])).Stdout.Trim() != "true",
            TimeSpan.FromSeconds(30), $"container {c.Name} to stop");
        var r = await WandCli.RunAsync(["debug", "--container", c.Name, "--yes"]);
        Assert.Equal(ExitCodes.ProcessNotFound, r.ExitCode);
        Assert.Contains("is not running", r.Stderr);
        Assert.Contains($"podman start {c.Name}", r.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ContainerWithoutPython()
    {
        await using var c = await TestContainer.StartAsync(["/bin/sh", "-c", "read line"], interactive: true);
        var r = await WandCli.RunAsync(["debug", "--container", c.Name, "--yes"]);
        Assert.Equal(ExitCodes.ProcessNotFound, r.ExitCode);
        Assert.Contains("no Python processes found in container " + c.Name, r.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task OldPythonInsideIsReachedOnBothRoutes()
    {
        await using var c = await TestContainer.StartAsync(["/usr/bin/python3.13", "-c", "import time\nwhile True: time.sleep(0.05)"]);
        await Eventually.TrueAsync(async () => TargetProcess.IsPythonSleeping(await c.HostPidAsync()), TimeSpan.FromSeconds(30), $"the interpreter in {c.Name} to run its loop");
        var host = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "host", "-c", "import sys; print(sys.version_info[:2])"]);
        Assert.True(host.ExitCode == 0 && host.Stdout == "(3, 13)\n", host.ToString()); // ptrace from this machine
        var exec = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "-c", "import sys; print(sys.version_info[:2])"]);
        Assert.True(exec.ExitCode == 0 && exec.Stdout == "(3, 13)\n", exec.ToString()); // ptrace by the container's own interpreter (agent_ptrace.py)
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task NoRuntimeInstalled()
    {
        var emptyPath = Directory.CreateTempSubdirectory("wand-nopath-").FullName;
        var r = await WandCli.RunAsync(["debug", "--container", "anything", "--yes"], env: new Dictionary<string, string> { ["PATH"] = emptyPath });
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("no container runtime found", r.Stderr);
        Directory.Delete(emptyPath);
    }
}
