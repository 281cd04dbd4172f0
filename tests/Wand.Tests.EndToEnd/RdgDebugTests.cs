using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// <c>rdg debug</c> with the testbed's real Python 3.13 and 3.14 (host-runnable copies, with debugpy
/// 1.8 from the rootfs), proven by a real DAP session against the debugpy the launcher started.
/// </summary>
public sealed class RdgDebugTests : IDisposable
{
    private static readonly TimeSpan Stop = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-e2e-").FullName;
    private readonly string _sessions;

    public RdgDebugTests() => _sessions = Path.Combine(_dir, "sessions");

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

    private const string Train = """
        "A training loop."
        import sys


        def step(epoch, lr):
            loss = 1.0 / (epoch + 1)  # BREAKPOINT: step
            return loss


        total = 0.0
        for epoch in range(int(sys.argv[1])):
            total += step(epoch, 0.1)
        print("done", total, sys.argv[1:])
        """;

    private const string Crash = """
        import sys


        def divide(numerator, denominator):
            scaled = numerator * 10
            return scaled / denominator  # BREAKPOINT: raise


        def main():
            batch = [3, 2, 0]
            for d in batch:
                divide(7, d)


        main()
        """;

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private static int Line(string path, string marker) =>
        Array.FindIndex(File.ReadAllLines(path), l => l.Contains($"# BREAKPOINT: {marker}", StringComparison.Ordinal)) + 1;

    private Dictionary<string, string> Env(IDictionary<string, string>? extra = null) => RdgProcess.Env(_sessions, extra);

    private static async Task<(DapStackFrame Frame, IReadOnlyList<DapVariable> Locals)> TopAsync(DapClient editor, DapStopped stopped)
    {
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals");
        return (frame, await editor.VariablesAsync(locals.VariablesReference));
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    public async Task NormalModeWaitsStopsFirstInTheScriptThenHitsBreakpoints(string version)
    {
        var script = Write("train.py", Train);
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "--port", port.ToString(), RdgProcess.HostPython(version), "train.py", "2"], Env(), _dir);
        Assert.Equal(port, int.Parse(await rdg.InfoAsync("Port")));
        Assert.Equal("127.0.0.1", await rdg.InfoAsync("Address")); // a workstation: loopback, never 0.0.0.0
        Assert.Equal(_dir, await rdg.InfoAsync("Remote Path"));
        var pid = int.Parse(await rdg.InfoAsync("PID"));
        Assert.Contains($"ssh -N -L 5679:127.0.0.1:{port} ", await rdg.WaitForLineAsync("ssh -N -L"));
        await rdg.WaitForLineAsync("waiting for the debugger to attach");
        Assert.DoesNotContain("\u001b[", rdg.Stderr); // no escape codes in a log file
        Assert.Contains(Wand.Transport.Local.ProcFs.Default.ListeningSockets(), s => s.Port == port && s.Address.Equals(IPAddress.Loopback));

        // The session record attach/tunnel/init read.
        var record = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(_sessions, "*.json").Single())).RootElement;
        Assert.Equal((pid, port, "debug", "listening", _dir), (record.GetProperty("pid").GetInt32(), record.GetProperty("port").GetInt32(),
            record.GetProperty("mode").GetString(), record.GetProperty("state").GetString(), record.GetProperty("remotePath").GetString()));

        Assert.Empty(rdg.Stdout); // the program has not started
        var line = Line(script, "step");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            var attached = await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
            Assert.True(attached.Breakpoints[script][0].Verified);
            var entry = await editor.WaitForStoppedAsync(Stop);
            var (first, _) = await TopAsync(editor, entry);
            // The first stop is the program's first statement (after its docstring), in its own frame.
            Assert.Equal(("<module>", script, 2), (first.Name, first.SourcePath, first.Line));
            await editor.ContinueAsync(entry.ThreadId);

            var hit = await editor.WaitForStoppedAsync(Stop);
            Assert.Equal("breakpoint", hit.Reason);
            var (frame, locals) = await TopAsync(editor, hit);
            Assert.Equal(("step", script, line), (frame.Name, frame.SourcePath, frame.Line));
            Assert.Equal("0", locals.Single(v => v.Name == "epoch").Value);
            Assert.Equal("0.1", locals.Single(v => v.Name == "lr").Value);
            Assert.Equal(["step", "<module>"], (await editor.StackTraceAsync(hit.ThreadId)).Take(2).Select(f => f.Name));
            await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = script }, ["breakpoints"] = new JsonArray() });
            await editor.ContinueAsync(hit.ThreadId);
            Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        await rdg.WaitForLineAsync("done 1.5 ['2']");
        Assert.Empty(Directory.GetFiles(_sessions, "*.json")); // the record goes with the program
    }

    /// <summary>
    /// The launcher runs the program in its own frames, but the editor never sees them: neither at the
    /// first stop nor at a breakpoint, and not with justMyCode off either (which shows library frames).
    /// </summary>
    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13", true)]
    [InlineData("3.14", false)]
    public async Task NormalModeStacksShowOnlyTheProgramsFrames(string version, bool justMyCode)
    {
        var script = Write("train.py", Train);
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "--port", port.ToString(), RdgProcess.HostPython(version), "train.py", "1"], Env(), _dir);
        await rdg.WaitForLineAsync("waiting for the debugger to attach");
        var line = Line(script, "step");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] }, new JsonObject { ["justMyCode"] = justMyCode });
        var entry = await editor.WaitForStoppedAsync(Stop);
        var atEntry = await editor.StackTraceAsync(entry.ThreadId);
        Assert.Equal([("<module>", script)], atEntry.Select(f => (f.Name, f.SourcePath)));
        await editor.ContinueAsync(entry.ThreadId);

        var hit = await editor.WaitForStoppedAsync(Stop);
        var stack = await editor.StackTraceAsync(hit.ThreadId);
        Assert.Equal([("step", script), ("<module>", script)], stack.Select(f => (f.Name, f.SourcePath)));
        Assert.DoesNotContain(stack, f => (f.SourcePath ?? "").EndsWith("rdg_launcher.py", StringComparison.Ordinal));
        await editor.ContinueAsync(hit.ThreadId);
        Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The editor's breakpoint on the program's first line and rdg's first stop are one stop, not two.</summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task ABreakpointOnTheFirstLineIsTheOnlyFirstStop()
    {
        var script = Write("first.py", "import sys\nvalue = sys.argv[1:]\nprint('argv', value)\n");
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "--port", port.ToString(), RdgProcess.HostPython("3.14"), "first.py", "x"], Env(), _dir);
        await rdg.WaitForLineAsync("waiting for the debugger to attach");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [1] });
        var stopped = await editor.WaitForStoppedAsync(Stop);
        Assert.Equal([("<module>", script, 1)], (await editor.StackTraceAsync(stopped.ThreadId)).Select(f => (f.Name, f.SourcePath, f.Line)));
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30))); // a second stop would keep it waiting
        await rdg.WaitForLineAsync("argv ['x']");
    }

    /// <summary>
    /// What torchrun does, without torch: starts N child Pythons running the script, each with RANK,
    /// LOCAL_RANK and WORLD_SIZE set, and exits with the worst status. Usage: --nproc_per_node N SCRIPT ARGS.
    /// </summary>
    private const string FakeTorchrun = """
        import os
        import subprocess
        import sys

        n = int(sys.argv[2])
        children = []
        for rank in range(n):
            env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(n))
            children.append(subprocess.Popen([sys.executable, "-u", sys.argv[3]] + sys.argv[4:], env=env))
        sys.exit(max(child.wait() for child in children))
        """;

    private const string RankTrain = """
        import os
        import sys


        def step(epoch):
            rank = os.environ["RANK"]
            loss = 1.0 / (epoch + 1)  # BREAKPOINT: step
            return rank, loss


        for epoch in range(int(sys.argv[1])):
            step(epoch)
        os.write(1, ("rank %s done\n" % os.environ["RANK"]).encode())  # one write: the ranks share the pipe
        """;

    /// <summary>
    /// An agent that spawns the ranks (torchrun as a console script, or python -m torch.distributed.run):
    /// only the chosen rank's child waits for the editor and stops in the program; the others run through.
    /// </summary>
    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13", "torchrun")]
    [InlineData("3.14", "module")]
    public async Task UnderTorchrunOnlyTheChosenChildRankListens(string version, string form)
    {
        var script = Write("train.py", RankTrain);
        string[] command;
        // The user's own sitecustomize (rdg's hook goes before it on PYTHONPATH) still runs in every Python.
        var userSite = Path.GetDirectoryName(Write("usersite/sitecustomize.py", "import os\nos.write(1, ('user sitecustomize %s\\n' % os.environ.get('RANK', 'agent')).encode())\n"))!;
        var env = new Dictionary<string, string> { ["PYTHONPATH"] = userSite };
        if (form == "torchrun")
        {
            var torchrun = Write("bin/torchrun", $"#!{RdgProcess.HostPython(version)}\n" + FakeTorchrun);
            File.SetUnixFileMode(torchrun, (UnixFileMode)0b111_101_101);
            env["PATH"] = Path.GetDirectoryName(torchrun) + ":" + Environment.GetEnvironmentVariable("PATH");
            command = ["torchrun", "--nproc_per_node", "3", "train.py", "2"];
        }
        else
        {
            Write("torch/__init__.py", "");
            Write("torch/distributed/__init__.py", "");
            Write("torch/distributed/run.py", FakeTorchrun);
            command = [RdgProcess.HostPython(version), "-m", "torch.distributed.run", "--nproc_per_node", "3", "train.py", "2"];
        }
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "--rank", "1", "--port", port.ToString(), .. command], Env(env), _dir);
        Assert.Contains("rank 1 (RANK) gets the debugger", await rdg.WaitForLineAsync("starts the ranks"));
        Assert.Equal(port, int.Parse(await rdg.InfoAsync("Port")));
        await rdg.WaitForLineAsync("waiting for the debugger to attach");
        await rdg.WaitForLineAsync("rank 0 done");
        await rdg.WaitForLineAsync("rank 2 done");
        Assert.DoesNotContain("rank 1 done", rdg.Stdout);
        var pid = int.Parse(await rdg.InfoAsync("PID"));
        Assert.Contains("RANK=1", File.ReadAllText($"/proc/{pid}/environ").Split('\0'));

        var line = Line(script, "step");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
            var entry = await editor.WaitForStoppedAsync(Stop);
            Assert.Equal([("<module>", script, 1)], (await editor.StackTraceAsync(entry.ThreadId)).Select(f => (f.Name, f.SourcePath, f.Line)));
            await editor.ContinueAsync(entry.ThreadId);
            var hit = await editor.WaitForStoppedAsync(Stop);
            var (frame, locals) = await TopAsync(editor, hit);
            Assert.Equal(("step", line), (frame.Name, frame.Line));
            Assert.Equal("'1'", locals.Single(v => v.Name == "rank").Value);
            await editor.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = script }, ["breakpoints"] = new JsonArray() });
            await editor.ContinueAsync(hit.ThreadId);
            Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        await rdg.WaitForLineAsync("rank 1 done");
        Assert.Single(rdg.Stderr.Split('\n'), l => l.StartsWith("Port: ", StringComparison.Ordinal));
        foreach (var who in new[] { "agent", "0", "1", "2" }) Assert.Contains($"user sitecustomize {who}", rdg.Stdout);
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13", "module")]
    [InlineData("3.14", "module")]
    [InlineData("3.14", "code")]
    public async Task ModuleAndCodeFormsStopInTheProgramsOwnCode(string version, string form)
    {
        var module = Write("pkg/trainer.py", "import sys\nvalue = sys.argv[1:]  # BREAKPOINT: m\nprint('argv', value, __name__)\n");
        var port = TestNet.FreePort();
        string[] command = form == "module"
            ? [RdgProcess.HostPython(version), "-m", "pkg.trainer", "a", "-p"]
            : [RdgProcess.HostPython(version), "-c", "import sys\nprint('argv', sys.argv[1:], __name__)", "a", "-p"];
        await using var rdg = RdgProcess.Start(["debug", "--port", port.ToString(), .. command], Env(), _dir);
        await rdg.WaitForLineAsync("waiting for the debugger");
        await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        if (form == "module")
        {
            var entry = await editor.WaitForStoppedAsync(Stop);
            var (frame, _) = await TopAsync(editor, entry);
            Assert.Equal(("<module>", module, 1), (frame.Name, frame.SourcePath, frame.Line));
            await editor.ContinueAsync(entry.ThreadId);
        }
        Assert.Equal(0, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        await rdg.WaitForLineAsync("argv ['a', '-p'] __main__");
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    public async Task PostMortemOpensInTheFrameThatRaisedWithItsLocals(string version)
    {
        var script = Write("crash.py", Crash);
        var port = TestNet.FreePort();
        await using var rdg = RdgProcess.Start(["debug", "-p", "--port", port.ToString(), RdgProcess.HostPython(version), "crash.py"], Env(), _dir);
        await rdg.WaitForLineAsync("[Post-mortem] the program raised ZeroDivisionError");
        Assert.Equal(port, int.Parse(await rdg.InfoAsync("Port")));
        Assert.DoesNotContain("rdg_launcher", rdg.Stderr); // the traceback starts at the program
        Assert.Contains("Traceback (most recent call last)", rdg.Stderr);

        await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        var stopped = await editor.WaitForStoppedAsync(Stop);
        Assert.Equal("exception", stopped.Reason);
        var stack = await editor.StackTraceAsync(stopped.ThreadId);
        Assert.Equal(("divide", script, Line(script, "raise")), (stack[0].Name, stack[0].SourcePath, stack[0].Line));
        Assert.Equal("main", stack[1].Name);
        var (_, locals) = await TopAsync(editor, stopped);
        Assert.Equal("0", locals.Single(v => v.Name == "denominator").Value);
        Assert.Equal("70", locals.Single(v => v.Name == "scaled").Value);
        var mainLocals = (await editor.ScopesAsync(stack[1].Id)).First(s => s.Name == "Locals");
        Assert.Equal("0", (await editor.VariablesAsync(mainLocals.VariablesReference)).Single(v => v.Name == "d").Value);
        Assert.Contains("division by zero", await editor.EvaluateAsync("str(__exception__[1])", stack[0].Id));
        await editor.ContinueAsync(stopped.ThreadId);
        Assert.Equal(1, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(30))); // the program's failure status
    }

    /// <summary>
    /// With justMyCode off pydevd traces library code too, so the post-mortem stop must not come from a
    /// library frame the launcher runs while stopping (issue 13, defect 5: contextlib's helper showed on
    /// top, "type unknown", and pydevd's "Error getting exception type" traceback in the job's output).
    /// pydevd traces with sys.monitoring on 3.12+ and with sys.settrace before (3.9-3.11, or
    /// PYDEVD_USE_SYS_MONITORING=0): both are covered.
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("3.14", true, "sys.monitoring")]
    [InlineData("3.14", false, "sys.monitoring")]
    [InlineData("3.13", false, "sys.monitoring")]
    [InlineData("3.13", false, "settrace")]
    public async Task PostMortemShowsTheRaisingFrameAndTheExceptionWithJustMyCodeOnOrOff(string version, bool justMyCode, string tracer)
    {
        var script = Write("crash.py", Crash);
        var port = TestNet.FreePort();
        var env = Env(tracer == "settrace" ? new Dictionary<string, string> { ["PYDEVD_USE_SYS_MONITORING"] = "0" } : null);
        await using var rdg = RdgProcess.Start(["debug", "-p", "--port", port.ToString(), RdgProcess.HostPython(version), "crash.py"], env, _dir);
        await rdg.WaitForLineAsync("[Post-mortem] the program raised ZeroDivisionError");

        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>(), new JsonObject { ["justMyCode"] = justMyCode });
            var stopped = await editor.WaitForStoppedAsync(Stop);
            Assert.Equal("exception", stopped.Reason);
            var stack = await editor.StackTraceAsync(stopped.ThreadId);
            Assert.Equal([("divide", script, Line(script, "raise")), ("main", script, 12), ("<module>", script, 15)],
                stack.Select(f => (f.Name, f.SourcePath, f.Line)));
            var info = await editor.RequestAsync("exceptionInfo", new JsonObject { ["threadId"] = stopped.ThreadId });
            Assert.Equal(("ZeroDivisionError", "division by zero"), (info["exceptionId"]?.GetValue<string>(), info["description"]?.GetValue<string>()));
            Assert.Equal("ZeroDivisionError", info["details"]?["typeName"]?.GetValue<string>());
            Assert.Equal("70", await editor.EvaluateAsync("scaled", stack[0].Id));
            Assert.Equal("ZeroDivisionError('division by zero')", await editor.EvaluateAsync("__exception__[1]", stack[0].Id));
            await editor.ContinueAsync(stopped.ThreadId);
            Assert.Equal(1, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        // The job's output holds the program's own traceback once, and nothing from the debugger.
        var output = rdg.Stdout + rdg.Stderr;
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "Traceback"));
        Assert.DoesNotContain("Error getting exception type", output);
        Assert.DoesNotContain("pydevd", output);
        Assert.DoesNotContain("debugpy", output);
    }

    /// <summary>
    /// Without post-mortem too, a crash ends the job once the editor continued: the launcher's own
    /// sys.exit(1) after the program's traceback is no "uncaught SystemExit: 1" stop (with settrace and
    /// justMyCode off, pydevd reported it from the launcher's top frame and the process waited on it).
    /// </summary>
    [Theory(Timeout = 180_000)]
    [InlineData("settrace")]
    [InlineData("sys.monitoring")]
    public async Task ACrashEndsTheJobWithoutAStopOnTheLaunchersOwnExit(string tracer)
    {
        Write("crash.py", Crash);
        var port = TestNet.FreePort();
        var env = Env(tracer == "settrace" ? new Dictionary<string, string> { ["PYDEVD_USE_SYS_MONITORING"] = "0" } : null);
        await using var rdg = RdgProcess.Start(["debug", "--port", port.ToString(), RdgProcess.HostPython("3.13"), "crash.py"], env, _dir);
        await rdg.WaitForLineAsync("waiting for the debugger to attach");
        await using (var editor = await DapClient.ConnectAsync("127.0.0.1", port))
        {
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>(), new JsonObject { ["justMyCode"] = false });
            var entry = await editor.WaitForStoppedAsync(Stop); // the first-line stop
            await editor.ContinueAsync(entry.ThreadId);
            Assert.Equal(1, await rdg.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(rdg.Stdout + rdg.Stderr, "Traceback"));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task PostMortemTimeoutEndsTheJobWithTheFailureStatus()
    {
        Write("crash.py", Crash);
        var result = await RdgProcess.RunAsync(["debug", "-p", "--post-mortem-timeout", "2s", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.14"), "crash.py"], Env(), _dir);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no debugger attached in time", result.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task WithoutPostMortemACrashIsAPlainCrash()
    {
        Write("crash.py", Crash);
        var result = await RdgProcess.RunAsync(["debug", "--no-wait", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.13"), "crash.py"], Env(), _dir);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ZeroDivisionError: division by zero", result.Stderr);
        Assert.DoesNotContain("rdg_launcher", result.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task OnlyTheChosenRankListensOthersRunNormally()
    {
        Write("train.py", Train);
        var other = await RdgProcess.RunAsync(["debug", RdgProcess.HostPython("3.14"), "train.py", "2"], Env(new Dictionary<string, string> { ["SLURM_PROCID"] = "1" }), _dir);
        Assert.Equal(0, other.ExitCode);
        Assert.Contains("rank 1 (SLURM_PROCID) runs without the debugger (rank 0 listens)", other.Stderr);
        Assert.DoesNotContain("Port:", other.Stderr);
        Assert.Contains("done 1.5", other.Stdout);

        var chosen = await RdgProcess.RunAsync(["debug", "--rank", "2", "--no-wait", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.14"), "train.py", "2"],
            Env(new Dictionary<string, string> { ["RANK"] = "2", ["SLURM_PROCID"] = "7" }), _dir);
        Assert.Equal(0, chosen.ExitCode);
        Assert.Contains("Port:", chosen.Stderr); // RANK (torchrun) wins over SLURM_PROCID
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData(new string[0], "needs the Python command")]
    [InlineData(new[] { "ls", "-l" }, "'ls' is not a Python interpreter")]
    [InlineData(new[] { "PYTHON", "missing.py" }, "missing.py does not exist")]
    [InlineData(new[] { "PYTHON" }, "needs a script, -m MODULE or -c CODE")]
    [InlineData(new[] { "python3.99-nope", "x.py" }, "'python3.99-nope' was not found on PATH")]
    public async Task BadCommandsAreUsageErrors(string[] command, string message)
    {
        var args = command.Select(a => a == "PYTHON" ? RdgProcess.HostPython("3.14") : a);
        var result = await RdgProcess.RunAsync(["debug", .. args], Env(), _dir);
        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Contains("hint:", result.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnUnresolvableLoginHostGivesAPlaceholderAndHowToSetIt()
    {
        Write("train.py", Train);
        var env = Env(new Dictionary<string, string> { ["SLURM_SUBMIT_HOST"] = "login-that-does-not-exist.invalid", ["USER"] = "ada" });
        var r = await RdgProcess.RunAsync(["debug", "--no-wait", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.14"), "train.py", "1"], env, _dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("ada@<login-host>", r.Stderr);
        Assert.Contains("set RDG_LOGIN_HOST=user@login.example.org", r.Stderr);

        var configured = await RdgProcess.RunAsync(["debug", "--no-wait", "--login", "ada@hpc.example.org", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.14"), "train.py", "1"], Env(), _dir);
        Assert.Contains(" ada@hpc.example.org", configured.Stderr.Split('\n').Single(l => l.Contains("ssh -N -L", StringComparison.Ordinal)));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task APortInUseIsRefusedWithAHint()
    {
        Write("train.py", Train);
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var result = await RdgProcess.RunAsync(["debug", "--port", port.ToString(), RdgProcess.HostPython("3.14"), "train.py", "1"], Env(), _dir);
        Assert.Equal(ExitCodes.PortInUse, result.ExitCode);
        Assert.Contains($"port {port} is already in use", result.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task DebugpyMissingInTheJobsPythonSaysWhereRdgLooked()
    {
        Write("train.py", Train);
        var home = Directory.CreateDirectory(Path.Combine(_dir, "home")).FullName;
        // -S: no site, so the rootfs's dist-packages (and its debugpy) are not on sys.path; this host has no debugpy to lend.
        var result = await RdgProcess.RunAsync(["debug", "--port", TestNet.FreePort().ToString(), RdgProcess.HostPython("3.14"), "-S", "train.py", "1"],
            Env(new Dictionary<string, string> { ["HOME"] = home }), _dir);
        Assert.Equal(ExitCodes.DebugpyMissing, result.ExitCode);
        Assert.Contains("has no debugpy", result.Stderr);
        Assert.Contains("pip install", result.Stderr);
        Assert.DoesNotContain("done", result.Stdout); // the program never ran without its debugger
    }
}
