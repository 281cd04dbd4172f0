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
    /// Not yet (0 of 5 here on 2026-12-07 at load 5): a new werkzeug worker is a fresh `python app.py` (fork and exec, so
    /// no fork handler of the reloader runs in it) that serves the queued request 120-220 ms after it appears, before an
    /// attach from outside lands (wand's 100 ms poll, then the injection). bench/README.md, reload, says what would.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd, Skip = "issue 15 item 4 open for werkzeug: the new worker serves 0.1-0.2 s after it appears (bench/README.md, reload)")]
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
        var dir = $"/srv/first-request-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Testbed.HostPath(dir));
        foreach (var file in Directory.GetFiles(Testbed.HostPath("/srv/apps/flask_app"), "*.py"))
            File.Copy(file, Testbed.HostPath($"{dir}/{Path.GetFileName(file)}"));
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
            while (!attached.IsCompleted)
            {
                await http.GetStringAsync("/health", timeout.Token);
                await Task.WhenAny(attached, Task.Delay(200, timeout.Token));
            }
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

    private static async Task FirstRequestsStopAsync(ReloadingServer server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(280));
        var dir = $"/srv/first-request-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Testbed.HostPath(dir));
        foreach (var file in Directory.GetFiles(Testbed.HostPath($"/srv/apps/{server.Sample}"), "*.py"))
            File.Copy(file, Testbed.HostPath($"{dir}/{Path.GetFileName(file)}"));
        var appFile = $"{dir}/app.py";
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
