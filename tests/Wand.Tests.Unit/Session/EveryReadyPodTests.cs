using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Wand.Errors;
using Wand.Session;
using Wand.Transport.Kubernetes;
using Xunit;

namespace Wand.Tests.Unit.Session;

/// <summary>
/// The --all pod loop's timing on a fake clock: the test answers every look at the pods itself, and
/// the clock moves only when the test moves it, so "the next round" is exactly one interval later.
/// </summary>
public class EveryReadyPodTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 30_000)]
    public async Task APodThatBecomesReadyJoinsOnTheNextRound()
    {
        await using var run = new LoopRun();
        await run.AnswerAsync(Pod("a", ready: true), Pod("b", ready: false));
        await run.WaitForAsync("join a");
        var firstLook = run.Time.GetUtcNow();

        await run.AnswerAfterIntervalAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join b");

        Assert.Equal(EveryReadyPod.Interval, run.Time.GetUtcNow() - firstLook);
        Assert.Equal(["join a", "join b"], run.Events);
    }

    [Fact(Timeout = 30_000)]
    public async Task APodThatGoesAwayLeavesAndTheOthersStay()
    {
        await using var run = new LoopRun();
        await run.AnswerAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join b");
        await run.WaitForAsync("join a");

        await run.AnswerAfterIntervalAsync(Pod("a", ready: true)); // b was deleted
        await run.WaitForAsync("leave b");

        await run.AnswerAfterIntervalAsync(Pod("a", ready: false), Pod("b", ready: true)); // a is no longer Ready; b's name is back
        await run.WaitForAsync("leave a");
        await run.AnswerAfterIntervalAsync(Pod("a", ready: true), Pod("b", ready: true)); // a round later: nothing new
        await run.RoundDoneAsync();
        Assert.Equal(1, run.Events.Count(e => e == "join b")); // a pod whose session ended is not tried again
        Assert.Equal(1, run.Events.Count(e => e == "join a"));
        Assert.Equal(2, run.Events.Count(e => e.StartsWith("leave ", StringComparison.Ordinal)));
    }

    [Fact(Timeout = 30_000)]
    public async Task APodWhoseSessionEndedByItselfIsNotTriedAgain()
    {
        await using var run = new LoopRun();
        await run.AnswerAsync(Pod("a", ready: true));
        await run.WaitForAsync("join a");
        run.End("a"); // e.g. its Python is too old: the session said why and ended
        await run.WaitForAsync("end a");

        await run.AnswerAfterIntervalAsync(Pod("a", ready: true));
        await run.AnswerAfterIntervalAsync(Pod("a", ready: true));
        await run.RoundDoneAsync();

        Assert.Equal(["join a", "end a"], run.Events);
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingEndsEveryPodsSessionBeforeItReturns()
    {
        await using var run = new LoopRun();
        await run.AnswerAsync(Pod("a", ready: true), Pod("b", ready: true));
        await run.WaitForAsync("join a");
        await run.WaitForAsync("join b");

        await run.Cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Loop.WaitAsync(Deadline));
        Assert.Contains("leave a", run.Events);
        Assert.Contains("leave b", run.Events);
    }

    [Fact(Timeout = 30_000)]
    public async Task NoReadyPodOnTheFirstLookIsTheUsersError()
    {
        await using var run = new LoopRun();
        await run.AnswerAsync(Pod("a", ready: false));

        var error = await Assert.ThrowsAsync<WandException>(() => run.Loop.WaitAsync(Deadline));
        Assert.Equal(ExitCodes.KubeNotFound, error.ExitCode);
        Assert.Contains("no Ready pod behind service web", error.Message);
        Assert.Empty(run.Events);
    }

    private static PodInfo Pod(string name, bool ready) =>
        new(name, "ns", ready ? "Running" : "Pending", ready, 0, DateTimeOffset.UnixEpoch, "node", new Dictionary<string, string>(), [("app", "python")], null);

    /// <summary>A fake clock that counts the waits started on it (Task.Delay creates a timer), so a test knows the loop waits before it moves the clock.</summary>
    private sealed class CountingClock : FakeTimeProvider
    {
        private int _waits;

        public int Waits => Volatile.Read(ref _waits);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _waits); // counted once it is due (counted first, a test could move the clock before the timer is there)
            return timer;
        }
    }

    /// <summary>One loop on a fake clock, with a fake pod finder the test answers and fake pod sessions that record joining and leaving.</summary>
    private sealed class LoopRun : IAsyncDisposable
    {
        private readonly Channel<TaskCompletionSource<(IReadOnlyList<PodInfo>, string)>> _looks = Channel.CreateUnbounded<TaskCompletionSource<(IReadOnlyList<PodInfo>, string)>>();
        private readonly ConcurrentQueue<string> _events = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _ends = new();

        public LoopRun()
        {
            Loop = new EveryReadyPod(LookAsync, RunPodAsync, Time).RunAsync(Cancel.Token);
        }

        private int _answered;

        public CountingClock Time { get; } = new();

        public CancellationTokenSource Cancel { get; } = new();

        public Task Loop { get; }

        public IReadOnlyList<string> Events => _events.ToList();

        /// <summary>Answers the look the loop is making now (the first one, or one the clock already released).</summary>
        public async Task AnswerAsync(params PodInfo[] pods)
        {
            var look = await _looks.Reader.ReadAsync().AsTask().WaitAsync(Deadline);
            _answered++;
            look.SetResult((pods, "service web"));
        }

        /// <summary>Once the loop waits for its next round, moves the clock by exactly one interval and answers the look that follows.</summary>
        public async Task AnswerAfterIntervalAsync(params PodInfo[] pods)
        {
            await RoundDoneAsync();
            Assert.False(_looks.Reader.TryPeek(out _), "the loop looked at the pods again before the clock moved");
            Time.Advance(EveryReadyPod.Interval);
            await AnswerAsync(pods);
        }

        /// <summary>The loop has dealt with the last answer and waits for its next round.</summary>
        public Task RoundDoneAsync() => UntilAsync(() => Time.Waits == _answered, "the loop to wait for its next round");

        public Task WaitForAsync(string what) => UntilAsync(() => _events.Contains(what), $"\"{what}\"");

        /// <summary>Polls <paramref name="condition"/> (real time, the loop runs on other threads) and fails saying what it waited for.</summary>
        private Task UntilAsync(Func<bool> condition, string what) =>
            Eventually.TrueAsync(
                () => condition() || (Loop.IsCompleted
                    ? throw new Xunit.Sdk.XunitException($"the loop ended while waiting for {what}: {Loop.Exception?.InnerException?.Message ?? Loop.Status.ToString()}")
                    : false),
                Deadline, what, () => "events: " + string.Join(", ", _events));

        public void End(string pod) => _ends[pod].SetResult();

        private async Task<(IReadOnlyList<PodInfo>, string)> LookAsync(CancellationToken cancellationToken)
        {
            var look = new TaskCompletionSource<(IReadOnlyList<PodInfo>, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
            await _looks.Writer.WriteAsync(look, cancellationToken);
            return await look.Task.WaitAsync(cancellationToken);
        }

        private async Task RunPodAsync(PodInfo pod, CancellationToken cancellationToken)
        {
            var end = _ends[pod.Name] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _events.Enqueue($"join {pod.Name}");
            try
            {
                await end.Task.WaitAsync(cancellationToken);
                _events.Enqueue($"end {pod.Name}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _events.Enqueue($"leave {pod.Name}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Cancel.CancelAsync();
            try
            {
                await Loop.WaitAsync(Deadline);
            }
            catch (Exception e) when (e is OperationCanceledException or WandException)
            {
                // the loop ends by cancellation, or ended with the error a test looked at
            }
            Cancel.Dispose();
        }
    }
}
