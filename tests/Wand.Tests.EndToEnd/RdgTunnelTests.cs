using System.Diagnostics;
using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>rdg tunnel</c> through a real sshd on 127.0.0.1 (tests/testbed/sshd.sh): it reads the session
/// record over SSH, forwards a local port to the debugger, survives ssh dying, and a DAP client hits a
/// breakpoint through it.
/// </summary>
public sealed class RdgTunnelTests : IDisposable
{
    private static readonly Lazy<(string Port, string Key)> Sshd = new(StartSshd);
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-tunnel-").FullName;

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

    private static (string, string) StartSshd()
    {
        var psi = new ProcessStartInfo(Path.Combine(Testbed.RepoRoot, "tests/testbed/sshd.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)) || p.ExitCode != 0)
            throw new InvalidOperationException($"tests/testbed/sshd.sh failed (sshd is required for these tests):\n{stderr.Result}");
        var fields = stdout.Result.Trim().Split('\n')[^1].Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        return (fields["PORT"], fields["KEY"]);
    }

    private const string Loop = """
        import time


        def train_step(step):
            loss = 1.0 / (step + 1)  # BREAKPOINT: loop
            return loss


        step = 0
        while True:
            train_step(step)
            step += 1
            time.sleep(0.05)
        """;

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TunnelReadsTheSessionOverSshForwardsReconnectsAndADapClientHitsABreakpoint()
    {
        var (sshPort, key) = Sshd.Value;
        var sessions = Path.Combine(_dir, "sessions");
        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var port = TestNet.FreePort();
        await using var job = RdgProcess.Start(["debug", "--no-wait", "--port", port.ToString(), RdgProcess.HostPython("3.14"), "train.py"], RdgProcess.Env(sessions), _dir);
        await job.WaitForLineAsync("Port:");

        var local = TestNet.FreePort();
        var workspace = Directory.CreateDirectory(Path.Combine(_dir, "laptop")).FullName;
        await using var tunnel = RdgProcess.Start(["tunnel", "--via", "root@127.0.0.1", "--local-port", local.ToString(), "--write-launch-json", workspace,
            "--ssh-option", $"Port={sshPort}", "--ssh-option", $"IdentityFile={key}", "--ssh-option", "StrictHostKeyChecking=no",
            "--ssh-option", "UserKnownHostsFile=/dev/null", "--ssh-option", $"SetEnv=RDG_SESSION_DIR={sessions}"], RdgProcess.Env(Path.Combine(_dir, "laptop-sessions")));
        var up = await tunnel.WaitForLineAsync("tunnel up");
        Assert.Contains($"localhost:{local} -> 127.0.0.1:{port}", up);
        Assert.Contains($"\"port\": {local}", tunnel.Stdout);
        Assert.Contains($"\"remoteRoot\": \"{_dir}\"", tunnel.Stdout);
        var launch = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(workspace, ".vscode/launch.json")))!;
        var tunnelConfig = launch["configurations"]!.AsArray().Single(c => (string?)c!["name"] == Wand.Hpc.LaunchJsonSettings.TunnelName)!;
        Assert.Equal(local, (int)tunnelConfig["connect"]!["port"]!);
        Assert.Equal(_dir, (string?)tunnelConfig["pathMappings"]![0]!["remoteRoot"]);

        await HitAsync(local, script);

        // The tunnel's ssh dies: rdg tunnel brings it back by itself.
        var sshPid = ForwardOf(up).SshPid;
        Process.GetProcessById(sshPid).Kill();
        await WaitForCountAsync(tunnel, "tunnel up", 2);
        Assert.Contains("reconnecting", tunnel.Stderr);
        await HitAsync(local, script);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task TheSameEditorSessionSurvivesTheSshConnectionDroppingAndStopsAgainWithoutANewAttach()
    {
        var (sshPort, key) = Sshd.Value;
        var (job, script, line) = await StartJobAsync();
        await using var _ = job;
        var local = TestNet.FreePort();
        await using var tunnel = StartTunnel(local, sshPort, key);
        var up = await tunnel.WaitForLineAsync("tunnel up");
        Assert.Contains($"\"port\": {local}", tunnel.Stdout); // the editor keeps using the user's port
        Assert.DoesNotContain("ControlMaster", up);
        Assert.NotEqual(local, ForwardOf(up).ForwardPort); // ssh forwards an internal port; rdg's proxy holds the user's

        await DropAndResumeAsync(tunnel, local, script, line, () =>
        {
            // The ssh child of rdg tunnel (found by its parent PID) dies: the connection is gone.
            var ssh = Assert.Single(SshChildren(tunnel.Pid));
            Assert.Equal(ForwardOf(up).SshPid, ssh);
            Process.GetProcessById(ssh).Kill();
        });
        var again = tunnel.Stderr.Split('\n').Last(l => l.Contains("tunnel up again", StringComparison.Ordinal));
        Assert.NotEqual(ForwardOf(up).SshPid, ForwardOf(again).SshPid);
        Assert.Equal([ForwardOf(again).SshPid], SshChildren(tunnel.Pid));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task WithTheUsersSshControlMasterTheForwardRidesOnItAndTheSessionSurvivesTheMasterDying()
    {
        var (sshPort, key) = Sshd.Value;
        var (job, script, line) = await StartJobAsync();
        await using var _ = job;
        var control = Path.Combine(_dir, "cm.sock");
        var master = StartControlMaster(sshPort, key, control);
        try
        {
            var local = TestNet.FreePort();
            await using var tunnel = StartTunnel(local, sshPort, key, $"ControlPath={control}");
            var up = await tunnel.WaitForLineAsync("tunnel up");
            Assert.Contains("ControlMaster", up);
            Assert.Equal(master, ForwardOf(up).SshPid);
            Assert.Empty(SshChildren(tunnel.Pid)); // no connection of its own: the master listens

            // The shared connection dies; rdg tunnel then connects by itself, and the same editor goes on.
            await DropAndResumeAsync(tunnel, local, script, line, () => Process.GetProcessById(master).Kill());
            var again = tunnel.Stderr.Split('\n').Last(l => l.Contains("tunnel up again", StringComparison.Ordinal));
            Assert.DoesNotContain("ControlMaster", again);
            Assert.Equal([ForwardOf(again).SshPid], SshChildren(tunnel.Pid));
        }
        finally
        {
            try
            {
                Process.GetProcessById(master).Kill();
            }
            catch (ArgumentException)
            {
                // already gone
            }
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task WhenRdgTunnelStopsTheForwardItAddedToTheUsersControlMasterIsCancelled()
    {
        var (sshPort, key) = Sshd.Value;
        var (job, _, _) = await StartJobAsync();
        await using var __ = job;
        var control = Path.Combine(_dir, "cm2.sock");
        var master = StartControlMaster(sshPort, key, control);
        try
        {
            var tunnel = StartTunnel(TestNet.FreePort(), sshPort, key, $"ControlPath={control}");
            var forward = ForwardOf(await tunnel.WaitForLineAsync("tunnel up")).ForwardPort;
            Assert.True(Listening(forward));
            await tunnel.DisposeAsync(); // SIGTERM, as Ctrl-C
            await Eventually.TrueAsync(() => !Listening(forward), TimeSpan.FromSeconds(10), $"the master to stop forwarding 127.0.0.1:{forward}", () => tunnel.ToString()!);
            Assert.True(Process.GetProcessById(master) is { HasExited: false }); // the user's connection stays
        }
        finally
        {
            Process.GetProcessById(master).Kill();
        }
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ALocalPortInUseIsRefusedWithHowToPickAnother()
    {
        var (sshPort, key) = Sshd.Value;
        var (job, _, _) = await StartJobAsync();
        await using var __ = job;
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            await using var tunnel = StartTunnel(port, sshPort, key);
            Assert.Equal(Wand.Errors.ExitCodes.PortInUse, await tunnel.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains($"local port {port} is already in use", tunnel.Stderr);
            Assert.Contains("--local-port", tunnel.Stderr);
        }
        finally
        {
            taken.Stop();
        }
    }

    private static bool Listening(int port) =>
        Wand.Transport.Local.ProcFs.Default.ListeningSockets().Any(s => s.Port == port);

    private async Task<(RdgProcess Job, string Script, int Line)> StartJobAsync()
    {
        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: loop", StringComparison.Ordinal)) + 1;
        var port = TestNet.FreePort();
        var job = RdgProcess.Start(["debug", "--no-wait", "--port", port.ToString(), RdgProcess.HostPython("3.14"), "train.py"], RdgProcess.Env(Path.Combine(_dir, "sessions")), _dir);
        await job.WaitForLineAsync("Port:");
        return (job, script, line);
    }

    private RdgProcess StartTunnel(int local, string sshPort, string key, params string[] moreSshOptions) =>
        RdgProcess.Start(["tunnel", "--via", "root@127.0.0.1", "--local-port", local.ToString(),
            .. SshOptions(sshPort, key).Concat(moreSshOptions).SelectMany(o => new[] { "--ssh-option", o })], RdgProcess.Env(Path.Combine(_dir, "laptop-sessions")));

    private string[] SshOptions(string sshPort, string key) =>
        [$"Port={sshPort}", $"IdentityFile={key}", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", $"SetEnv=RDG_SESSION_DIR={Path.Combine(_dir, "sessions")}"];

    /// <summary>A user's shared connection (ControlMaster, ControlPersist) on <paramref name="control"/>; returns the master's PID.</summary>
    private int StartControlMaster(string sshPort, string key, string control)
    {
        var psi = new ProcessStartInfo("ssh");
        foreach (var o in SshOptions(sshPort, key).Concat(["BatchMode=yes", "LogLevel=ERROR", "ControlMaster=yes", $"ControlPath={control}", "ControlPersist=yes"]))
        {
            psi.ArgumentList.Add("-o");
            psi.ArgumentList.Add(o);
        }
        psi.ArgumentList.Add("-fN");
        psi.ArgumentList.Add("root@127.0.0.1");
        using (var start = Process.Start(psi)!)
        {
            Assert.True(start.WaitForExit(TimeSpan.FromSeconds(60)), "ssh -fN did not return");
            Assert.Equal(0, start.ExitCode);
        }
        var check = new ProcessStartInfo("ssh") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-o", $"ControlPath={control}", "-O", "check", "root@127.0.0.1" }) check.ArgumentList.Add(a);
        using var p = Process.Start(check)!;
        var said = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Contains("Master running (pid=", said);
        return int.Parse(said.Split("pid=")[1].Split(')')[0]);
    }

    /// <summary>
    /// An editor hits the breakpoint through the tunnel; <paramref name="drop"/> breaks the SSH connection
    /// while it is stopped there; the SAME editor session (no new attach) is told its thread exited and,
    /// once rdg tunnel reconnected, stops at the breakpoint again.
    /// </summary>
    private static async Task DropAndResumeAsync(RdgProcess tunnel, int local, string script, int line, Action drop)
    {
        try
        {
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", local);
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
            var first = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
            var top = (await editor.StackTraceAsync(first.ThreadId))[0];
            Assert.Equal(("train_step", line), (top.Name, top.Line));

            drop();
            var exited = await editor.WaitForEventAsync("thread", e => (string?)e["body"]!["reason"] == "exited", TimeSpan.FromSeconds(60));
            Assert.Equal(first.ThreadId, (int)exited["body"]!["threadId"]!);
            await editor.WaitForEventAsync("output", e => ((string?)e["body"]!["output"] ?? "").Contains("went away", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

            await WaitForCountAsync(tunnel, "tunnel up", 2);
            var second = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(90));
            var frame = (await editor.StackTraceAsync(second.ThreadId))[0];
            Assert.Equal(("train_step", line), (frame.Name, frame.Line));
            await editor.WaitForEventAsync("output", e => ((string?)e["body"]!["output"] ?? "").Contains("breakpoints are set again", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            Assert.False(editor.Completion.IsCompleted, "the editor's connection ended");

            // An id from before the drop is refused, not sent to the new connection.
            var stale = await Assert.ThrowsAsync<DapRequestFailedException>(() => editor.StackTraceAsync(first.ThreadId));
            Assert.NotEmpty(stale.AdapterMessage);

            await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = script }, ["breakpoints"] = new JsonArray() });
            await editor.ContinueAsync(second.ThreadId);
            await editor.DisconnectAsync();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{e.Message}\nrdg tunnel:\n{tunnel}", e);
        }
        Assert.Contains("reconnecting", tunnel.Stderr);
    }

    /// <summary>The ssh PID and internal forward port of a "tunnel up" line.</summary>
    private static (int SshPid, int ForwardPort) ForwardOf(string up)
    {
        var m = System.Text.RegularExpressions.Regex.Match(up, @"forward 127\.0\.0\.1:(\d+)[^,]*, ssh PID (\d+)\)");
        Assert.True(m.Success, up);
        return (int.Parse(m.Groups[2].Value), int.Parse(m.Groups[1].Value));
    }

    /// <summary>The ssh processes whose parent is <paramref name="pid"/> (from /proc/PID/stat).</summary>
    private static List<int> SshChildren(int pid)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var child)) continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            var close = stat.LastIndexOf(')');
            var comm = stat[(stat.IndexOf('(') + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            if (comm == "ssh" && fields[0] != "Z" && int.Parse(fields[1]) == pid) children.Add(child);
        }
        return children;
    }

    private static async Task WaitForCountAsync(RdgProcess p, string text, int count)
    {
        await Eventually.TrueAsync(() => p.Stderr.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal)) >= count, TimeSpan.FromSeconds(30),
            $"'{text}' {count} times", () => p.ToString()!);
    }

    private static async Task HitAsync(int local, string script)
    {
        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: loop", StringComparison.Ordinal)) + 1;
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", local);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
        var stopped = await editor.WaitForStoppedAsync(TimeSpan.FromSeconds(60));
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("train_step", line), (frame.Name, frame.Line));
        await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = script }, ["breakpoints"] = new JsonArray() });
        await editor.ContinueAsync(stopped.ThreadId);
        await editor.DisconnectAsync();
    }
}
