using Wand.Errors;
using Wand.Hpc;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

/// <summary>Slurm failing has its own exit code, apart from a job or process that is not there (issue 13).</summary>
public class SlurmClientTests
{
    [Fact]
    public async Task SqueueMissingFromPathIsASlurmFailure()
    {
        var e = await Assert.ThrowsAsync<WandException>(() => new SlurmClient(_ => null).RunningJobsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(ExitCodes.SlurmFailed, e.ExitCode);
        Assert.Contains("squeue was not found on PATH", e.Message);
    }

    [Fact]
    public async Task SqueueExitingWithAnErrorIsASlurmFailure()
    {
        // /bin/false stands in for an squeue that cannot reach slurmctld: it exits 1.
        var e = await Assert.ThrowsAsync<WandException>(() => new SlurmClient(_ => "/bin/false").RunningJobsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(ExitCodes.SlurmFailed, e.ExitCode);
        Assert.StartsWith("squeue failed", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingAStepKillsIt()
    {
        // A stand-in srun that hangs (as srun does while the step waits for the job's resources).
        var seconds = Transport.ChildProcesses.UniqueSleep();
        var dir = Directory.CreateTempSubdirectory("wand-srun-");
        try
        {
            var srun = Path.Combine(dir.FullName, "srun");
            await File.WriteAllTextAsync(srun, $"#!/bin/sh\nexec sleep {seconds}\n", TestContext.Current.CancellationToken);
            File.SetUnixFileMode(srun, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            var step = new SlurmClient(_ => srun).StepAsync("1", "node1", ["true"], cts.Token);
            await Eventually.TrueAsync(() => Transport.ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start");
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => step);
            await Eventually.TrueAsync(() => Transport.ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be gone");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
