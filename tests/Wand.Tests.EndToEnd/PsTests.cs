using System.Net.Http;
using System.Net.Sockets;
using System.Text.Json;
using Wand.Errors;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary><c>wand ps</c> against real interpreters and a real uvicorn in the testbed rootfs (chrooted, so every target has its own root).</summary>
public class PsTests
{
    private const string Loop = """
        import time
        print("ready", flush=True)
        while True:
            time.sleep(0.02)
        """;

    /// <summary>The exact versions the testbed installed (tests/testbed/provision.sh writes them).</summary>
    private static string TestbedVersion(string minor)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Testbed.HostPath("/.wand-testbed.json")));
        return doc.RootElement.GetProperty("pythons").GetProperty(minor).GetProperty("version").GetString()!;
    }

    /// <summary>Runs <c>wand ps ARGS --output json</c>, checks that stdout is nothing but a JSON array, and returns its elements.</summary>
    private static async Task<List<JsonElement>> PsJsonAsync(IEnumerable<string> args, string? user = null)
    {
        var r = await WandCli.RunAsync(["ps", .. args, "--output", "json"], user: user);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout); // throws if anything but JSON reached stdout
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static async Task<JsonElement> PsOneAsync(int pid, string? user = null)
    {
        var list = await PsJsonAsync(["--pid", pid.ToString()], user);
        var p = Assert.Single(list);
        Assert.Equal(pid, p.GetProperty("pid").GetInt32());
        return p;
    }

    private static string State(JsonElement p) => p.GetProperty("attach").GetProperty("state").GetString()!;

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task Python314ScriptIsAttachable()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.14");
        await target.WaitForOutputAsync("ready");

        var p = await PsOneAsync(target.Pid);
        Assert.Equal(TestbedVersion("3.14"), p.GetProperty("version").GetString());
        Assert.True(State(p) == "attachable", p.ToString());
        Assert.Equal("main", p.GetProperty("role").GetString());
        Assert.Equal(Environment.ProcessId, p.GetProperty("parentPid").GetInt32());
        Assert.Equal(0, p.GetProperty("uid").GetInt32());
        Assert.Equal("root", p.GetProperty("user").GetString());
        // chroot: the root and (after chroot's chdir("/")) the cwd are the rootfs as the host sees it
        Assert.Equal(Testbed.Root, p.GetProperty("root").GetString());
        Assert.Equal(Testbed.Root, p.GetProperty("cwd").GetString());
        Assert.Equal(["/usr/bin/python3.14", "-c", Loop], p.GetProperty("commandLine").EnumerateArray().Select(a => a.GetString()!).ToArray());
        Assert.InRange(p.GetProperty("rssBytes").GetInt64(), 1L << 20, 1L << 30);
        Assert.InRange(p.GetProperty("uptimeSeconds").GetDouble(), 0, 120);
        Assert.InRange(p.GetProperty("cpuPercent").GetDouble(), 0, 100);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TableListsTheProcessWithItsVersionAndAttachability()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.14");
        await target.WaitForOutputAsync("ready");

        var r = await WandCli.RunAsync(["ps"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["PID", "PPID", "USER", "PYTHON", "ROLE", "CPU%", "RSS", "UPTIME", "ATTACH", "COMMAND"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = Assert.Single(lines, l => l.StartsWith(target.Pid + " ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([target.Pid.ToString(), Environment.ProcessId.ToString(), "root", TestbedVersion("3.14"), "main"], row[..5]);
        Assert.Equal("yes", row[8]);
        Assert.Equal("/usr/bin/python3.14", row[9]);
        Assert.DoesNotContain(lines, l => l.StartsWith(Environment.ProcessId + " ", StringComparison.Ordinal)); // the test host is not Python
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task Python313IsAttachableThroughPtrace()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.13");
        await target.WaitForOutputAsync("ready");

        var p = await PsOneAsync(target.Pid);
        Assert.Equal(TestbedVersion("3.13"), p.GetProperty("version").GetString());
        Assert.True(State(p) == "attachable", p.ToString());
        Assert.Contains("ptrace", p.GetProperty("attach").GetProperty("reason").GetString());
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task RemoteDebugDisabledByEnvironment()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.14", env: new Dictionary<string, string> { ["PYTHON_DISABLE_REMOTE_DEBUG"] = "1" });
        await target.WaitForOutputAsync("ready");

        var p = await PsOneAsync(target.Pid);
        Assert.Equal(TestbedVersion("3.14"), p.GetProperty("version").GetString());
        Assert.True(State(p) == "remoteDebugDisabled", p.ToString());
        Assert.Contains("PYTHON_DISABLE_REMOTE_DEBUG", p.GetProperty("attach").GetProperty("reason").GetString());
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task OtherUserSeesPermissionDenied()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.14");
        await target.WaitForOutputAsync("ready");

        // 65534 is nobody (by number: setpriv cannot resolve the group "nobody", which Debian calls nogroup)
        var p = await PsOneAsync(target.Pid, user: "65534");
        Assert.True(State(p) == "permissionDenied", p.ToString());
        Assert.Equal("root", p.GetProperty("user").GetString());
        Assert.Equal("3.14", p.GetProperty("version").GetString()); // from the file name: the maps are out of reach
        Assert.Equal(JsonValueKind.Null, p.GetProperty("root").ValueKind);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task JsonOutputIsOnlyJsonAndContainsThePid()
    {
        await using var target = TargetProcess.StartScript(Loop, "3.14");
        await target.WaitForOutputAsync("ready");

        var all = await PsJsonAsync([]);
        var p = Assert.Single(all, e => e.GetProperty("pid").GetInt32() == target.Pid);
        Assert.Equal("attachable", State(p));
        Assert.DoesNotContain(all, e => e.GetProperty("pid").GetInt32() == Environment.ProcessId);
        Assert.All(all, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("attach").GetProperty("reason").GetString())));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task UvicornReloaderAndItsWorker()
    {
        var port = FreePort();
        await using var target = TargetProcess.StartPython("3.14",
            ["-m", "uvicorn", "--app-dir", "/srv/apps/fastapi_app", "app:app", "--port", port.ToString(), "--reload"]);
        await WaitForHttpAsync(target, $"http://127.0.0.1:{port}/health");

        var all = await PsJsonAsync([]);
        var parent = Assert.Single(all, e => e.GetProperty("pid").GetInt32() == target.Pid);
        Assert.Equal("reloaderParent", parent.GetProperty("role").GetString());
        Assert.Equal("uvicorn reloader", parent.GetProperty("roleDetail").GetString());

        var children = all.Where(e => e.GetProperty("parentPid").GetInt32() == target.Pid).ToList();
        var worker = Assert.Single(children, e => e.GetProperty("role").GetString() == "worker");
        Assert.Equal($"uvicorn worker of {target.Pid}", worker.GetProperty("roleDetail").GetString());
        Assert.Contains("spawn_main", string.Join(' ', worker.GetProperty("commandLine").EnumerateArray().Select(a => a.GetString())));
        Assert.Equal("attachable", State(worker));
        Assert.All(children.Where(c => c.GetProperty("pid").GetInt32() != worker.GetProperty("pid").GetInt32()),
            c => Assert.Equal("helper", c.GetProperty("role").GetString())); // multiprocessing's resource tracker

        // --pid alone still works the role out from the parent and the children
        var one = await PsOneAsync(worker.GetProperty("pid").GetInt32());
        Assert.Equal("worker", one.GetProperty("role").GetString());
        Assert.Equal("reloaderParent", (await PsOneAsync(target.Pid)).GetProperty("role").GetString());
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task NotPythonAndMissingProcessAreErrors()
    {
        var notPython = await WandCli.RunAsync(["ps", "--pid", Environment.ProcessId.ToString(), "--output", "json"]);
        Assert.True(notPython.ExitCode == ExitCodes.NotPython, notPython.ToString());
        Assert.Equal("", notPython.Stdout);
        Assert.Contains("not a CPython process", notPython.Stderr);

        var missing = await WandCli.RunAsync(["ps", "--pid", "999999999"]);
        Assert.True(missing.ExitCode == ExitCodes.ProcessNotFound, missing.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForHttpAsync(TargetProcess target, string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync(
            async () =>
            {
                if (target.HasExited) throw new InvalidOperationException($"uvicorn exited. stderr:\n{target.Stderr}");
                try
                {
                    return (await http.GetAsync(url)).IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false; // not listening yet
                }
            },
            TimeSpan.FromSeconds(60), $"uvicorn to answer {url}", () => "stderr:\n" + target.Stderr);
    }
}
