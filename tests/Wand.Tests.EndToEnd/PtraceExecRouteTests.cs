using System.Diagnostics;
using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Python 3.9-3.13 in a container or pod reached through the runtime's exec (`--route exec`,
/// `kubectl exec -i`): the container's own interpreter queues the pending call with ptrace through
/// ctypes (agent_ptrace.py); nothing is added to the image. Containers run bookworm's 3.11 rootfs
/// (tests/testbed/oldpythons.sh) and serve the WSGI sample with the standard library's wsgiref.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class PtraceExecRouteTests
{
    private const string Python = "/usr/bin/python3.11";
    private const string App = "/srv/apps/uwsgi_app/app.py";
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> ApiLabels = new() { ["app"] = "api" };

    /// <summary>wsgiref serving the WSGI sample on 127.0.0.1:8000 in the container (the main thread polls every 0.5 s).</summary>
    private static readonly string[] WsgiApp = [Python, "-c",
        "import sys\nsys.path.insert(0, '/srv/apps/uwsgi_app')\nimport app\nfrom wsgiref.simple_server import make_server\nmake_server('127.0.0.1', 8000, app.application).serve_forever()"];

    /// <summary>The main thread sleeps in clock_nanosleep through ctypes: a sleep not restarted after wand lets go prints EINTR (PtraceTests).</summary>
    private static readonly string[] SleepingLoop = [Python, "-u", "-c",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\ncounter = 0\nwhile True:\n    counter += 1\n" +
        "    if libc.usleep(100000) != 0:\n        print('EINTR', ctypes.get_errno())\n    if counter % 5 == 0:\n        print('tick', counter)\n"];

    private static string Debugpy => Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy");

    private static Task<string> GetAsync(TestContainer c, string path) =>
        c.PythonAsync($"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000{path}', timeout=60).read().decode())", Python);

    private static Task WaitUntilServingAsync(TestContainer c) =>
        Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await GetAsync(c, "/")).StartsWith("hit ", StringComparison.Ordinal);
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), $"the WSGI app in {c.Name} to serve");

    /// <summary>
    /// Nothing of wand's (request folders, lent debugpy, lock files) stays in the container's /tmp. What is
    /// in the rootfs itself (the overlay's lower layer, shared with chroot tests) is not the container's.
    /// </summary>
    private static async Task AssertNothingLeftAsync(TestContainer c)
    {
        var inside = (await c.PythonAsync("import glob; print('\\n'.join(glob.glob('/tmp/wand-*')))", Python)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(d => !Path.Exists(c.Rootfs + d)).ToList();
        Assert.True(inside.Count == 0, "left behind: " + string.Join(", ", inside));
    }

    /// <summary>An editor on wand's port stops in the handler on a request made inside, sees its frame, continues; the request completes.</summary>
    private static async Task HitBreakpointAsync(TestContainer c, int localPort)
    {
        var line = Testbed.BreakpointLine(App, "handle");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [App] = [line] });
        Assert.True(attached.Breakpoints[App][0].Verified);
        var request = GetAsync(c, "/");
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("breakpoint", stopped.Reason);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("application", App, line), (frame.Name, frame.SourcePath, frame.Line));
        Assert.Equal("'3.11'", await editor.EvaluateAsync("'%d.%d' % __import__('sys').version_info[:2]", frame.Id));
        await editor.RequestAsync("setBreakpoints", new System.Text.Json.Nodes.JsonObject
        {
            ["source"] = new System.Text.Json.Nodes.JsonObject { ["path"] = App },
            ["breakpoints"] = new System.Text.Json.Nodes.JsonArray(),
        });
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.StartsWith("hit ", await request.WaitAsync(TimeSpan.FromSeconds(60)));
        await editor.DisconnectAsync();
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ExecAndDebugReachPython311InAContainerThroughTheExecRoute()
    {
        await using var c = await TestContainer.StartAsync(WsgiApp, Testbed.RootFor("3.11"));
        await WaitUntilServingAsync(c);

        var ps = await WandCli.RunAsync(["ps", "--container", c.Name, "--route", "exec", "--output", "json"]);
        Assert.True(ps.ExitCode == 0, ps.ToString());
        var app = JsonDocument.Parse(ps.Stdout).RootElement.EnumerateArray().Single(p => p.GetProperty("pid").GetInt32() == 1);
        Assert.StartsWith("3.11", app.GetProperty("version").GetString());
        Assert.True(app.GetProperty("attach").GetProperty("state").GetString() == "attachable", app.ToString());
        Assert.Contains("ptrace", app.GetProperty("attach").GetProperty("reason").GetString());

        var exec = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "-c", "import sys, app\nprint(sys.version_info[:2], app.hits > 0)"]);
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Equal("(3, 11) True\n", exec.Stdout);
        Assert.Contains("through `podman exec`", exec.Stderr);

        var localPort = TestNet.FreePort();
        await using (var session = WandSession.Start(["debug", "--container", c.Name, "--route", "exec", "--yes", "--port", localPort.ToString(),
            "--debugpy", Debugpy, "--timeout", "30", "--output", "json"]))
        {
            var attached = session.NextEvent(EventTimeout);
            Assert.True(attached.GetProperty("event").GetString() == "attached", attached.ToString());
            Assert.Equal("exec", attached.GetProperty("route").GetString());
            Assert.Equal(1, attached.GetProperty("pidInside").GetInt32());
            await HitBreakpointAsync(c, localPort);
            Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.StartsWith("hit ", await GetAsync(c, "/"));
        await AssertNothingLeftAsync(c);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheThreadSleepsOnUnbrokenRequestsTakeTurnsAndThePageGoes()
    {
        await using var c = await TestContainer.StartAsync(SleepingLoop, Testbed.RootFor("3.11"));
        var hostPid = await c.HostPidAsync();
        await Eventually.TrueAsync(() => TargetProcess.IsPythonSleeping(hostPid), TimeSpan.FromSeconds(30), $"the interpreter in {c.Name} to run its loop");
        string[] Exec(string code) => ["exec", "--container", c.Name, "--route", "exec", "-c", code];

        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
            WandCli.RunAsync(Exec($"import time\nstarted = time.monotonic()\ntime.sleep(0.3)\nprint({i}, started, time.monotonic())"))));
        var spans = runs.Select(r =>
        {
            Assert.True(r.ExitCode == 0, r.ToString());
            var f = r.Stdout.Trim().Split(' ');
            return (Start: double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), End: double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture));
        }).OrderBy(s => s.Start).ToList();
        Assert.True(spans[1].Start >= spans[0].End, $"the two requests overlapped: {spans[0]} and {spans[1]}");

        // Another wand holds the process's lock (agent_ptrace.py names it as TargetLock does, by PID and
        // start time): this one waits for it, and past --timeout says the target is busy.
        var start = File.ReadAllText($"/proc/{hostPid}/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[19];
        await using (new FileStream($"/proc/{hostPid}/root/tmp/wand-lock-1-{start}", FileMode.OpenOrCreate, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose))
        {
            var busy = await WandCli.RunAsync([.. Exec("print(1)"), "--timeout", "2"]);
            Assert.True(busy.ExitCode == ExitCodes.TargetBusy, busy.ToString());
        }

        // The user's code finds the bootstrap's frame (pending_call.py) and says where its page is.
        var r = await WandCli.RunAsync(Exec("import sys, __main__\nf = sys._getframe()\nwhile '_WAND_PAGE' not in f.f_globals:\n    f = f.f_back\nprint(f.f_globals['_WAND_PAGE'], __main__.counter)"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var page = ulong.Parse(r.Stdout.Split(' ')[0]);
        var counter = int.Parse(r.Stdout.Split(' ')[1]);
        bool Mapped() => File.ReadAllLines($"/proc/{hostPid}/maps").Select(l => l.Split(' ')[0].Split('-'))
            .Any(range => Convert.ToUInt64(range[0], 16) <= page && page < Convert.ToUInt64(range[1], 16));
        await Eventually.TrueAsync(() => !Mapped(), TimeSpan.FromSeconds(10), $"the page at 0x{page:x} to be unmapped");

        string Logs() => TestContainer.PodmanAsync(["logs", c.Name]).GetAwaiter().GetResult().Stdout;
        await Eventually.TrueAsync(() => Logs().Split('\n').Any(l => l.StartsWith("tick ", StringComparison.Ordinal) && int.Parse(l[5..]) > counter),
            TimeSpan.FromSeconds(20), $"the target to tick after {counter}");
        Assert.DoesNotContain("EINTR", Logs());
        await AssertNothingLeftAsync(c);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ARequestThatTimesOutIsWithdrawnAndNeverRunsLater()
    {
        // The main thread waits in pause(2) until SIGUSR1, whose Python handler lets it go on.
        await using var c = await TestContainer.StartAsync([Python, "-u", "-c",
            "import signal, time\nsignal.signal(signal.SIGUSR1, lambda *a: None)\nsignal.pause()\nfor i in range(3):\n    time.sleep(0.05)\nprint('woke')\nwhile True:\n    time.sleep(0.05)\n"],
            Testbed.RootFor("3.11"));
        var hostPid = await c.HostPidAsync();
        await Eventually.TrueAsync(() => TargetProcess.IsPythonSleeping(hostPid), TimeSpan.FromSeconds(30), $"the interpreter in {c.Name} to wait in pause()");

        var r = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "--timeout", "1", "-c", "open('/tmp/withdrawn-ran', 'w').close()"]);
        Assert.True(r.ExitCode == ExitCodes.InjectionFailed, r.ToString());
        Assert.Contains("the request was withdrawn", r.Stderr);

        Process.Start("kill", ["-USR1", hostPid.ToString()]).WaitForExit();
        // The queued bootstrap runs at the same eval-breaker check as the signal handler, before "woke".
        await Eventually.TrueAsync(async () => (await TestContainer.PodmanAsync(["logs", c.Name])).Stdout.Contains("woke"), TimeSpan.FromSeconds(20), "the target to wake");
        Assert.Equal("False", (await c.PythonAsync("import os; print(os.path.exists('/tmp/withdrawn-ran'))", Python)).Trim());
        var again = await WandCli.RunAsync(["exec", "--container", c.Name, "--route", "exec", "-c", "print('still here')"]);
        Assert.True(again.ExitCode == 0 && again.Stdout == "still here\n", again.ToString());
        Assert.DoesNotContain("Error", (await TestContainer.PodmanAsync(["logs", c.Name])).Stderr);
        await AssertNothingLeftAsync(c);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task DebugAndExecInAPython311PodAndPtraceRefusedPrintsTheSnippet()
    {
        await using var cluster = KubeCluster.Create();
        cluster.AddService("api", ApiLabels);
        var pod = await cluster.AddPodAsync("api-311-0", ApiLabels, [("app", WsgiApp)], Testbed.RootFor("3.11"));
        await WaitUntilServingAsync(pod.Main);

        var exec = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "-s", "api", "-c", "import sys, app\nprint(sys.version_info[:2], app.hits > 0)"]);
        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Equal("(3, 11) True\n", exec.Stdout);

        var localPort = TestNet.FreePort();
        await using (var session = WandSession.Start(["debug", "-n", cluster.Namespace, "-s", "api", "--yes", "--port", localPort.ToString(),
            "--debugpy", Debugpy, "--timeout", "30", "--output", "json"]))
        {
            var attached = session.NextEvent(EventTimeout);
            Assert.True(attached.GetProperty("event").GetString() == "attached", attached.ToString());
            Assert.Equal("api-311-0", attached.GetProperty("pod").GetString());
            await HitBreakpointAsync(pod.Main, localPort);
            Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.StartsWith("hit ", await GetAsync(pod.Main, "/"));
        await AssertNothingLeftAsync(pod.Main);

        // Someone outside the pod traces the app: the kernel refuses the agent's ptrace; the line names the fix.
        var hostPid = await pod.Main.HostPidAsync();
        using var strace = Process.Start(new ProcessStartInfo("strace", ["-p", hostPid.ToString(), "-o", "/dev/null"]) { RedirectStandardError = true })!;
        try
        {
            await Eventually.TrueAsync(() => File.ReadAllText($"/proc/{hostPid}/status").Contains($"TracerPid:\t{strace.Id}\n"), TimeSpan.FromSeconds(10), "strace to attach");
            var refused = await WandCli.RunAsync(["exec", "-n", cluster.Namespace, "--pod", "api-311-0", "-c", "print(1)"]);
            Assert.True(refused.ExitCode == ExitCodes.PtraceRefused, refused.ToString());
            Assert.Contains("ptrace of PID 1 refused", refused.Stderr);
            Assert.Contains("securityContext: {capabilities: {add: [SYS_PTRACE]}}", refused.Stderr);
            Assert.Equal(2, refused.Stderr.Trim().Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal) || l.TrimStart().StartsWith("hint:", StringComparison.Ordinal)));
        }
        finally
        {
            strace.Kill();
            await strace.WaitForExitAsync();
        }
        Assert.StartsWith("hit ", await GetAsync(pod.Main, "/"));
        await AssertNothingLeftAsync(pod.Main);
    }
}
