using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>rdg debug --lite</c> + <c>rdg attach</c> without Slurm (a workstation or an SSH host): activation
/// while the main thread is blocked in a C call, and zero-prep attach to an unprepared Python 3.13 (ptrace) and 3.14 (PEP 768).
/// </summary>
[Collection(TargetRootCollection.Name)]
public sealed class RdgAttachTests : IDisposable
{
    private static readonly TimeSpan Stop = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-e2e-").FullName;
    private readonly string _sessions;

    public RdgAttachTests() => _sessions = Path.Combine(_dir, "sessions");

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

    /// <summary>The main thread waits in readline (a C call that releases the GIL) until the test writes a line.</summary>
    public const string Blocked = """
        import sys
        print("ready", flush=True)
        line = sys.stdin.readline()
        value = line.strip()  # BREAKPOINT: after
        print("got", value, flush=True)
        """;

    /// <summary>Without Slurm configured (no SLURM_CONF: squeue fails at once), attach looks at this machine.</summary>
    private Dictionary<string, string> Env() => RdgProcess.Env(_sessions);

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    public async Task LiteIsActivatedWhileTheMainThreadIsBlockedInACCall(string version)
    {
        var script = Path.Combine(_dir, "lite.py");
        await File.WriteAllTextAsync(script, Blocked);
        await using var rdg = RdgProcess.Start(["debug", "--lite", RdgProcess.HostPython(version), "lite.py"], Env(), _dir);
        await rdg.WaitForLineAsync("[Lite Debugger] Armed");
        await rdg.WaitForLineAsync("ready");
        var pid = int.Parse((await rdg.WaitForLineAsync("PID:")).Split(':')[1].Trim());
        Assert.Contains($"rdg attach {pid}", await rdg.WaitForLineAsync("To activate the debugger"));
        var armed = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(_sessions, "*.json").Single())).RootElement;
        Assert.Equal(("lite", "armed"), (armed.GetProperty("mode").GetString(), armed.GetProperty("state").GetString()));
        Assert.DoesNotContain("debugpy", File.ReadAllText($"/proc/{pid}/maps")); // nothing loaded

        // The main thread sits in readline; rdg attach finds the armed process by itself and activates it.
        var attach = await RdgProcess.RunAsync(["attach", pid.ToString()], Env(), _dir);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        var port = int.Parse(attach.Stdout.Split('\n').Single(l => l.StartsWith("Port: ", StringComparison.Ordinal))[6..]);
        Assert.Contains("Mode: lite", attach.Stdout);
        Assert.Contains("the debugger was activated", await rdg.WaitForLineAsync("the debugger was activated"));
        var record = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(_sessions, "*.json").Single())).RootElement;
        Assert.Equal(("listening", port), (record.GetProperty("state").GetString(), record.GetProperty("port").GetInt32()));

        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: after", StringComparison.Ordinal)) + 1;
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
            await rdg.SendLineAsync("hello");
            var stopped = await editor.WaitForStoppedAsync(Stop);
            var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
            Assert.Equal(("<module>", script, line), (frame.Name, frame.SourcePath, frame.Line));
            var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals");
            Assert.Equal("'hello\\n'", (await editor.VariablesAsync(locals.VariablesReference)).Single(v => v.Name == "line").Value);
            await editor.ContinueAsync(stopped.ThreadId);
            Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        await rdg.WaitForLineAsync("got hello");
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13")] // through ptrace (Injection/Ptrace)
    [InlineData("3.14")]
    public async Task AnUnpreparedPythonIsAttachedWithZeroPreparation(string version)
    {
        await using var target = TargetProcess.StartPython(version, ["/srv/apps/loop.py"]);
        await target.WaitUntilRunningAsync();
        var port = TestNet.FreePort();
        var attach = await RdgProcess.RunAsync(["attach", target.Pid.ToString(), "--port", port.ToString()], Env(), _dir);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        Assert.Contains("with zero preparation", attach.Stderr);
        Assert.Contains("Mode: attached", attach.Stdout);
        Assert.Contains($"Port: {port}", attach.Stdout);
        var line = Testbed.BreakpointLine("/srv/apps/loop.py", "tick");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { ["/srv/apps/loop.py"] = [line] });
            var stopped = await editor.WaitForStoppedAsync(Stop);
            Assert.Equal(("tick", line), ((await editor.StackTraceAsync(stopped.ThreadId))[0].Name, (await editor.StackTraceAsync(stopped.ThreadId))[0].Line));
            await editor.DisconnectAsync();
        }
        var stop = await WandCli.RunAsync(["debug", "--pid", target.Pid.ToString(), "--stop"]);
        Assert.True(stop.ExitCode == 0, stop.ToString());
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task APidThatIsNotAPythonOfTheUserIsRefused()
    {
        var result = await RdgProcess.RunAsync(["attach", "1"], Env(), _dir);
        Assert.Equal(ExitCodes.ProcessNotFound, result.ExitCode);
        Assert.Contains("PID 1 is not one of your Python processes on this machine", result.Stderr);
    }
}
