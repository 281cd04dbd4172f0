using System.Diagnostics;
using System.Text.Json;
using Wand.Errors;
using Wand.Session.Dap;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// rdg on a real single-node Slurm (munge, slurmctld, slurmd started by tests/testbed/slurm.sh):
/// sbatch a job, <c>rdg attach</c> it without typing a PID, and a DAP client hits a breakpoint in its loop.
/// </summary>
[Collection(TargetRootCollection.Name)]
public sealed class RdgSlurmTests : IAsyncLifetime
{
    private static readonly TimeSpan Stop = TimeSpan.FromSeconds(60);
    private static readonly Lazy<string> SlurmConf = new(StartSlurm);
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-slurm-").FullName;
    private readonly List<string> _jobs = [];

    /// <summary>A training loop that runs until cancelled, sleeping (in C) between steps.</summary>
    private const string Loop = """
        import time


        def train_step(step):
            loss = 1.0 / (step + 1)  # BREAKPOINT: loop
            return loss


        print("training", flush=True)
        step = 0
        while True:
            train_step(step)
            step += 1
            time.sleep(0.05)
        """;

    private static string StartSlurm()
    {
        var psi = new ProcessStartInfo(Path.Combine(Testbed.RepoRoot, "tests/testbed/slurm.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)) || p.ExitCode != 0)
            throw new InvalidOperationException($"tests/testbed/slurm.sh failed (Slurm is required for these tests):\n{stderr.Result}");
        return stdout.Result.Trim().Split('\n')[^1].Split('=', 2)[1];
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var job in _jobs) await RunAsync("scancel", [job]);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Dictionary<string, string> Env(IDictionary<string, string>? extra = null) =>
        RdgProcess.Env(Path.Combine(_dir, "sessions"), new Dictionary<string, string> { ["SLURM_CONF"] = SlurmConf.Value }.Concat(extra ?? new Dictionary<string, string>()).ToDictionary());

    private Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string[] argv, IDictionary<string, string>? env = null) => RunAsync(argv[0], argv[1..], env);

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SLURM_CONF"] = SlurmConf.Value;
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await o, await e);
    }

    /// <summary>sbatch a job whose only step is <paramref name="argv"/> (exec'd, no shell interpolation of paths: the script passes "$@").</summary>
    private async Task<(string Job, string Output)> SubmitAsync(IReadOnlyList<string> argv, IDictionary<string, string>? env = null, int tasks = 1)
    {
        var script = Path.Combine(_dir, "job.sh");
        await File.WriteAllTextAsync(script, "#!/bin/bash\nexec \"$@\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var output = Path.Combine(_dir, $"job-{Guid.NewGuid():N}.out");
        var r = await RunAsync("sbatch", ["--parsable", "-n", tasks.ToString(), "-o", output, "-D", _dir, script, .. argv], Env(env));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var job = r.Stdout.Trim().Split(';')[0];
        _jobs.Add(job);
        return (job, output);
    }

    /// <summary>sbatch a job that starts <paramref name="count"/> unprepared Python 3.14 copies of <paramref name="script"/>; returns their PIDs.</summary>
    private async Task<(string Job, int[] Pids)> SubmitPythonsAsync(string script, int count)
    {
        var spawner = Path.Combine(_dir, $"spawn-{count}.sh");
        await File.WriteAllTextAsync(spawner, "#!/bin/bash\nfor _ in $(seq \"$1\"); do \"$2\" -u \"$3\" & done\nwait\n");
        File.SetUnixFileMode(spawner, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (job, output) = await SubmitAsync([spawner, count.ToString(), RdgProcess.HostPython("3.14"), script]);
        string[] ready = [];
        await Eventually.TrueAsync(
            async () => (ready = File.Exists(output) ? (await File.ReadAllLinesAsync(output)).Where(l => l.StartsWith("ready ", StringComparison.Ordinal)).ToArray() : []).Length == count,
            TimeSpan.FromSeconds(60), $"job {job} to start {count} Pythons", () => File.Exists(output) ? File.ReadAllText(output) : "(no output file)");
        return (job, [.. ready.Select(l => int.Parse(l[6..]))]);
    }

    private static async Task<string> WaitForOutputAsync(string file, string text)
    {
        var content = "";
        await Eventually.TrueAsync(async () => File.Exists(file) && (content = await File.ReadAllTextAsync(file)).Contains(text, StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), $"the job to print '{text}'", () => File.Exists(file) ? File.ReadAllText(file) : "(no output file)");
        return content;
    }

    private static string[] Rdg(params string[] args) => TestedTool.Rdg.With(args);

    private static string Value(string text, string key) =>
        text.Split('\n').First(l => l.StartsWith(key + ": ", StringComparison.Ordinal))[(key.Length + 2)..].Trim();

    private async Task HitLoopBreakpointAsync(string host, int port, string script)
    {
        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: loop", StringComparison.Ordinal)) + 1;
        await using var editor = await DapClient.ConnectAsync(host, port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
        var stopped = await editor.WaitForStoppedAsync(Stop);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        Assert.Equal(("train_step", script, line), (frame.Name, frame.SourcePath, frame.Line));
        var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals");
        Assert.Contains(await editor.VariablesAsync(locals.VariablesReference), v => v.Name == "step");
        await editor.DisconnectAsync();
    }

    [Theory(Timeout = TestTimeouts.EndToEnd)]
    [InlineData("3.13")]
    [InlineData("3.14")]
    public async Task LiteJobIsAttachedWithoutTypingAPid(string version)
    {
        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var (job, output) = await SubmitAsync(Rdg("debug", "--lite", RdgProcess.HostPython(version), "train.py"));
        await WaitForOutputAsync(output, "training");
        var log = await WaitForOutputAsync(output, "To activate the debugger"); // rdg's lines and the program's interleave
        Assert.Contains($"Job ID:  {job}", log);
        Assert.Contains($"rdg attach {job} ", log);
        Assert.DoesNotContain("\u001b[", log);

        var attach = await RunAsync(Rdg("attach", job), Env());
        Assert.True(attach.ExitCode == 0, attach.Stderr + attach.Stdout);
        Assert.Equal(job, Value(attach.Stdout, "Job ID"));
        Assert.Equal("lite", Value(attach.Stdout, "Mode"));
        Assert.Contains("ssh -N -L 5679:", attach.Stdout);
        var host = Value(attach.Stdout, "Address");
        Assert.NotEqual("0.0.0.0", host);
        await HitLoopBreakpointAsync(host, int.Parse(Value(attach.Stdout, "Port")), script);
        await WaitForOutputAsync(output, "[rdg] the debugger was activated");
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnUnpreparedPython314JobIsAttachedWithZeroPreparation()
    {
        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var (job, output) = await SubmitAsync([RdgProcess.HostPython("3.14"), "-u", script]);
        await WaitForOutputAsync(output, "training");
        var list = await RunAsync("srun", [$"--jobid={job}", "--overlap", .. Rdg("node", "list", "--job", job)], Env());
        var pid = System.Text.Json.JsonDocument.Parse(list.Stdout).RootElement[0].GetProperty("pid").GetInt32();

        var attach = await RunAsync(Rdg("attach", job, pid.ToString(), "--port", TestNet.FreePort().ToString()), Env());
        Assert.True(attach.ExitCode == 0, attach.Stderr + attach.Stdout);
        Assert.Equal("attached", Value(attach.Stdout, "Mode"));
        await HitLoopBreakpointAsync(Value(attach.Stdout, "Address"), int.Parse(Value(attach.Stdout, "Port")), script);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task JobsThatAreNotRunningAndPidsNotInTheJobAreRefused()
    {
        var gone = await RunAsync(Rdg("attach", "999999", "1"), Env());
        Assert.Equal(ExitCodes.ProcessNotFound, gone.ExitCode);
        Assert.Contains("job 999999", gone.Stderr);
        Assert.Contains("only your RUNNING jobs can be attached", gone.Stderr);

        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var (job, output) = await SubmitAsync(Rdg("debug", "--lite", RdgProcess.HostPython("3.13"), "train.py"));
        await WaitForOutputAsync(output, "training");
        await WaitForOutputAsync(output, "To activate the debugger");
        var wrongPid = await RunAsync(Rdg("attach", job, "1"), Env());
        Assert.Equal(ExitCodes.ProcessNotFound, wrongPid.ExitCode);
        Assert.Contains($"PID 1 is not one of your Python processes in job {job}", wrongPid.Stderr);
        Assert.Contains("lite-armed", wrongPid.Stderr); // the hint lists the job's processes

        // srun missing (squeue and scontrol only): a clear error, not a crash.
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        foreach (var tool in new[] { "squeue", "scontrol" }) File.CreateSymbolicLink(Path.Combine(bin, tool), $"/usr/bin/{tool}");
        var noSrun = await RunAsync(Rdg("attach", job), Env(new Dictionary<string, string> { ["PATH"] = bin }));
        Assert.Equal(ExitCodes.SlurmFailed, noSrun.ExitCode); // Slurm failing is not a process that is not there
        Assert.Contains("srun was not found on PATH", noSrun.Stderr);

        await RunAsync("scancel", [job]);
        await Eventually.TrueAsync(async () => (await RunAsync("squeue", ["-h", "-j", job, "-t", "RUNNING"])).Stdout.Trim().Length == 0, TimeSpan.FromSeconds(30), $"job {job} to stop running");
        var ended = await RunAsync(Rdg("attach", job), Env());
        Assert.Equal(ExitCodes.ProcessNotFound, ended.ExitCode);
        Assert.Contains($"job {job}", ended.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task InAMultiRankStepOnlyRankZeroListens()
    {
        var script = Path.Combine(_dir, "ranks.py");
        await File.WriteAllTextAsync(script, "import os\nprint('rank', os.environ['SLURM_PROCID'], 'done', flush=True)\n");
        var (_, output) = await SubmitAsync(["srun", "-n", "2", "--overlap", .. Rdg("debug", "--no-wait", RdgProcess.HostPython("3.14"), "ranks.py")], tasks: 2);
        var log = await WaitForOutputAsync(output, "rank 1 done");
        await WaitForOutputAsync(output, "rank 0 done");
        await WaitForOutputAsync(output, "From VS Code Remote-SSH"); // the end of rank 0's connection block
        log = await File.ReadAllTextAsync(output);
        Assert.Contains("rank 1 (SLURM_PROCID) runs without the debugger (rank 0 listens)", log);
        Assert.Single(log.Split('\n'), l => l.StartsWith("Port: ", StringComparison.Ordinal));
    }

    /// <summary>Rank 1 deadlocks on a lock while rank 0 trains on: the job hangs because of one rank.</summary>
    private const string OneRankHangs = """
        import os
        import threading
        import time


        def wait_for_peers(lock):
            lock.acquire()  # STACK: hang


        def train():
            while True:
                time.sleep(0.05)  # STACK: train


        rank = int(os.environ["SLURM_PROCID"])
        os.write(1, ("ready %d\n" % rank).encode())
        if rank == 1:
            lock = threading.Lock()
            lock.acquire()
            wait_for_peers(lock)  # STACK: rank1
        else:
            train()  # STACK: rank0
        """;

    /// <summary>
    /// rdg stacks JOB: every rank's stacks, read from memory on the node through srun --overlap,
    /// printed by rank; the hung rank shows the lock it waits on.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task StacksShowWhichRankHangs()
    {
        var script = Path.Combine(_dir, "hang.py");
        await File.WriteAllTextAsync(script, OneRankHangs);
        int Line(string mark) => Array.FindIndex(OneRankHangs.Split('\n'), l => l.TrimEnd().EndsWith("# STACK: " + mark, StringComparison.Ordinal)) + 1;
        var (job, output) = await SubmitAsync(["srun", "-n", "2", "--overlap", RdgProcess.HostPython("3.14"), "-u", script], tasks: 2);
        await WaitForOutputAsync(output, "ready 0");
        await WaitForOutputAsync(output, "ready 1");

        (int ExitCode, string Stdout, string Stderr) stacks = (-1, "", "");
        var rank0 = $"    {script}:{Line("rank0")} <module>\n    {script}:{Line("train")} train\n";
        var rank1 = $"    {script}:{Line("rank1")} <module>\n    {script}:{Line("hang")} wait_for_peers\n";
        await Eventually.TrueAsync(async () =>
        {
            stacks = await RunAsync(Rdg("stacks", job), Env());
            return stacks.ExitCode == 0 && stacks.Stdout.Contains(rank0, StringComparison.Ordinal) && stacks.Stdout.Contains(rank1, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), "both ranks' stacks, rank 1 in its lock", () => stacks.Stdout + stacks.Stderr);
        var blocks = stacks.Stdout.Split("==> ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, blocks.Length);
        Assert.StartsWith("rank 0, node ", blocks[0]);
        Assert.Contains(rank0, blocks[0]);
        Assert.StartsWith("rank 1, node ", blocks[1]);
        Assert.Contains(rank1, blocks[1]);
        Assert.Contains("waiting on a futex (lock)", blocks[1]);
    }

    /// <summary>
    /// rdg stacks JOB -o json --locals: one document for the job, its processes by rank, each with the
    /// node it runs on and wand stacks' JSON (docs/stacks-json.md), locals included; the hung rank's
    /// innermost frame holds the lock it waits on.
    /// </summary>
    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task StacksAsJsonWithLocalsByRank()
    {
        var script = Path.Combine(_dir, "hang.py");
        await File.WriteAllTextAsync(script, OneRankHangs);
        int Line(string mark) => Array.FindIndex(OneRankHangs.Split('\n'), l => l.TrimEnd().EndsWith("# STACK: " + mark, StringComparison.Ordinal)) + 1;
        var (job, output) = await SubmitAsync(["srun", "-n", "2", "--overlap", RdgProcess.HostPython("3.14"), "-u", script], tasks: 2);
        await WaitForOutputAsync(output, "ready 0");
        await WaitForOutputAsync(output, "ready 1");

        static List<JsonElement> Frames(JsonElement process) =>
            process.GetProperty("stacks").GetProperty("threads")[0].GetProperty("frames").EnumerateArray().ToList();
        (int ExitCode, string Stdout, string Stderr) stacks = (-1, "", "");
        JsonElement document = default;
        await Eventually.TrueAsync(async () =>
        {
            stacks = await RunAsync(Rdg("stacks", job, "-o", "json", "--locals"), Env());
            if (stacks.ExitCode != 0) return false;
            using var parsed = JsonDocument.Parse(stacks.Stdout); // stdout is nothing but the document
            document = parsed.RootElement.Clone();
            return document.GetProperty("processes").EnumerateArray().Count() == 2
                && Frames(document.GetProperty("processes")[1]) is [.., var innermost] && innermost.GetProperty("function").GetString() == "wait_for_peers";
        }, TimeSpan.FromSeconds(60), "both ranks' stacks as JSON, rank 1 in its lock", () => stacks.Stdout + stacks.Stderr);

        Assert.Equal(job, document.GetProperty("job").GetString());
        var processes = document.GetProperty("processes").EnumerateArray().ToList();
        Assert.Equal([0, 1], processes.Select(p => p.GetProperty("rank").GetInt32()));
        foreach (var p in processes)
        {
            Assert.False(string.IsNullOrEmpty(p.GetProperty("node").GetString()));
            Assert.Equal(JsonValueKind.Null, p.GetProperty("error").ValueKind);
            Assert.Equal(p.GetProperty("pid").GetInt32(), p.GetProperty("stacks").GetProperty("pid").GetInt32());
            Assert.StartsWith("3.14.", p.GetProperty("stacks").GetProperty("python").GetString());
        }
        var hung = Frames(processes[1]);
        Assert.Equal([(script, Line("rank1"), "<module>"), (script, Line("hang"), "wait_for_peers")],
            hung.Select(f => (f.GetProperty("file").GetString(), f.GetProperty("line").GetInt32(), f.GetProperty("function").GetString())));
        var lockLocal = Assert.Single(hung[1].GetProperty("locals").EnumerateArray());
        Assert.Equal("lock", lockLocal.GetProperty("name").GetString());
        Assert.Equal("_thread.lock", lockLocal.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Array, hung[0].GetProperty("locals").ValueKind); // every frame has them with --locals (a module's are its globals: none)
        Assert.Equal([(script, Line("rank0"), "<module>"), (script, Line("train"), "train")],
            Frames(processes[0]).Select(f => (f.GetProperty("file").GetString(), f.GetProperty("line").GetInt32(), f.GetProperty("function").GetString())));
        Assert.Contains("waiting on a futex (lock)", processes[1].GetProperty("stacks").GetProperty("threads")[0].GetProperty("native").GetProperty("description").GetString());
    }

    /// <summary>Prints its PID, then idles (an unprepared Python 3.14 for zero-prep attach).</summary>
    private const string Idle = """
        import os
        import time

        # One write() for the whole line: the job's copies share one output file, and print() under -u
        # writes "ready", " ", the PID and "\n" separately, so two copies' lines could interleave.
        os.write(1, ("ready %d\n" % os.getpid()).encode())
        while True:
            time.sleep(0.05)
        """;

    private async Task<string> JobStateAsync(string job) => (await RunAsync("squeue", ["-h", "-j", job, "-o", "%T"])).Stdout.Trim();

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AJobOfAnotherUserAndAFinishedJobAreRefused()
    {
        // Another user's job: submitted as nobody (root may run jobs as any uid); rdg runs as root.
        var shared = Directory.CreateDirectory(Path.Combine(_dir, "shared"));
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(shared.FullName, (UnixFileMode)0b111_101_101);
        var script = Path.Combine(shared.FullName, "sleep.sh");
        await File.WriteAllTextAsync(script, "#!/bin/bash\nexec /bin/sleep 300\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        var submitted = await RunAsync("sbatch", ["--parsable", "--uid=nobody", "--gid=nogroup", "-o", "/dev/null", "-D", shared.FullName, script]);
        Assert.True(submitted.ExitCode == 0, submitted.Stderr);
        var theirs = submitted.Stdout.Trim().Split(';')[0];
        _jobs.Add(theirs);
        await Eventually.TrueAsync(async () => await JobStateAsync(theirs) == "RUNNING", TimeSpan.FromSeconds(30), $"job {theirs} to run");

        foreach (var args in new[] { new[] { "attach", theirs }, ["attach", theirs, "12345"] })
        {
            var refused = await RunAsync(Rdg(args), Env());
            Assert.Equal(ExitCodes.ProcessNotFound, refused.ExitCode);
            Assert.Contains($"job {theirs} belongs to nobody, not to you; only your RUNNING jobs can be attached", refused.Stderr);
        }

        // A job that ran to its end.
        var (done, output) = await SubmitAsync(["/bin/echo", "finished"]);
        await WaitForOutputAsync(output, "finished");
        await Eventually.TrueAsync(async () => await JobStateAsync(done) is not ("RUNNING" or "COMPLETING" or "PENDING"), TimeSpan.FromSeconds(30), $"job {done} to end");
        var ended = await RunAsync(Rdg("attach", done), Env());
        Assert.Equal(ExitCodes.ProcessNotFound, ended.ExitCode);
        Assert.Matches($"job {done} (is COMPLETED, not RUNNING|has ended \\(COMPLETED\\))", ended.Stderr);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task InAMultiRankLiteStepOnlyTheChosenRankIsArmedAndAttachFindsIt()
    {
        var script = Path.Combine(_dir, "ranks.py");
        await File.WriteAllTextAsync(script, """
            import os
            import time


            def train_step(step):
                rank = os.environ["SLURM_PROCID"]
                loss = 1.0 / (step + 1)  # BREAKPOINT: loop
                return rank, loss


            os.write(1, ("rank %s training\n" % os.environ["SLURM_PROCID"]).encode())
            step = 0
            while True:
                train_step(step)
                step += 1
                time.sleep(0.05)
            """);
        var (job, output) = await SubmitAsync(["srun", "-n", "2", "--overlap", .. Rdg("debug", "--lite", "--rank", "1", RdgProcess.HostPython("3.13"), "ranks.py")], tasks: 2);
        await WaitForOutputAsync(output, "rank 0 training");
        await WaitForOutputAsync(output, "rank 1 training");
        var log = await WaitForOutputAsync(output, "To activate the debugger");
        Assert.Contains("rank 0 (SLURM_PROCID) runs without the debugger (rank 1 listens)", log);
        Assert.Single(log.Split('\n'), l => l.Contains("[Lite Debugger] Armed", StringComparison.Ordinal));

        // Two Python 3.13 processes in the job: rank 0 plain (not attachable), rank 1 armed. No PID needed.
        // No login host known on this side either: the placeholder, and how to set it.
        var noLogin = new Dictionary<string, string> { ["SSH_CONNECTION"] = "", ["SLURM_SUBMIT_HOST"] = "", ["RDG_LOGIN_HOST"] = "" };
        var attach = await RunAsync(Rdg("attach", job), Env(noLogin));
        Assert.True(attach.ExitCode == 0, attach.Stderr + attach.Stdout);
        Assert.Equal("lite", Value(attach.Stdout, "Mode"));
        Assert.Contains("@<login-host>", attach.Stdout);
        Assert.Contains("set RDG_LOGIN_HOST=user@login.example.org / pass --login", attach.Stdout);

        var line = Array.FindIndex(File.ReadAllLines(script), l => l.Contains("BREAKPOINT: loop", StringComparison.Ordinal)) + 1;
        await using var editor = await DapClient.ConnectAsync(Value(attach.Stdout, "Address"), int.Parse(Value(attach.Stdout, "Port")));
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [script] = [line] });
        var stopped = await editor.WaitForStoppedAsync(Stop);
        var frame = (await editor.StackTraceAsync(stopped.ThreadId))[0];
        var locals = (await editor.ScopesAsync(frame.Id)).First(s => s.Name == "Locals");
        Assert.Equal("'1'", (await editor.VariablesAsync(locals.VariablesReference)).Single(v => v.Name == "rank").Value);
        await editor.DisconnectAsync();
        Assert.Single((await File.ReadAllTextAsync(output)).Split('\n'), l => l.Contains("the debugger was activated", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task WithoutATerminalSeveralJobsOrProcessesAreListedWithATerminalTheyAreChosen()
    {
        var script = Path.Combine(_dir, "idle.py");
        await File.WriteAllTextAsync(script, Idle);
        var (two, pids) = await SubmitPythonsAsync(script, 2);
        var (one, _) = await SubmitPythonsAsync(script, 1);

        // Not a terminal (a script, CI): no prompt, the candidates in the error.
        var jobs = await RunAsync(Rdg("attach"), Env());
        Assert.Equal(ExitCodes.Usage, jobs.ExitCode);
        Assert.Contains("running jobs: ", jobs.Stderr);
        Assert.Contains($"{two} (job.sh)", jobs.Stderr);
        Assert.Contains($"{one} (job.sh)", jobs.Stderr);
        Assert.Contains("pass the job id: rdg attach JOB_ID", jobs.Stderr);
        var processes = await RunAsync(Rdg("attach", two), Env());
        Assert.Equal(ExitCodes.Usage, processes.ExitCode);
        Assert.Contains($"several Python processes in job {two}: ", processes.Stderr);
        foreach (var pid in pids) Assert.Contains($"PID {pid}  Python 3.14", processes.Stderr);
        Assert.Contains("pass the PID too: rdg attach JOB_ID PID", processes.Stderr);

        // In a terminal (a pseudo-terminal here): rdg asks, job first, then the process.
        var port = TestNet.FreePort();
        await using var terminal = PseudoTerminal.Start(Rdg("attach", "--port", port.ToString()), Env());
        var menu = await terminal.WaitForAsync("choice [1-");
        var jobChoice = menu.Split('\n').Single(l => l.Contains($"] {two}  ", StringComparison.Ordinal)).Trim().TrimStart('[').Split(']')[0];
        await terminal.SendLineAsync(jobChoice);
        menu = await terminal.WaitForAsync("Which process?", "choice [1-");
        var processLine = menu[menu.IndexOf("Which process?", StringComparison.Ordinal)..].Split('\n').Single(l => l.Contains($"PID {pids[1]} ", StringComparison.Ordinal));
        await terminal.SendLineAsync(processLine.Trim().TrimStart('[').Split(']')[0]);
        var shown = await terminal.WaitForAsync("From VS Code Remote-SSH");
        Assert.Equal(0, await terminal.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(two, Value(shown.Replace("\r", ""), "Job ID"));
        Assert.Equal(pids[1].ToString(), Value(shown.Replace("\r", ""), "PID"));
        Assert.Equal(port.ToString(), Value(shown.Replace("\r", ""), "Port"));
        await using var editor = await DapClient.ConnectAsync(Value(shown.Replace("\r", ""), "Address"), port);
        await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>>());
        await editor.DisconnectAsync();
    }
}
