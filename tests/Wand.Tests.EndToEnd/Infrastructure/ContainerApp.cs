using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>The bundled FastAPI sample running in a container or pod, and an editor hitting its breakpoint from outside.</summary>
public static class ContainerApp
{
    public const string AppDir = "/srv/apps/fastapi_app";
    public const string AppFile = AppDir + "/app.py";

    /// <summary>uvicorn serving the sample on 127.0.0.1:8000 inside the container (its own network namespace).</summary>
    public static string[] Uvicorn(bool reload) =>
        ["/usr/bin/python3.14", "-m", "uvicorn", "--app-dir", AppDir, "app:app", "--port", "8000", .. reload ? new[] { "--reload", "--reload-dir", AppDir } : []];

    /// <summary>gunicorn (the container's PID 1) with <paramref name="workers"/> uvicorn workers serving the sample on 127.0.0.1:8000.</summary>
    public static string[] Gunicorn(int workers) =>
        ["/usr/bin/python3.14", "-m", "gunicorn", "-w", workers.ToString(), "-k", "uvicorn.workers.UvicornWorker", "--chdir", AppDir, "-b", "127.0.0.1:8000", "app:app"];

    /// <summary>gunicorn's worker PIDs (gunicorn children of PID 1) inside the container.</summary>
    public static async Task<List<int>> GunicornWorkersAsync(TestContainer c) =>
        (await c.PythonAsync("import os\nfor p in os.listdir('/proc'):\n    if p.isdigit() and open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1] == '1' and b'gunicorn' in open(f'/proc/{p}/cmdline', 'rb').read(): print(p)"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

    public static Task WaitUntilServingAsync(TestContainer c) =>
        Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await c.PythonAsync("import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=1)");
                    return true;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60), $"the app in {c.Name} to serve /health");

    /// <summary>A request made inside the container (its loopback is not this machine's).</summary>
    public static Task<string> GetInsideAsync(TestContainer c, string path) =>
        c.PythonAsync($"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000{path}', timeout=60).read().decode())");

    /// <summary><paramref name="count"/> requests at once, made inside the container; returns their responses.</summary>
    public static async Task<string[]> GetManyInsideAsync(TestContainer c, string path, int count) =>
        (await c.PythonAsync("import concurrent.futures, urllib.request\n"
            + $"get = lambda i: urllib.request.urlopen('http://127.0.0.1:8000{path}', timeout=60).read().decode()\n"
            + $"with concurrent.futures.ThreadPoolExecutor({count}) as pool: print('\\n'.join(pool.map(get, range({count}))))"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// Attaches an editor through wand's forward on <paramref name="localPort"/>, hits the handler's
    /// breakpoint with a request made inside the container, checks frame and locals, continues, and
    /// returns the PID that stopped.
    /// </summary>
    public static async Task<string> HitBreakpointAsync(TestContainer c, int localPort, string query)
    {
        var line = Testbed.BreakpointLine(AppFile, "items");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", localPort);
        var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [AppFile] = [line] });
        Assert.True(attached.Breakpoints[AppFile][0].Verified);
        var request = GetInsideAsync(c, $"/items/21?q={query}");
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("read_item", AppFile, line), (frame.Name, frame.SourcePath, frame.Line));
        Assert.Equal($"'{query}'", await editor.EvaluateAsync("q", frame.Id));
        var pid = await editor.EvaluateAsync("__import__('os').getpid()", frame.Id);
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Contains($"\"q\":\"{query}\"", await request.WaitAsync(TimeSpan.FromSeconds(60)));
        await editor.DisconnectAsync();
        return pid;
    }

    /// <summary>Sends one request, expects <paramref name="editor"/> to stop at the handler's breakpoint, continues, returns the PID that stopped.</summary>
    public static async Task<string> StopOnceAsync(DapClient editor, Func<Task<string>> request)
    {
        var response = request();
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal("read_item", frame.Name);
        var pid = await editor.EvaluateAsync("__import__('os').getpid()", frame.Id);
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Contains("\"item_id\"", await response.WaitAsync(TimeSpan.FromSeconds(60)));
        return pid;
    }

    /// <summary>wand's proxy tells the editor (console output) when a new process has its breakpoints.</summary>
    public static Task WaitUntilArmedAsync(DapClient editor) =>
        editor.WaitForEventAsync("output", e => e["body"]?["output"]?.GetValue<string>().Contains("breakpoints are set again", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(60));
}
