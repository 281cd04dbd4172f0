using Wand.Errors;
using Wand.Transport;

namespace Wand.Hpc;

/// <summary>
/// The Slurm commands rdg runs (squeue, scontrol, srun), always as argv arrays, never through a shell:
/// job names, node names and paths come from users and clusters.
/// </summary>
public sealed class SlurmClient(Func<string, string?> which)
{
    public static SlurmClient Default { get; } = new(name => ProgramCommand.Which(name, Environment.GetEnvironmentVariable("PATH")));

    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A step on the node may start debugpy (a cold import takes seconds) or wait for a safe point.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(120);

    public bool Available => which("squeue") is not null;

    /// <summary>The user's RUNNING jobs only (pending ones have no process to attach to).</summary>
    public async Task<IReadOnlyList<SlurmJob>> RunningJobsAsync(CancellationToken cancellationToken)
    {
        var r = await RunAsync("squeue", ["--me", "-t", "RUNNING", "-h", "-o", "%i|%j|%T|%M|%N"], cancellationToken);
        if (r.ExitCode != 0) throw new WandException(ExitCodes.SlurmFailed, $"squeue failed: {FirstLine(r.Stderr)}", "check that Slurm answers (sinfo)");
        return SlurmJob.ParseSqueue(r.Stdout);
    }

    /// <summary>Why <paramref name="jobId"/> is not one of the user's running jobs, in words.</summary>
    public async Task<string> ExplainNotRunningAsync(string jobId, CancellationToken cancellationToken)
    {
        var r = await RunAsync("squeue", ["-h", "-j", jobId, "-o", "%T|%u"], cancellationToken);
        var fields = r.ExitCode == 0 ? r.Stdout.Trim().Split('|') : [];
        if (fields.Length == 2)
            return fields[1] != Environment.UserName && fields[1] != Environment.GetEnvironmentVariable("USER")
                ? $"job {jobId} belongs to {fields[1]}, not to you"
                : $"job {jobId} is {fields[0]}, not RUNNING";
        var show = await RunAsync("scontrol", ["show", "job", jobId], cancellationToken);
        var state = show.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(t => t.StartsWith("JobState=", StringComparison.Ordinal));
        return state is not null ? $"job {jobId} has ended ({state["JobState=".Length..]})" : $"job {jobId} does not exist (or has ended long ago)";
    }

    /// <summary>node[01-02],gpu7 → node01, node02, gpu7 (scontrol show hostnames).</summary>
    public async Task<IReadOnlyList<string>> ExpandNodesAsync(string nodeList, CancellationToken cancellationToken)
    {
        var r = await RunAsync("scontrol", ["show", "hostnames", nodeList], cancellationToken);
        return r.ExitCode == 0 ? r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [nodeList];
    }

    /// <summary>
    /// Runs <paramref name="argv"/> on <paramref name="node"/> inside the job: <c>--overlap</c> so the step
    /// shares the job's resources (an exclusive step would wait for the job's own), <c>-w</c> so it runs
    /// on that node of a multi-node job, one task.
    /// </summary>
    public Task<ProcessResult> StepAsync(string jobId, string node, IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
        RunAsync("srun", ["--jobid=" + jobId, "--overlap", "-w", node, "-N", "1", "-n", "1", "--quiet", .. argv], cancellationToken, StepTimeout);

    private async Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var limit = timeout ?? CommandTimeout;
        var path = which(program) ?? throw new WandException(ExitCodes.SlurmFailed, $"{program} was not found on PATH (is this a Slurm login node?)",
            "load Slurm's module (module load slurm)", remedy: new Remedy(RemedyKind.RunOnLoginNode));
        try
        {
            // stdin is empty (not the terminal): srun would otherwise forward the user's keystrokes to the step.
            // Slurm's clients retry for a minute when the controller or its configuration is missing: hence the limit.
            return await ProcessRunner.RunAsync(path, args, "", limit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new WandException(ExitCodes.SlurmFailed, $"{program} did not answer within {limit.TotalSeconds:0} s", "check that Slurm answers (sinfo) and SLURM_CONF");
        }
    }

    private static string FirstLine(string text) => text.Trim().Split('\n')[0];
}
