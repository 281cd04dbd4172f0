using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 15 item 4: the user changes a file (or gunicorn respawns a killed worker), a new worker starts, and
/// the request the user sends then, the first the new worker serves, stops at the editor's breakpoint. Each
/// test runs <see cref="Reloads"/> reloads of a real server in the testbed under one `wand debug` session and
/// one editor (the test DAP client); the first requests must stop, at most one miss (FirstRequestProbe sends
/// each the moment the new worker process exists). The benchmark (`Wand.Bench reload`) runs 20 of each.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class FirstRequestAfterReloadTests
{
    private const int Reloads = 5;
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task TheFirstRequestAfterEachUvicornReloadStops() => FirstRequestsStopAsync(ReloadingServer.Uvicorn);

    /// <summary>
    /// A new werkzeug worker is a fresh `python app.py` (fork and exec: no fork handler runs in it) that serves the queued
    /// request 0.1-0.2 s after it appears: the reloader, which waits for its worker, makes the next one carry wand's
    /// start-up hold (spawn_hold.py, usercustomize.py).
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task TheFirstRequestAfterEachWerkzeugReloadStops() => FirstRequestsStopAsync(ReloadingServer.Werkzeug);

    /// <summary>
    /// A forked worker imports the Flask sample and serves about 0.1 s after it appears, sooner than an attach from
    /// outside lands: the master holds each new worker right after the fork until wand's attach ran there (fork_hold.py).
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task TheFirstRequestOfEachRespawnedGunicornWorkerStops() => FirstRequestsStopAsync(ReloadingServer.Gunicorn);

    /// <summary>
    /// The gunicorn master's fork hold ends with the session (a fork handler cannot be unregistered): once Ctrl+C
    /// stopped the session, the master keeps no switch of wand's (os._wand_fork_hold), and a worker it respawns serves
    /// at once instead of waiting the hold's 5 s for a wand that is gone.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AfterTheSessionARespawnedGunicornWorkerIsNotHeld()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        var (dir, _) = CopySample(ReloadingServer.Gunicorn);
        var port = TestNet.FreePort();
        try
        {
            // --timeout 30: the held worker's wait is the hold's own 5 s, not its heartbeat timeout (15 s) cutting it short.
            await using var app = TargetProcess.StartPython("3.14", ["-m", "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout", "30", "--chdir", dir, "--bind", $"127.0.0.1:{port}", "app:app"]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = EventTimeout };
            await TestNet.WaitUntilServingAsync(http, app);
            var worker = FirstRequestProbe.WorkerOf(app.Pid);
            var localPort = TestNet.FreePort();
            await using var session = WandSession.Start(["debug", "--pid", worker.ToString(), "--yes", "--port", localPort.ToString(), "--timeout", "30", "--output", "json"]);
            // An idle sync worker waits in select() for half its timeout, with no safe point: requests wake it.
            var attached = Task.Run(() => session.NextEvent("attached", EventTimeout), timeout.Token);
            await Eventually.TrueAsync(async () =>
                {
                    if (attached.IsCompleted) return true;
                    await http.GetStringAsync("/health", timeout.Token);
                    return attached.IsCompleted;
                }, EventTimeout, "wand to attach to the idle gunicorn worker", () => session.Stderr, interval: TimeSpan.FromMilliseconds(200));
            Assert.Equal(worker, (await attached).GetProperty("pid").GetInt32());
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token))
            {
                await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>(), cancellationToken: timeout.Token);
                await Eventually.TrueAsync(() => session.Stderr.Contains("each new worker waits for wand's attach", StringComparison.Ordinal), EventTimeout,
                    "wand holding the gunicorn master's new workers", () => session.Stderr);
                Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
            }

            var left = await WandCli.RunAsync(["exec", "--pid", app.Pid.ToString(), "-c", "import os; print(hasattr(os, '_wand_fork_hold'))"]);
            Assert.True(left.ExitCode == 0, left.Stderr);
            Assert.Equal("False", left.Stdout.Trim());

            System.Diagnostics.Process.GetProcessById(worker).Kill();
            var respawned = 0;
            await Eventually.TrueAsync(() => (respawned = FirstRequestProbe.WorkerOf(app.Pid, except: worker)) > 0, EventTimeout, "gunicorn's respawned worker", interval: TimeSpan.FromMilliseconds(2));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.Contains("ok", await http.GetStringAsync("/health", timeout.Token));
            // Unheld it serves within a fraction of a second (the Flask sample's import); held, only after 5 s.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the respawned worker {respawned} served {clock.Elapsed.TotalSeconds:0.0} s after it appeared: still held");
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(dir), recursive: true);
        }
    }

    /// <summary>
    /// werkzeug's start-up hold leaves nothing: the held worker takes its environment entries, its folder on sys.path and
    /// its module out again (usercustomize.py); after Ctrl+C the request left pending in the reloader is withdrawn, so it
    /// never runs (no "Can't open debugger script" at the next reload), the lent folder is gone, and the next worker
    /// starts as it would without wand.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheWerkzeugStartupHoldLeavesNothingBehind()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(200));
        var server = ReloadingServer.Werkzeug;
        var (dir, appFile) = CopySample(server);
        var port = TestNet.FreePort();
        const string Traces = "import os, sys; print([k for k in os.environ if k.startswith('WAND_SPAWN')], 'PYTHONPATH' in os.environ, 'usercustomize' in sys.modules, "
            + "[p for p in sys.path if 'wand-spawn-hold' in p], hasattr(os, '_wand_fork_hold'), __import__('threading').Thread.start.__qualname__)";
        const string Clean = "[] False False [] False Thread.start";
        const string Lent = "import glob; print(len(glob.glob('/tmp/wand-lent-*/wand-spawn-hold') + glob.glob('/dev/shm/wand-lent-*/wand-spawn-hold') + glob.glob('/var/tmp/wand-lent-*/wand-spawn-hold')))";
        try
        {
            await using var app = TargetProcess.StartPython("3.14", server.Arguments(dir, port));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = EventTimeout };
            await TestNet.WaitUntilServingAsync(http, app);
            var worker = FirstRequestProbe.WorkerOf(app.Pid);
            var localPort = TestNet.FreePort();
            await using var session = WandSession.Start(["debug", "--pid", worker.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
            Assert.Equal(worker, session.NextEvent("attached", EventTimeout).GetProperty("pid").GetInt32());
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token))
            {
                await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [appFile] = [Testbed.BreakpointLine(appFile, "items")] }, cancellationToken: timeout.Token);
                var old = worker;
                var outcome = await FirstRequestProbe.OneReloadAsync(editor, app.Pid, old,
                    () => File.AppendAllTextAsync(Testbed.HostPath(appFile), "\n# reload under the session\n", timeout.Token),
                    () => http.GetStringAsync("/items/1", timeout.Token), EventTimeout, timeout.Token);
                worker = outcome.Worker;
                Assert.True(outcome.Stopped, outcome.Detail);
                Assert.Equal(worker, session.NextEvent("reattached", EventTimeout).GetProperty("pid").GetInt32());
                var held = await WandCli.RunAsync(["exec", "--pid", worker.ToString(), "-c", Traces]);
                Assert.Equal(Clean, held.Stdout.Trim());
                Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
            }
            Assert.Equal("0", (await WandCli.RunAsync(["exec", "--pid", worker.ToString(), "-c", Lent])).Stdout.Trim());

            await File.AppendAllTextAsync(Testbed.HostPath(appFile), "\n# reload after the session\n", timeout.Token);
            var next = 0;
            await Eventually.TrueAsync(() => (next = FirstRequestProbe.WorkerOf(app.Pid, except: worker)) > 0, EventTimeout, "werkzeug's next worker", interval: TimeSpan.FromMilliseconds(10));
            Assert.Contains("ok", await http.GetStringAsync("/health", timeout.Token));
            var after = await WandCli.RunAsync(["exec", "--pid", next.ToString(), "-c", Traces]);
            Assert.Equal(Clean, after.Stdout.Trim());
            Assert.DoesNotContain("debugger script", app.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(dir), recursive: true);
        }
    }

    /// <summary>A copy of <paramref name="server"/>'s sample app in a folder of its own in the testbed, which the test edits and deletes.</summary>
    private static (string Dir, string AppFile) CopySample(ReloadingServer server)
    {
        var dir = $"/srv/first-request-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Testbed.HostPath(dir));
        foreach (var file in Directory.GetFiles(Testbed.HostPath($"/srv/apps/{server.Sample}"), "*.py"))
            File.Copy(file, Testbed.HostPath($"{dir}/{Path.GetFileName(file)}"));
        return (dir, $"{dir}/app.py");
    }

    private static async Task FirstRequestsStopAsync(ReloadingServer server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(280));
        var (dir, appFile) = CopySample(server);
        var port = TestNet.FreePort();
        try
        {
            await using var app = TargetProcess.StartPython("3.14", server.Arguments(dir, port));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = EventTimeout };
            await TestNet.WaitUntilServingAsync(http, app);
            var worker = FirstRequestProbe.WorkerOf(app.Pid);
            Assert.True(worker > 0, $"{server.Name} has no worker");
            var localPort = TestNet.FreePort();
            await using var session = WandSession.Start(["debug", "--pid", worker.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
            Assert.Equal(worker, session.NextEvent("attached", EventTimeout).GetProperty("pid").GetInt32());
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token);
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [appFile] = [Testbed.BreakpointLine(appFile, "items")] }, cancellationToken: timeout.Token);

            var missed = new List<string>();
            for (var reload = 1; reload <= Reloads; reload++)
            {
                var old = worker;
                var outcome = await FirstRequestProbe.OneReloadAsync(editor, app.Pid, old,
                    () => server.KillsWorker
                        ? Task.Run(() => System.Diagnostics.Process.GetProcessById(old).Kill())
                        : File.AppendAllTextAsync(Testbed.HostPath(appFile), $"\n# reload {reload}\n", timeout.Token),
                    () => http.GetStringAsync($"/items/{reload}", timeout.Token), EventTimeout, timeout.Token);
                worker = outcome.Worker;
                if (!outcome.Stopped) missed.Add($"reload {reload} (PID {worker}): {outcome.Detail}");
                // The next reload starts from a worker that wand has taken up: its session saw it.
                Assert.Equal(worker, session.NextEvent("reattached", EventTimeout).GetProperty("pid").GetInt32());
            }
            // The target is 19 of 20: one miss in five is tolerated (the benchmark counts 20); without
            // the hold none of them stops.
            Assert.True(missed.Count <= 1, $"{server.Name}: the first request after {missed.Count} of {Reloads} reloads did not stop:\n{string.Join('\n', missed)}\nwand:\n{session.Stderr}");

            await editor.DisconnectAsync(cancellationToken: timeout.Token);
            Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("ok", await http.GetStringAsync("/health", timeout.Token));
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(dir), recursive: true);
        }
    }
}
