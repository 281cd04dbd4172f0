using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Embedded Python: bookworm's uWSGI runs Python 3.11 from libpython3.11.so (its python311 plugin),
/// so wand finds the runtime in that library rather than the executable. Its worker runs Python only
/// while it handles a request, so each test sends requests (<see cref="HttpLoad"/>) while wand waits.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class UwsgiTests
{
    private const string App = "/srv/apps/uwsgi_app/app.py";

    /// <summary>A uWSGI master with one worker serving <see cref="App"/>; returns it and the worker's PID once the app answers.</summary>
    private static Task<(TargetProcess Master, int Worker, HttpClient Http)> StartAsync(int port, params string[] options) =>
        StartAsync(port, "/", ["--wsgi-file", App, .. options]);

    private static async Task<(TargetProcess Master, int Worker, HttpClient Http)> StartAsync(int port, string readyPath, string[] options)
    {
        var master = TargetProcess.StartProgram("3.11", "/usr/bin/uwsgi-core",
            ["--plugin", "python311", "--http-socket", $"127.0.0.1:{port}", "--master", "--processes", "1", .. options]);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        // uWSGI's --http-socket closes the connection after each response without saying so: a
        // pooled connection would now and then be reused just as it closes.
        http.DefaultRequestHeaders.ConnectionClose = true;
        await Eventually.TrueAsync(async () =>
        {
            Assert.False(master.HasExited, $"uWSGI exited: {master.Stderr}");
            try
            {
                return (await http.GetAsync(readyPath)).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), $"uWSGI to answer on port {port}", () => master.Stderr);
        var worker = Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d)).Where(n => n.All(char.IsAsciiDigit)).Select(int.Parse)
            .Single(pid => File.Exists($"/proc/{pid}/status") && File.ReadAllText($"/proc/{pid}/status").Contains($"\nPPid:\t{master.Pid}\n"));
        return (master, worker, http);
    }

    [Fact(Timeout = 120_000)]
    public async Task ExecRunsInAUwsgiWorkerAtItsNextRequest()
    {
        var port = TestNet.FreePort();
        var (master, worker, http) = await StartAsync(port, "--single-interpreter", "--enable-threads");
        await using (master)
        using (http)
        {
            await using var load = new HttpLoad(http, "/");
            var r = await WandCli.RunAsync(["exec", "--pid", worker.ToString(), "--timeout", "30", "-c",
                "import sys, uwsgi\napp = [m for m in sys.modules.values() if hasattr(m, 'application')][0]\nprint(uwsgi.worker_id(), app.hits > 0)"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal("1 True\n", r.Stdout);
            Assert.Contains("through ptrace", r.Stderr);
            // Served throughout by the same worker (not a crashed one respawned). Failed requests are not
            // counted: .NET's client sees "connection reset by peer" from uWSGI's --http-socket now and
            // then, where Python's urllib, with the same execs, saw none in 3,000 requests.
            var (served, _) = await load.StopAsync();
            Assert.True(served > 0, "no request was served");
            Assert.True(File.ReadAllText($"/proc/{worker}/status").Contains($"\nPPid:\t{master.Pid}\n"), $"worker {worker} is gone");
            Assert.StartsWith("hit ", await http.GetStringAsync("/"));
        }
        Assert.Empty(Testbed.WandLeftovers("3.11"));
    }

    /// <summary>
    /// debugpy's adapter is started as a Python program: sys.executable is uwsgi-core here, so the
    /// bootstrap names the interpreter next to the library (debugpy.configure(python=...)).
    /// </summary>
    [Fact(Timeout = 180_000)]
    public async Task DebugHitsABreakpointInTheHandler()
    {
        var port = TestNet.FreePort();
        var (master, worker, http) = await StartAsync(port, "--single-interpreter", "--enable-threads");
        await using (master)
        using (http)
        {
            var dap = TestNet.FreePort();
            await using (new HttpLoad(http, "/"))
            {
                var r = await WandCli.RunAsync(["debug", "--detach", "--pid", worker.ToString(), "--port", dap.ToString(),
                    "--debugpy", Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"), "--timeout", "30"]);
                Assert.True(r.ExitCode == 0, r.ToString());
            }
            var line = Testbed.BreakpointLine(App, "handle");
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", dap))
            {
                var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [App] = [line] });
                Assert.True(attached.Breakpoints[App][0].Verified);
                var request = http.GetStringAsync("/");
                var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
                Assert.Equal("breakpoint", stopped.Reason);
                var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
                Assert.Equal(("application", App, line), (frame.Name, frame.SourcePath, frame.Line));
                await editor.RequestAsync("setBreakpoints", new System.Text.Json.Nodes.JsonObject
                {
                    ["source"] = new System.Text.Json.Nodes.JsonObject { ["path"] = App },
                    ["breakpoints"] = new System.Text.Json.Nodes.JsonArray(),
                });
                await editor.ContinueAsync(stopped.ThreadId);
                Assert.StartsWith("hit ", await request);
                await editor.DisconnectAsync();
            }
            await using (new HttpLoad(http, "/"))
            {
                var stop = await WandCli.RunAsync(["debug", "--pid", worker.ToString(), "--stop", "--timeout", "30"]);
                Assert.True(stop.ExitCode == 0, stop.ToString());
            }
            Assert.False(master.HasExited);
        }
        Assert.Empty(Testbed.WandLeftovers("3.11"));
    }

    /// <summary>Without --enable-threads uWSGI keeps the GIL between requests: debugpy could not serve the editor.</summary>
    [Fact(Timeout = 120_000)]
    public async Task DebugWithoutEnableThreadsIsRefusedInOneLine()
    {
        var port = TestNet.FreePort();
        var (master, worker, http) = await StartAsync(port, "--single-interpreter");
        await using (master)
        using (http)
        {
            await using var load = new HttpLoad(http, "/");
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", worker.ToString(), "--port", TestNet.FreePort().ToString(),
                "--debugpy", Testbed.HostPath("/usr/lib/python3/dist-packages/debugpy"), "--timeout", "30"]);
            Assert.True(r.ExitCode == ExitCodes.UnsupportedPython, r.ToString());
            Assert.Contains($"uWSGI in PID {worker} runs without --enable-threads", r.Stderr);
            Assert.DoesNotContain("Traceback", r.Stderr);
        }
        Assert.Empty(Testbed.WandLeftovers("3.11"));
    }

    /// <summary>The master runs no Python: the request times out with what to do instead.</summary>
    [Fact(Timeout = 60_000)]
    public async Task ExecIntoTheMasterTimesOutSayingWhereUwsgiRunsPython()
    {
        var port = TestNet.FreePort();
        var (master, _, http) = await StartAsync(port, "--single-interpreter", "--enable-threads");
        await using (master)
        using (http)
        {
            await using var load = new HttpLoad(http, "/");
            var r = await WandCli.RunAsync(["exec", "--pid", master.Pid.ToString(), "--timeout", "2", "-c", "print(1)"]);
            Assert.True(r.ExitCode == ExitCodes.SafePointTimeout, r.ToString());
            Assert.Contains("uWSGI runs Python only while a worker handles a request", r.Stderr);
            Assert.Contains("--single-interpreter", r.Stderr);
        }
    }

    /// <summary>
    /// Without --single-interpreter uWSGI loads every app but the first in a sub-interpreter of its
    /// own; pending calls run only in the main interpreter, so requests to /b alone never run wand's code.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task ExecIntoAnAppInASubInterpreterTimesOutNamingSingleInterpreter()
    {
        var port = TestNet.FreePort();
        var (master, worker, http) = await StartAsync(port, "/b/",
            ["--mount", $"/a={App}", "--mount", $"/b={App}", "--manage-script-name", "--enable-threads"]);
        await using (master)
        using (http)
        {
            Assert.Contains("multiple interpreter mode", master.Stdout + master.Stderr);
            await using (var load = new HttpLoad(http, "/b/"))
            {
                var r = await WandCli.RunAsync(["exec", "--pid", worker.ToString(), "--timeout", "3", "-c", "print('ran')"]);
                Assert.True(r.ExitCode == ExitCodes.SafePointTimeout, r.ToString());
                Assert.Contains("wand reaches only the main interpreter, which runs the first app (every app with --single-interpreter)", r.Stderr);
                Assert.True((await load.StopAsync()).Served > 0, "no request to /b was served");
            }
            // The same worker's first app runs in the main interpreter: reached at its next request.
            await using (new HttpLoad(http, "/a/"))
            {
                var r = await WandCli.RunAsync(["exec", "--pid", worker.ToString(), "--timeout", "30", "-c", "print('ran')"]);
                Assert.True(r.ExitCode == 0 && r.Stdout == "ran\n", r.ToString());
            }
        }
        Assert.Empty(Testbed.WandLeftovers("3.11"));
    }
}
