using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// Issue 13 (defects 1 and 7): `wand debug` sessions driven the way a person drives a real editor:
/// F5 the moment wand's port opens, and a Flask app reloaded under the editor's default exception
/// filter (<c>uncaught</c>, which the test editor sets in every session).
/// </summary>
[Collection(TargetRootCollection.Name)]
public class RealEditorSessionTests
{
    private const string LoopPath = "/srv/apps/loop.py";
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, IReadOnlyList<int>> Breakpoint(string path, int line) => new() { [path] = [line] };

    [Fact(Timeout = 180_000)]
    public async Task AnEditorConnectingTheMomentThePortOpensIsServedAndTheNextEditorToo()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitForOutputAsync("ticks 100"); // past its imports
        var localPort = TestNet.FreePort();
        var line = Testbed.BreakpointLine(LoopPath, "tick");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));

        // A user pressing F5 right after starting wand: the editor connects as soon as anything listens.
        var connecting = ConnectAsSoonAsListeningAsync(localPort, timeout.Token);
        await using var session = WandSession.Start(["debug", "--pid", target.Pid.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
        await using (var first = await connecting)
        {
            var attached = await first.AttachAsync(Breakpoint(LoopPath, line), cancellationToken: timeout.Token);
            Assert.True(attached.Breakpoints[LoopPath][0].Verified);
            Assert.Equal("attached", session.NextEvent(EventTimeout).GetProperty("event").GetString());
            await StopInTickAsync(first, line, timeout.Token);
            await first.DisconnectAsync(cancellationToken: timeout.Token);
        }

        // The first editor is gone: the next one is served at once, not refused as "another editor".
        await using (var second = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token))
        {
            var attached = await second.AttachAsync(Breakpoint(LoopPath, line), cancellationToken: timeout.Token);
            Assert.True(attached.Breakpoints[LoopPath][0].Verified);
            await StopInTickAsync(second, line, timeout.Token);
            await second.DisconnectAsync(cancellationToken: timeout.Token);
        }
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
        Assert.False(target.HasExited);
    }

    /// <summary>
    /// The port debugpy takes inside is free when wand looks (nothing listens there) but taken when debugpy binds: another
    /// process may take it in between (a CI run failed so). A socket bound there without listening is invisible in
    /// /proc/net/tcp and makes debugpy's bind fail all the same: deterministic. The session moves on to the next port.
    /// </summary>
    [Fact(Timeout = 180_000)]
    public async Task APortTakenInsideBetweenLookingAndListeningMovesDebugpyToTheNextOne()
    {
        await using var target = TargetProcess.StartPython("3.14", [LoopPath]);
        await target.WaitForOutputAsync("ticks 100");
        var (localPort, holder) = await PortWithTheNextOneBoundAsync();
        await using var _ = holder;
        var line = Testbed.BreakpointLine(LoopPath, "tick");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(150));

        await using var session = WandSession.Start(["debug", "--pid", target.Pid.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
        var attached = session.NextEvent(EventTimeout);
        Assert.Equal("attached", attached.GetProperty("event").GetString());
        Assert.NotEqual(localPort + 1, attached.GetProperty("endpoint").GetProperty("port").GetInt32());
        Assert.Contains($"port {localPort + 1} inside was taken meanwhile", session.Stderr);
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token))
        {
            Assert.True((await editor.AttachAsync(Breakpoint(LoopPath, line), cancellationToken: timeout.Token)).Breakpoints[LoopPath][0].Verified);
            await StopInTickAsync(editor, line, timeout.Token);
            await editor.DisconnectAsync(cancellationToken: timeout.Token);
        }
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>
    /// A free port whose next port a Python process holds bound, without SO_REUSEADDR and without listening. (A .NET
    /// socket cannot stand in: its bind sets SO_REUSEADDR, with which debugpy's own SO_REUSEADDR bind succeeds beside it.)
    /// </summary>
    private static async Task<(int Port, TargetProcess Holder)> PortWithTheNextOneBoundAsync()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = TestNet.FreePort();
            var holder = TargetProcess.StartPython("3.14", ["-c",
                $"import socket, sys, time\ns = socket.socket()\ntry:\n    s.bind(('127.0.0.1', {port + 1}))\nexcept OSError:\n    print('busy', flush=True); sys.exit(1)\nprint('bound', flush=True)\nwhile True: time.sleep(60)"]);
            await Eventually.TrueAsync(() => holder.Stdout.Contains("bound") || holder.Stdout.Contains("busy"), TimeSpan.FromSeconds(30), "the port holder to bind");
            if (holder.Stdout.Contains("bound") || attempt == 20) return (port, holder);
            await holder.DisposeAsync();
        }
    }

    /// <summary>Connects in a tight loop (no pause between attempts) until something accepts on <paramref name="port"/>.</summary>
    private static Task<DapClient> ConnectAsSoonAsListeningAsync(int port, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await DapClient.ConnectAsync("127.0.0.1", port, cancellationToken);
            }
            catch (SocketException)
            {
                // not listening yet: again at once
            }
        }
    }, cancellationToken);

    private static async Task StopInTickAsync(DapClient editor, int line, CancellationToken cancellationToken)
    {
        var stopped = await editor.WaitForStoppedAsync(EventTimeout, cancellationToken);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId, cancellationToken))[0];
        Assert.Equal(("tick", LoopPath, line), (frame.Name, frame.SourcePath, frame.Line));
        await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() }, cancellationToken);
        await editor.ContinueAsync(stopped.ThreadId, cancellationToken);
    }

    /// <summary>
    /// werkzeug's stat reloader replaces its worker: the old worker's main thread raises SystemExit(3).
    /// By default (the editor's <c>uncaught</c> filter) that is no stop at all; with <c>"flask": false</c> in the
    /// editor's configuration debugpy stops there, and the editor's continue lets the old worker exit.
    /// Either way the same editor session goes on in the new worker.
    /// </summary>
    [Theory(Timeout = 240_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFlaskReloadUnderTheUncaughtFilterGoesOnInTheNewWorker(bool stopOnTheReloadersExit)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(220));
        await using var flask = await FlaskUnderReloader.StartAsync();
        var (app, http, appFile) = (flask.App, flask.Http, flask.AppFile);
        var worker = await ChildOfAsync(app.Pid);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--pid", worker.ToString(), "--yes", "--port", localPort.ToString(), "--output", "json"]);
        Assert.Equal(worker, session.NextEvent("attached", EventTimeout).GetProperty("pid").GetInt32());

        var line = Testbed.BreakpointLine(appFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort, timeout.Token);
        var configuration = stopOnTheReloadersExit ? new JsonObject { ["flask"] = false } : null;
        await editor.AttachAsync(Breakpoint(appFile, line), configuration, cancellationToken: timeout.Token);
        Assert.Equal(worker.ToString(), await StopOnceAsync(editor, () => http.GetStringAsync("/items/1")));

        await File.AppendAllTextAsync(Testbed.HostPath(appFile), "\n# edited by the test\n", timeout.Token);
        if (stopOnTheReloadersExit)
        {
            var stopped = await editor.WaitForStoppedAsync(EventTimeout, timeout.Token);
            Assert.Equal("exception", stopped.Reason);
            // What nvim-dap asks on a stop before the user presses continue.
            await editor.RequestAsync("threads", null, timeout.Token);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId, timeout.Token))[0];
            foreach (var scope in await editor.ScopesAsync(frame.Id, timeout.Token)) await editor.VariablesAsync(scope.VariablesReference, timeout.Token);
            var info = await editor.RequestAsync("exceptionInfo", new JsonObject { ["threadId"] = stopped.ThreadId }, timeout.Token);
            Assert.Contains("SystemExit", (string?)info["exceptionId"]);
            await editor.ContinueAsync(stopped.ThreadId, timeout.Token); // answered, and the old worker goes on exiting
        }
        var next = session.NextEvent("reattached", EventTimeout).GetProperty("pid").GetInt32();
        Assert.NotEqual(worker, next);
        await WaitUntilGoneAsync(worker, timeout.Token);
        await editor.WaitForEventAsync("output", e => ((string?)e["body"]?["output"] ?? "").Contains("breakpoints are set again", StringComparison.Ordinal), EventTimeout, timeout.Token);
        await TestNet.WaitUntilServingAsync(http, app);

        // The same editor, no new attach: the breakpoint was replayed into the new worker.
        Assert.Equal(next.ToString(), await StopOnceAsync(editor, () => http.GetStringAsync("/items/2")));
        if (!stopOnTheReloadersExit)
            Assert.DoesNotContain(editor.Events, e => (string?)e["event"] == "stopped" && (string?)e["body"]?["reason"] == "exception");
        await editor.DisconnectAsync(cancellationToken: timeout.Token);
        Assert.Equal(ExitCodes.Cancelled, await session.InterruptAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("ok", await http.GetStringAsync("/health", timeout.Token));
    }

    /// <summary>
    /// The same reload with every worker a child session (<c>--all</c>, an editor with <c>startDebugging</c>): the
    /// old worker's child session ends, the new worker's opens, and the request after the reload stops there.
    /// With <c>"flask": false</c> the old worker stops on its SystemExit(3) in its child session first, and the
    /// editor's continue lets it exit.
    /// </summary>
    [Theory(Timeout = 240_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFlaskReloadWithChildSessionsGoesOnInTheNewWorkersSession(bool stopOnTheReloadersExit)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(220));
        await using var flask = await FlaskUnderReloader.StartAsync();
        var (app, http, appFile) = (flask.App, flask.Http, flask.AppFile);
        var worker = await ChildOfAsync(app.Pid);
        var localPort = TestNet.FreePort();
        await using var session = WandSession.Start(["debug", "--pid", worker.ToString(), "--all", "--yes", "--port", localPort.ToString(), "--output", "json"]);
        Assert.Equal(worker, session.NextEvent("attached", EventTimeout).GetProperty("pid").GetInt32());

        var line = Testbed.BreakpointLine(appFile, "items");
        var configuration = stopOnTheReloadersExit ? new JsonObject { ["flask"] = false } : null;
        await using var editor = await ChildSessionEditor.AttachAsync(localPort, appFile, line, "read_item", configuration);
        await StopInChildSessionAsync(editor, http, $"PID {worker}", timeout.Token);

        await File.AppendAllTextAsync(Testbed.HostPath(appFile), "\n# edited by the test\n", timeout.Token);
        var next = session.NextEvent("reattached", EventTimeout).GetProperty("pid").GetInt32();
        await WaitUntilGoneAsync(worker, timeout.Token);
        await editor.WaitUntilAsync(e => e.ChildCount == 2 && e.EndedCount == 1, EventTimeout, "the old worker's session ended and the new one's opened");
        await TestNet.WaitUntilServingAsync(http, app);
        await StopInChildSessionAsync(editor, http, $"PID {next}", timeout.Token);
        editor.ThrowIfProblems();
    }

    /// <summary>A copy of the Flask sample (its own folder: the tests edit it) under werkzeug's reloader, serving.</summary>
    private sealed class FlaskUnderReloader : IAsyncDisposable
    {
        private readonly string _dir;

        private FlaskUnderReloader(string dir, TargetProcess app, HttpClient http)
        {
            _dir = dir;
            App = app;
            Http = http;
        }

        public TargetProcess App { get; }
        public HttpClient Http { get; }
        public string AppFile => $"{_dir}/app.py";

        public static async Task<FlaskUnderReloader> StartAsync()
        {
            var dir = $"/srv/flask-test-{Guid.NewGuid():N}";
            Directory.CreateDirectory(Testbed.HostPath(dir));
            File.Copy(Testbed.HostPath("/srv/apps/flask_app/app.py"), Testbed.HostPath($"{dir}/app.py"));
            var port = TestNet.FreePort();
            var flask = new FlaskUnderReloader(dir, TargetProcess.StartPython("3.14", [$"{dir}/app.py", port.ToString()]),
                new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) });
            try
            {
                await TestNet.WaitUntilServingAsync(flask.Http, flask.App);
                return flask;
            }
            catch
            {
                await flask.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.DisposeAsync();
            Directory.Delete(Testbed.HostPath(_dir), recursive: true);
        }
    }

    /// <summary>
    /// Requests the handler until the child session named <paramref name="name"/> counted a stop there (its
    /// session opens, then sets its breakpoint: a request before that runs through). Each stop is continued by the editor.
    /// </summary>
    private static async Task StopInChildSessionAsync(ChildSessionEditor editor, HttpClient http, string name, CancellationToken cancellationToken)
    {
        await Eventually.TrueAsync(async () =>
        {
            if (editor.Stops.GetValueOrDefault(name) > 0) return true;
            editor.ThrowIfProblems();
            Assert.Contains("\"item_id\"", await http.GetStringAsync("/items/1", cancellationToken));
            return false;
        }, EventTimeout, $"a stop in {name}", editor.Describe);
    }

    /// <summary>Sends one request, expects a stop at the handler's breakpoint, continues, and returns the PID that stopped.</summary>
    private static async Task<string> StopOnceAsync(DapClient editor, Func<Task<string>> request)
    {
        var response = request();
        var stopped = await editor.WaitForStoppedAsync(EventTimeout);
        Assert.Equal("breakpoint", stopped.Reason);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal("read_item", frame.Name);
        var pid = await editor.EvaluateAsync("pid", frame.Id);
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Contains("\"item_id\"", await response.WaitAsync(EventTimeout));
        return pid;
    }

    private static Task WaitUntilGoneAsync(int pid, CancellationToken cancellationToken) =>
        Eventually.TrueAsync(() => !cancellationToken.IsCancellationRequested ? !Directory.Exists($"/proc/{pid}") || IsZombie(pid) : throw new OperationCanceledException(cancellationToken),
            EventTimeout, $"the replaced worker {pid} to exit");

    private static bool IsZombie(int pid) => Wand.Transport.Local.ProcFs.Default.Stat(pid) is not { } stat || stat.State == 'Z';

    /// <summary>The werkzeug reloader's current worker (its only Python child).</summary>
    private static async Task<int> ChildOfAsync(int parent)
    {
        var child = 0;
        await Eventually.TrueAsync(
            () => (child = Directory.GetDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
                .FirstOrDefault(pid => pid > 0 && Wand.Transport.Local.ProcFs.Default.Stat(pid)?.ParentPid == parent)) > 0,
            TimeSpan.FromSeconds(10), $"the werkzeug reloader {parent} to have a worker");
        return child;
    }
}
