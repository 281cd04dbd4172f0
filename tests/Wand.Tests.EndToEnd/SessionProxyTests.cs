using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 7 through the real command: `wand debug` keeps one editor session open while the debugged
/// process is replaced (uvicorn --reload, locally and in a container), with the test DAP client
/// connected to wand's port the whole time.
/// </summary>
[Collection(TargetRootCollection.Name)]
public class SessionProxyTests
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AContainerReloadKeepsTheEditorSessionAndTheNextRequestStopsInTheNewWorker()
    {
        await using var c = await TestContainer.StartAsync(ContainerApp.Uvicorn(reload: true));
        await ContainerApp.WaitUntilServingAsync(c);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--container", c.Name, "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var firstWorker = session.NextEvent(EventTimeout).GetProperty("pidInside").GetInt32();

        var line = Testbed.BreakpointLine(ContainerApp.AppFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [ContainerApp.AppFile] = [line] });
        Assert.Equal(firstWorker.ToString(), await ContainerApp.StopOnceAsync(editor, () => ContainerApp.GetInsideAsync(c, "/items/1?q=before")));

        await c.PythonAsync($"open('{ContainerApp.AppFile}', 'a').write('\\n# edited by the test\\n')");
        Assert.Equal("detached", session.NextEvent("detached", EventTimeout).GetProperty("event").GetString());
        var secondWorker = session.NextEvent("reattached", EventTimeout).GetProperty("pidInside").GetInt32();
        Assert.NotEqual(firstWorker, secondWorker);
        await ContainerApp.WaitUntilArmedAsync(editor);
        await ContainerApp.WaitUntilServingAsync(c);

        // The same editor, no new attach: the breakpoint was replayed into the new worker.
        Assert.Equal(secondWorker.ToString(), await ContainerApp.StopOnceAsync(editor, () => ContainerApp.GetInsideAsync(c, "/items/2?q=after")));
        await editor.DisconnectAsync();
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
        Assert.False(TestNet.IsListening(localPort));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public Task ALocalReloadKeepsTheEditorSessionAndCtrlCLeavesTheAppServing() => LocalReloadAsync(nameTheReloader: false);

    /// <summary>
    /// Issue 13: naming uvicorn's reloader parent (which runs no app code) debugs its worker, and after a
    /// reload the next worker, in the same editor session.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public Task NamingTheReloaderParentDebugsItsWorkerAndFollowsTheReload() => LocalReloadAsync(nameTheReloader: true);

    private static async Task LocalReloadAsync(bool nameTheReloader)
    {
        // A private copy of the sample (the test edits it), inside the testbed root the target runs in.
        var appDir = $"/srv/proxy-test-{Guid.NewGuid():N}";
        Directory.CreateDirectory(Testbed.HostPath(appDir));
        foreach (var file in Directory.GetFiles(Testbed.HostPath(ContainerApp.AppDir), "*.py"))
            File.Copy(file, Testbed.HostPath($"{appDir}/{Path.GetFileName(file)}"));
        var appFile = $"{appDir}/app.py";
        var appPort = TestNet.FreePort();
        await using var app = TargetProcess.StartPython("3.14",
            ["-m", "uvicorn", "--app-dir", appDir, "app:app", "--host", "127.0.0.1", "--port", appPort.ToString(), "--reload", "--reload-dir", appDir]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await TestNet.WaitUntilServingAsync(http, app);
            var worker = await WorkerOfAsync(app.Pid);
            var localPort = TestNet.FreePort();
            var named = nameTheReloader ? app.Pid : worker;
            await using var session = WandSession.Start(["debug", "--pid", named.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
            var attached = session.NextEvent(EventTimeout);
            if (nameTheReloader)
                Assert.Contains($"PID {app.Pid} is the uvicorn reloader (it runs no app code); debugging its worker PID {worker} and the workers that replace it (--one debugs PID {app.Pid} alone)", session.Stderr);
            Assert.Equal(("attached", "local", worker, localPort), (attached.GetProperty("event").GetString(), attached.GetProperty("route").GetString(),
                attached.GetProperty("pid").GetInt32(), attached.GetProperty("localPort").GetInt32()));
            Assert.NotEqual(localPort, attached.GetProperty("endpoint").GetProperty("port").GetInt32()); // wand's proxy holds the user's port

            var line = Testbed.BreakpointLine(appFile, "items");
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [appFile] = [line] });
            Assert.Equal(worker.ToString(), await ContainerApp.StopOnceAsync(editor, () => http.GetStringAsync("/items/1?q=before")));

            await File.AppendAllTextAsync(Testbed.HostPath(appFile), "\n# edited by the test\n");
            var next = session.NextEvent("reattached", EventTimeout).GetProperty("pid").GetInt32();
            Assert.NotEqual(worker, next);
            Assert.Equal(next, await WorkerOfAsync(app.Pid));
            await ContainerApp.WaitUntilArmedAsync(editor);
            await TestNet.WaitUntilServingAsync(http, app);
            Assert.Equal(next.ToString(), await ContainerApp.StopOnceAsync(editor, () => http.GetStringAsync("/items/2?q=after")));

            await editor.DisconnectAsync();
            Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
            Assert.False(TestNet.IsListening(localPort));
            Assert.Contains("ok", await http.GetStringAsync("/health"));
            Testbed.AssertNothingLeftBehind();
        }
        finally
        {
            Directory.Delete(Testbed.HostPath(appDir), recursive: true);
        }
    }

    /// <summary>The uvicorn reloader's current worker (its Python child).</summary>
    private static async Task<int> WorkerOfAsync(int reloader)
    {
        var worker = 0;
        await Eventually.TrueAsync(
            () => (worker = Directory.GetDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
                .FirstOrDefault(pid => pid > 0 && Wand.Transport.Local.ProcFs.Default.Stat(pid)?.ParentPid == reloader
                    && Wand.Transport.Local.ProcFs.Default.CommandLine(pid).Any(a => a.Contains("spawn_main", StringComparison.Ordinal)))) > 0,
            TimeSpan.FromSeconds(10), $"uvicorn reloader {reloader} to have a worker");
        return worker;
    }
}
