using System.Diagnostics;
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

    private static async Task<string> WaitForOutputAsync(string file, string text)
    {
        for (var i = 0; i < 600; i++)
        {
            if (File.Exists(file) && await File.ReadAllTextAsync(file) is var content && content.Contains(text, StringComparison.Ordinal)) return content;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the job never printed '{text}':\n{(File.Exists(file) ? File.ReadAllText(file) : "(no output file)")}");
    }

    private static string[] Rdg(params string[] args) => ["dotnet", "exec", RdgProcess.Dll, .. args];

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

    [Theory]
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

        var attach = await RunAsync("dotnet", ["exec", RdgProcess.Dll, "attach", job], Env());
        Assert.True(attach.ExitCode == 0, attach.Stderr + attach.Stdout);
        Assert.Equal(job, Value(attach.Stdout, "Job ID"));
        Assert.Equal("lite", Value(attach.Stdout, "Mode"));
        Assert.Contains("ssh -N -L 5679:", attach.Stdout);
        var host = Value(attach.Stdout, "Address");
        Assert.NotEqual("0.0.0.0", host);
        await HitLoopBreakpointAsync(host, int.Parse(Value(attach.Stdout, "Port")), script);
        await WaitForOutputAsync(output, "[rdg] the debugger was activated");
    }

    [Fact]
    public async Task AnUnpreparedPython314JobIsAttachedWithZeroPreparation()
    {
        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var (job, output) = await SubmitAsync([RdgProcess.HostPython("3.14"), "-u", script]);
        await WaitForOutputAsync(output, "training");
        var list = await RunAsync("srun", [$"--jobid={job}", "--overlap", .. Rdg("node", "list", "--job", job)], Env());
        var pid = System.Text.Json.JsonDocument.Parse(list.Stdout).RootElement[0].GetProperty("pid").GetInt32();

        var attach = await RunAsync("dotnet", ["exec", RdgProcess.Dll, "attach", job, pid.ToString(), "--port", TestNet.FreePort().ToString()], Env());
        Assert.True(attach.ExitCode == 0, attach.Stderr + attach.Stdout);
        Assert.Equal("attached", Value(attach.Stdout, "Mode"));
        await HitLoopBreakpointAsync(Value(attach.Stdout, "Address"), int.Parse(Value(attach.Stdout, "Port")), script);
    }

    [Fact]
    public async Task JobsThatAreNotRunningAndPidsNotInTheJobAreRefused()
    {
        var gone = await RunAsync("dotnet", ["exec", RdgProcess.Dll, "attach", "999999", "1"], Env());
        Assert.Equal(ExitCodes.ProcessNotFound, gone.ExitCode);
        Assert.Contains("job 999999", gone.Stderr);
        Assert.Contains("only your RUNNING jobs can be attached", gone.Stderr);

        var script = Path.Combine(_dir, "train.py");
        await File.WriteAllTextAsync(script, Loop);
        var (job, output) = await SubmitAsync(Rdg("debug", "--lite", RdgProcess.HostPython("3.13"), "train.py"));
        await WaitForOutputAsync(output, "training");
        await WaitForOutputAsync(output, "To activate the debugger");
        var wrongPid = await RunAsync("dotnet", ["exec", RdgProcess.Dll, "attach", job, "1"], Env());
        Assert.Equal(ExitCodes.ProcessNotFound, wrongPid.ExitCode);
        Assert.Contains($"PID 1 is not one of your Python processes in job {job}", wrongPid.Stderr);
        Assert.Contains("lite-armed", wrongPid.Stderr); // the hint lists the job's processes

        // srun missing (squeue and scontrol only): a clear error, not a crash.
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        foreach (var tool in new[] { "squeue", "scontrol" }) File.CreateSymbolicLink(Path.Combine(bin, tool), $"/usr/bin/{tool}");
        var noSrun = await RunAsync("/usr/bin/dotnet", ["exec", RdgProcess.Dll, "attach", job], Env(new Dictionary<string, string> { ["PATH"] = bin }));
        Assert.Equal(ExitCodes.ProcessNotFound, noSrun.ExitCode);
        Assert.Contains("srun was not found on PATH", noSrun.Stderr);

        await RunAsync("scancel", [job]);
        for (var i = 0; i < 100 && (await RunAsync("squeue", ["-h", "-j", job, "-t", "RUNNING"])).Stdout.Trim().Length > 0; i++) await Task.Delay(100);
        var ended = await RunAsync("dotnet", ["exec", RdgProcess.Dll, "attach", job], Env());
        Assert.Equal(ExitCodes.ProcessNotFound, ended.ExitCode);
        Assert.Contains($"job {job}", ended.Stderr);
    }

    [Fact]
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
}
