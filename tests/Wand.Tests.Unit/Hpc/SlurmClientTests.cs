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
}
