using System.Diagnostics;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>The remote_debug Python module: under <c>rdg debug</c>, and in plain python after <c>rdg api --path</c>.</summary>
public sealed class RdgApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-api-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private const string Program = """
        import remote_debug
        host, port, path = remote_debug.start_debugger(wait=False)
        again = remote_debug.start_debugger(wait=False)
        print("endpoint", port, path, again[1] == port, flush=True)
        x = 41
        remote_debug.pause()
        print("after pause", x + 1, flush=True)  # BREAKPOINT: after
        """;

    private async Task PauseStopsInTheCallerAsync(string host, int port, string script)
    {
        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: after", StringComparison.Ordinal)) + 1;
        await using var editor = await DapClient.ConnectAsync(host, port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("<module>", script, line), (frame.Name, frame.SourcePath, frame.Line));
        var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals" || s.Name == "Globals");
        Assert.Equal("41", (await editor.VariablesAsync(locals.VariablesReference)).Single(v => v.Name == "x").Value);
        await editor.ContinueAsync(stopped.ThreadId);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task UnderRdgDebugTheApiReusesRdgsServerAndPauseStopsInTheCaller()
    {
        var script = Path.Combine(_dir, "api.py");
        await File.WriteAllTextAsync(script, Program);
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "--no-wait", "--port", port.ToString(), RdgProcess.HostPython("3.13"), "api.py"], RdgProcess.Env(Path.Combine(_dir, "s")), _dir);
        Assert.Contains($"endpoint {port} {_dir} True", await rdg.WaitForLineAsync("endpoint"));
        await PauseStopsInTheCallerAsync("127.0.0.1", port, script);
        Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await rdg.WaitForLineAsync("after pause 42");
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task InPlainPythonAfterRdgApiPath()
    {
        var script = Path.Combine(_dir, "api.py");
        await File.WriteAllTextAsync(script, Program);
        var api = await RdgProcess.RunAsync(["api", "--path"], RdgProcess.Env(Path.Combine(_dir, "sessions")), _dir);
        Assert.Equal(0, api.ExitCode);
        var folder = api.Stdout.Trim();
        Assert.True(File.Exists(Path.Combine(folder, "remote_debug.py")));

        var port = TestNet.FreePort();
        var psi = new ProcessStartInfo(RdgProcess.HostPython("3.14")) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add(script);
        psi.Environment["PYTHONPATH"] = folder;
        psi.Environment["RDG_PORT"] = port.ToString();
        foreach (var v in new[] { "SSH_CONNECTION", "SLURM_SUBMIT_HOST", "RDG_LOGIN_HOST", "SLURM_JOB_ID" }) psi.Environment.Remove(v);
        using var python = Process.Start(psi)!;
        try
        {
            var stdout = python.StandardOutput.ReadToEndAsync();
            var stderr = python.StandardError.ReadToEndAsync();
            await Eventually.TrueAsync(() => TestNet.IsListening(port) || python.HasExited, TimeSpan.FromSeconds(30), $"debugpy to listen on {port}"); // the socket table, never a probe
            await PauseStopsInTheCallerAsync("127.0.0.1", port, script);
            await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, python.ExitCode);
            Assert.Contains($"endpoint {port} {_dir} True", await stdout);
            Assert.Contains("after pause 42", await stdout);
            var info = await stderr;
            Assert.Contains($"Port: {port}", info);
            Assert.Contains("Address: 127.0.0.1", info);
        }
        finally
        {
            if (!python.HasExited) python.Kill(entireProcessTree: true);
        }
    }
}
