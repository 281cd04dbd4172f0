using Wand.Transport;
using Wand.Transport.Exec;
using Xunit;

namespace Wand.Tests.Unit.Transport;

/// <summary>
/// The injection's exec started ahead after a pod move: taken with its input when the same command is
/// asked for in the same place, else killed, never left running.
/// </summary>
public class PrestartedExecTests
{
    [Fact(Timeout = 30_000)]
    public async Task TheLastCommandIsStartedAheadAndReadsTheRequestWrittenLater()
    {
        using var ahead = new PrestartedExec(new HereTarget(), TimeProvider.System);
        string[] cat = ["cat"];
        Assert.Null(ahead.Take(cat)); // nothing started before the first: remembered

        ahead.Prestart();
        var started = ahead.Take(cat);
        Assert.NotNull(started);
        var r = await ProcessRunner.FinishAsync(started, "cat", "the request", TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal("the request", r.Stdout);
        Assert.Equal(1, ahead.Taken);
    }

    [Fact(Timeout = 30_000)]
    public async Task OneStartedForAnotherPlaceOrAnotherCommandIsKilledNotTaken()
    {
        var target = new HereTarget();
        using var ahead = new PrestartedExec(target, TimeProvider.System);
        var seconds = ChildProcesses.UniqueSleep();
        string[] sleep = ["sleep", seconds];
        ahead.Take(sleep);

        ahead.Prestart();
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start ahead");
        target.Description = "pod b (container app)"; // moved again meanwhile
        Assert.Null(ahead.Take(sleep));
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be killed");

        ahead.Prestart();
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start ahead again");
        Assert.Null(ahead.Take(["sleep", "1"])); // another PID's interpreter
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be killed");
        Assert.Equal(0, ahead.Taken);
    }

    [Fact(Timeout = 30_000)]
    public async Task OneNeverTakenIsKilledWhenDisposed()
    {
        var seconds = ChildProcesses.UniqueSleep();
        using (var ahead = new PrestartedExec(new HereTarget(), TimeProvider.System))
        {
            ahead.Take(["sleep", seconds]);
            ahead.Prestart();
            await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 1, TimeSpan.FromSeconds(10), $"sleep {seconds} to start ahead");
        }
        await Eventually.TrueAsync(() => ChildProcesses.Sleeping(seconds).Count == 0, TimeSpan.FromSeconds(10), $"sleep {seconds} to be killed");
    }

    /// <summary>Runs the command on this machine itself (no CLI in front), in a place the test names.</summary>
    private sealed class HereTarget : IExecTarget
    {
        public string Description { get; set; } = "pod a (container app)";
        public string Verb => "exec";
        public string Program => "env";
        public string EntryPath => "";
        public IReadOnlyList<string> ExecArguments(IReadOnlyList<string> command) => command;
    }
}
