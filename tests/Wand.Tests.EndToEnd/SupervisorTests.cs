using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 13, defect 2: `wand debug --pid` given a gunicorn master, which runs no app code (gunicorn
/// imports the app in each forked worker), debugs its workers, each a child session as under --all;
/// `--one` keeps the master itself. A local gunicorn in the testbed root. uvicorn's reloader parent:
/// <see cref="SessionProxyTests.NamingTheReloaderParentDebugsItsWorkerAndFollowsTheReload"/>.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class SupervisorTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(120);

    [Fact(Timeout = 300_000)]
    public async Task NamingTheGunicornMasterDebugsBothWorkersAsChildSessions()
    {
        var (app, http) = await StartGunicornAsync(workers: 2);
        await using var _ = app;
        using var __ = http;
        var workers = await WorkersOfAsync(app.Pid, 2);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--pid", app.Pid.ToString(), "--port", localPort.ToString(), "--output", "json"]);
        var attached = Enumerable.Range(0, 2).Select(_ => session.NextEvent(EventTimeout).GetProperty("pid").GetInt32()).Order().ToList();
        Assert.Equal(workers, attached); // the workers, never the master
        Assert.Contains($"PID {app.Pid} is the gunicorn master (it runs no app code); debugging its 2 workers (PIDs {workers[0]}, {workers[1]})", session.Stderr);

        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "async_items");
        await using (var editor = await ChildSessionEditor.AttachAsync(localPort, ContainerApp.AppFile, line, "read_async_item"))
        try
        {
            await editor.WaitUntilAsync(e => e.ChildCount == 2, EventTimeout, "a child session per worker");
            // Waves of concurrent requests until one stops at the breakpoint; the editor continues each stop.
            var deadline = DateTime.UtcNow + StopTimeout;
            while (editor.Stops.Count == 0)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no stop in a worker: {editor.Describe()}");
                var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => http.GetStringAsync($"/async-items/{i}?q=wave"))).WaitAsync(StopTimeout);
                Assert.All(responses, r => Assert.Contains("\"q\":\"wave\"", r));
            }
            editor.ThrowIfProblems(); // each stop was in the PID its child session is named after
            Assert.All(editor.Stops.Keys, name => Assert.Contains(name, workers.Select(w => $"PID {w}")));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{e.Message}\nwand said:\n{session.Stderr}", e);
        }
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
        Assert.False(TestNet.IsListening(localPort));
    }

    [Fact(Timeout = 300_000)]
    public async Task OneWithTheMastersPidDebugsTheMasterItself()
    {
        var (app, http) = await StartGunicornAsync(workers: 2);
        await using var _ = app;
        using var __ = http;
        await WorkersOfAsync(app.Pid, 2);

        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--pid", app.Pid.ToString(), "--one", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal(("attached", app.Pid), (attached.GetProperty("event").GetString(), attached.GetProperty("pid").GetInt32()));
        Assert.Equal(app.Pid, attached.GetProperty("endpoint").GetProperty("target").GetProperty("pid").GetInt32());
        Assert.DoesNotContain("runs no app code", session.Stderr);
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// --detach has no session to follow workers, so a master with one worker is debugged in that worker
    /// (wand says so, and that the next worker is not followed); a DAP client straight to debugpy's port
    /// then stops in the worker. --stop with the master's PID stops debugpy in the worker.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task DetachWithTheMastersPidDebugsItsOnlyWorker()
    {
        var (app, http) = await StartGunicornAsync(workers: 1);
        await using var _ = app;
        using var __ = http;
        var worker = (await WorkersOfAsync(app.Pid, 1))[0];

        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--pid", app.Pid.ToString(), "--detach", "--port", port.ToString(), "--output", "json"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"PID {app.Pid} is the gunicorn master (it runs no app code); debugging its worker PID {worker} (without a session, the worker that replaces it", r.Stderr);
        var endpoint = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(worker, endpoint.GetProperty("target").GetProperty("pid").GetInt32());

        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "async_items");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", endpoint.GetProperty("port").GetInt32()))
        {
            var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [ContainerApp.AppFile] = [line] });
            Assert.True(attached.Breakpoints[ContainerApp.AppFile][0].Verified);
            var request = http.GetStringAsync("/async-items/3?q=detached");
            var stopped = await editor.WaitForStoppedAsync(EventTimeout);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal("read_async_item", frame.Name);
            Assert.Equal(worker.ToString(), await editor.EvaluateAsync("__import__('os').getpid()", frame.Id));
            await editor.ContinueAsync(stopped.ThreadId);
            Assert.Contains("\"q\":\"detached\"", await request.WaitAsync(EventTimeout));
            await editor.DisconnectAsync();
        }

        var stop = await WandCli.RunAsync(["debug", "--pid", app.Pid.ToString(), "--stop"]);
        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Contains($"debugpy stopped in PID {worker} (of the gunicorn master PID {app.Pid} and its workers PID {worker})", stop.Stderr);
        var again = await WandCli.RunAsync(["debug", "--pid", app.Pid.ToString(), "--stop"]);
        Assert.Contains($"wand's debugpy was not running in the gunicorn master PID {app.Pid} and its workers PID {worker}; nothing to stop", again.Stderr);
    }

    /// <summary>With several workers, one debugpy without a session cannot stand for them: refused, naming the workers and the ways that work.</summary>
    [Fact(Timeout = 300_000)]
    public async Task DetachWithTheMastersPidOfSeveralWorkersNamesThem()
    {
        var (app, http) = await StartGunicornAsync(workers: 2);
        await using var _ = app;
        using var __ = http;
        var workers = await WorkersOfAsync(app.Pid, 2);

        var port = TestNet.FreePort();
        var r = await WandCli.RunAsync(["debug", "--pid", app.Pid.ToString(), "--detach", "--port", port.ToString()]);
        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains($"PID {app.Pid} is the gunicorn master (it runs no app code) and has 2 workers (PIDs {workers[0]}, {workers[1]})", r.Stderr);
        Assert.Contains($"`wand debug --pid {app.Pid}` (without --detach)", r.Stderr);
        Assert.Contains($"`wand debug --pid {workers[0]} --detach`", r.Stderr);
        Assert.False(TestNet.IsListening(port)); // nothing was started anywhere
    }

    /// <summary>gunicorn with uvicorn workers serving the sample on this machine's loopback; its Pid is the master (chroot execs Python).</summary>
    private static async Task<(TargetProcess App, HttpClient Http)> StartGunicornAsync(int workers)
    {
        var appPort = TestNet.FreePort();
        var app = TargetProcess.StartPython("3.14",
            ["-m", "gunicorn", "-w", workers.ToString(), "-k", "uvicorn.workers.UvicornWorker", "--chdir", ContainerApp.AppDir, "-b", $"127.0.0.1:{appPort}", "app:app"]);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(60) };
        await TestNet.WaitUntilServingAsync(http, app);
        return (app, http);
    }

    /// <summary>The master's <paramref name="count"/> worker PIDs (its children), sorted, once it has that many.</summary>
    private static async Task<List<int>> WorkersOfAsync(int master, int count)
    {
        List<int> workers = [];
        await Eventually.TrueAsync(
            () => (workers = Directory.GetDirectories("/proc").Select(Path.GetFileName).Select(n => int.TryParse(n, out var p) ? p : 0)
                .Where(p => p > 0 && Wand.Transport.Local.ProcFs.Default.Stat(p)?.ParentPid == master
                    && Wand.Transport.Local.ProcFs.Default.CommandLine(p).Any(a => a.Contains("gunicorn", StringComparison.Ordinal)))
                .Order().ToList()).Count == count,
            TimeSpan.FromSeconds(30), $"gunicorn {master} to have {count} workers", () => $"it has {workers.Count}");
        return workers;
    }
}
