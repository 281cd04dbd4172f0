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

    /// <summary>Not yet: 16 of 20 in the benchmark. werkzeug serves from a thread the main thread starts after the app's imports, and the attach often lands after that.</summary>
    [Fact(Timeout = TestTimeouts.EndToEnd, Skip = "issue 15 item 4 open for werkzeug: 16/20 first requests stop (bench/README.md, reload)")]
    public Task TheFirstRequestAfterEachWerkzeugReloadStops() => FirstRequestsStopAsync(ReloadingServer.Werkzeug);

    /// <summary>Not yet: 12 of 20 in the benchmark. A forked worker imports the Flask sample in about 0.3 s, less than wand takes to see it (100 ms) and let it age (250 ms).</summary>
    [Fact(Timeout = TestTimeouts.EndToEnd, Skip = "issue 15 item 4 open for gunicorn respawn: 12/20 first requests stop (bench/README.md, reload)")]
    public Task TheFirstRequestOfEachRespawnedGunicornWorkerStops() => FirstRequestsStopAsync(ReloadingServer.Gunicorn);

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
