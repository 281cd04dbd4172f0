using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 13, defect 6: a gunicorn worker held at a breakpoint longer than gunicorn's <c>--timeout</c>
/// is not killed by the arbiter (WORKER TIMEOUT); wand keeps its heartbeat going while it is paused,
/// and nothing of that is left after <c>--stop</c>.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class PauseSafeWorkerTests
{
    private const int GunicornTimeout = 5;

    private const string WsgiApp = """
        import os
        import time


        def app(environ, start_response):
            if environ["PATH_INFO"] == "/hang":
                time.sleep(60)  # a worker that hangs on its own, not at a breakpoint
            body = ("pid %d" % os.getpid()).encode()  # BREAKPOINT: handler
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        """;

    [Fact(Timeout = 180_000)]
    public async Task GunicornWorkerHeldAtABreakpointForThreeTimesItsTimeoutIsNotKilled()
    {
        var (folder, appFile) = await WriteAppAsync();
        try
        {
            var appPort = TestNet.FreePort();
            await using var gunicorn = StartGunicorn(folder, appPort);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(90) };
            await TestNet.WaitUntilServingAsync(http, gunicorn, "/");
            var worker = await http.GetStringAsync("/");
            var workerPid = int.Parse(worker["pid ".Length..]);

            var before = await TargetSnapshot.TakeAsync(workerPid);
            var port = TestNet.FreePort();
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", workerPid.ToString(), "--port", port.ToString(), "--output", "json"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(workerPid, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("target").GetProperty("pid").GetInt32());

            var line = Testbed.BreakpointLine(appFile, "handler");
            await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
            {
                await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [appFile] = [line] });
                var request = http.GetAsync("/held");
                var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
                // The one fixed wait: holding the stop for three times gunicorn's timeout is what is
                // tested (the arbiter kills a worker whose heartbeat is older than --timeout); there is
                // no condition to wait on, only time to let pass.
                await Task.Delay(TimeSpan.FromSeconds(3 * GunicornTimeout));
                Assert.False(request.IsCompleted, "the request ended while its worker was paused; gunicorn said:\n" + gunicorn.Stderr);
                await editor.RequestAsync("setBreakpoints", new() { ["source"] = new JsonObject { ["path"] = appFile }, ["breakpoints"] = new JsonArray() });
                await editor.ContinueAsync(stopped.ThreadId);
                var response = await request.WaitAsync(TimeSpan.FromSeconds(30));
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}; gunicorn said:\n{gunicorn.Stderr}");
                Assert.Equal(worker, await response.Content.ReadAsStringAsync());
                await editor.DisconnectAsync();
            }
            Assert.Equal(worker, await http.GetStringAsync("/next")); // the same worker answers the next request
            Assert.DoesNotContain("WORKER TIMEOUT", gunicorn.Stderr);

            var stop = await WandCli.RunAsync(["debug", "--pid", workerPid.ToString(), "--stop"]);
            Assert.True(stop.ExitCode == 0, stop.ToString());
            await TargetSnapshot.AssertAsBeforeAsync(workerPid, before, TimeSpan.FromSeconds(20)); // the heartbeat thread ended too
            Testbed.AssertNothingLeftBehind();
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(folder), true);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task HungWorkerThatIsNotPausedIsStillKilledWhileDebugged()
    {
        var (folder, _) = await WriteAppAsync();
        try
        {
            var appPort = TestNet.FreePort();
            await using var gunicorn = StartGunicorn(folder, appPort);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(90) };
            await TestNet.WaitUntilServingAsync(http, gunicorn, "/");
            var workerPid = int.Parse((await http.GetStringAsync("/"))["pid ".Length..]);
            var port = TestNet.FreePort();
            var r = await WandCli.RunAsync(["debug", "--detach", "--pid", workerPid.ToString(), "--port", port.ToString()]);
            Assert.True(r.ExitCode == 0, r.ToString());
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());

            // The handler sleeps 60 s; gunicorn's arbiter must still end it after its 5 s timeout.
            HttpResponseMessage hung;
            try
            {
                hung = await http.GetAsync("/hang").WaitAsync(TimeSpan.FromSeconds(45));
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"a hung worker, not paused, was kept alive 45 s past gunicorn's {GunicornTimeout} s timeout:\n{gunicorn.Stderr}");
            }
            Assert.False(hung.IsSuccessStatusCode);
            Assert.Contains("WORKER TIMEOUT", gunicorn.Stderr);
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(folder), true);
        }
    }

    private static async Task<(string Folder, string AppFile)> WriteAppAsync()
    {
        var folder = $"/srv/wsgi-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Testbed.HostPath(folder));
        await File.WriteAllTextAsync(Testbed.HostPath(folder + "/wsgi_app.py"), WsgiApp);
        return (folder, folder + "/wsgi_app.py");
    }

    /// <summary>gunicorn with one sync worker and <c>--timeout 5</c>, in the testbed.</summary>
    private static TargetProcess StartGunicorn(string folder, int port) =>
        TargetProcess.StartPython("3.14", ["-m", "gunicorn", "--timeout", GunicornTimeout.ToString(), "--workers", "1",
            "--worker-class", "sync", "--chdir", folder, "--bind", $"127.0.0.1:{port}", "wsgi_app:app"]);
}
