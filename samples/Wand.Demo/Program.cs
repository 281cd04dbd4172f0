using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Testing;

// The README demo: the bundled FastAPI sample runs under uvicorn inside the testbed rootfs (a root
// of its own, as in a container); `wand debug` starts debugpy in it without a restart; then this
// program acts as an editor would, over the Debug Adapter Protocol.
var rootfs = Path.Combine(Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed", "rootfs");
const string AppDir = "/srv/apps/fastapi_app";
var appFile = $"{AppDir}/app.py";
var breakpointLine = Array.FindIndex(File.ReadAllLines(rootfs + appFile), l => l.Contains("# BREAKPOINT: items")) + 1;
var appPort = FreePort();
var debugPort = FreePort();

Title("1. The application: the bundled FastAPI sample under uvicorn, in its own root");
var app = Start("chroot", rootfs, "/usr/bin/python3.14", "-m", "uvicorn", "--app-dir", AppDir, "app:app", "--host", "127.0.0.1", "--port", appPort.ToString());
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{appPort}"), Timeout = TimeSpan.FromSeconds(60) };
try
{
    await WaitUntilServingAsync();
    Console.WriteLine($"   uvicorn PID {app.Id} serves http://127.0.0.1:{appPort}; GET /items/21 -> {await http.GetStringAsync("/items/21")}");

    Title($"2. wand debug --detach --pid {app.Id} --port {debugPort}   (no restart, the app keeps serving)");
    var wand = Path.Combine(AppContext.BaseDirectory, "wand.dll");
    Check(await RunAsync("dotnet", wand, "debug", "--detach", "--pid", app.Id.ToString(), "--port", debugPort.ToString(), "--yes") == 0, "wand debug failed");

    Title($"3. An editor connects to 127.0.0.1:{debugPort} and sets a breakpoint at {appFile}:{breakpointLine}");
    await using var editor = await DapClient.ConnectAsync("127.0.0.1", debugPort);
    var attach = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [appFile] = [breakpointLine] });
    Console.WriteLine($"   breakpoint verified: {attach.Breakpoints[appFile][0].Verified}");

    Title("4. A request arrives: GET /items/21?q=wand");
    var request = http.GetStringAsync("/items/21?q=wand");
    var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(30));
    var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
    Console.WriteLine($"   stopped ({stopped.Reason}) in {frame.Name}() at {frame.SourcePath}:{frame.Line}");
    var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name.StartsWith("Locals", StringComparison.Ordinal));
    foreach (var v in await editor.VariablesAsync(locals.VariablesReference))
        if (!v.Name.StartsWith("__", StringComparison.Ordinal) && !v.Name.Contains("variables", StringComparison.Ordinal))
            Console.WriteLine($"   {v.Name,-10} = {Shorten(v.Value)}");
    foreach (var expression in new[] { "request.method", "str(request.url)", "request.headers.get('host')", "doubled + 1" })
        Console.WriteLine($"   evaluate {expression,-30} -> {await editor.EvaluateAsync(expression, frame.Id)}");
    Check(!request.IsCompleted, "the request should be held at the breakpoint");

    Title("5. Continue: the request completes");
    await editor.ContinueAsync(stopped.ThreadId);
    Console.WriteLine($"   response: {await request.WaitAsync(TimeSpan.FromSeconds(30))}");
    await editor.DisconnectAsync();

    Title($"6. wand debug --pid {app.Id} --stop   (debugpy goes away, the app keeps serving)");
    Check(await RunAsync("dotnet", wand, "debug", "--pid", app.Id.ToString(), "--stop") == 0, "wand debug --stop failed");
    Console.WriteLine($"   GET /health -> {await http.GetStringAsync("/health")}");
    Console.WriteLine("\nDone: a live process was debugged with a real breakpoint, without a restart.");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"\ndemo failed: {e.Message}");
    return 1;
}
finally
{
    app.Kill(entireProcessTree: true);
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static void Title(string text) => Console.WriteLine($"\n== {text}");

static void Check(bool condition, string message)
{
    if (!condition) throw new InvalidOperationException(message);
}

static string Shorten(string value) => value.Length > 90 ? value[..87] + "..." : value;

static Process Start(string file, params string[] args)
{
    var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in args) psi.ArgumentList.Add(a);
    var p = Process.Start(psi)!;
    p.OutputDataReceived += (_, _) => { };
    p.ErrorDataReceived += (_, _) => { };
    p.BeginOutputReadLine();
    p.BeginErrorReadLine();
    return p;
}

static async Task<int> RunAsync(string file, params string[] args)
{
    var psi = new ProcessStartInfo(file);
    foreach (var a in args) psi.ArgumentList.Add(a);
    using var p = Process.Start(psi)!;
    await p.WaitForExitAsync();
    return p.ExitCode;
}

async Task WaitUntilServingAsync()
{
    await Eventually.TrueAsync(async () =>
    {
        if (app.HasExited) throw new InvalidOperationException("the sample app ended before it served");
        try
        {
            await http.GetStringAsync("/health");
            return true;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }, TimeSpan.FromSeconds(30), "the sample app to answer /health");
}
