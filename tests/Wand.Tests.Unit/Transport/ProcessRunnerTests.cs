using Wand.Transport;
using Xunit;

namespace Wand.Tests.Unit.Transport;

/// <summary>Every run has a limit, and neither the limit nor a cancel leaves the child (or its children) running.</summary>
public class ProcessRunnerTests
{
    [Fact(Timeout = 30_000)]
    public async Task ARunPastItsTimeoutIsKilledAndReported()
    {
        var seconds = ChildProcesses.UniqueSleep();
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            ProcessRunner.RunAsync("sleep", [seconds], null, TimeSpan.FromMilliseconds(300), TestContext.Current.CancellationToken));
        Assert.Contains($"sleep {seconds} did not finish within", e.Message);
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be gone");
    }

    [Fact(Timeout = 30_000)]
    public async Task CancelKillsTheChildAndItsChildren()
    {
        // sh starts the sleep as its own child: the kill must reach the whole tree, not only sh.
        var seconds = ChildProcesses.UniqueSleep();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = ProcessRunner.RunAsync("sh", ["-c", "sleep \"$0\" & wait", seconds], null, TimeSpan.FromMinutes(5), cts.Token);
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be gone");
    }

    [Fact(Timeout = 30_000)]
    public async Task StdinIsGivenAndOutputCollected()
    {
        var r = await ProcessRunner.RunAsync("cat", [], "hello", TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(r.Ok);
        Assert.Equal("hello", r.Stdout);
    }

    /// <summary>
    /// A child that ends without reading its input (kubectl refused: the pod or its container is gone) is a
    /// failed run with its own exit code and words, never a broken pipe escaping as a bug (exit 70 on Ctrl+C
    /// of a pod session whose pod went meanwhile).
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task AChildThatEndsWithoutReadingItsInputIsAFailedRunNotABrokenPipe()
    {
        var input = new string('x', 4 * 1024 * 1024); // more than a pipe holds: the write meets the closed end
        var r = await ProcessRunner.RunAsync("sh", ["-c", "echo refused >&2; exit 3"], input, TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("refused\n", r.Stderr);
    }
}
