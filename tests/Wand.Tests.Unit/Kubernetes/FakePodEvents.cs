using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Wand.Progress;
using Wand.Transport.Kubernetes;

namespace Wand.Tests.Unit.Kubernetes;

/// <summary>A pod source the test drives: it answers lists with <see cref="Listed"/> and each watch with the events the test sends, until the test ends that stream.</summary>
public sealed class FakePodEvents : IPodEventSource, IProgressReporter
{
    private Channel<PodEvent>? _stream;
    private int _lists;
    private int _watches;

    /// <summary>What a list answers.</summary>
    public IReadOnlyList<PodInfo> Listed { get; set; } = [];

    public int Lists => Volatile.Read(ref _lists);

    public int Watches => Volatile.Read(ref _watches);

    /// <summary>What the watch reported through its progress.</summary>
    public ConcurrentQueue<string> Steps { get; } = new();

    public Task<IReadOnlyList<PodInfo>> ListAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lists);
        return Task.FromResult(Listed);
    }

    public async IAsyncEnumerable<PodEvent> WatchAsync(Action<string> ended, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = Channel.CreateUnbounded<PodEvent>();
        Volatile.Write(ref _stream, stream);
        Interlocked.Increment(ref _watches);
        await foreach (var e in stream.Reader.ReadAllAsync(cancellationToken)) yield return e;
        ended("the fake stream ended");
    }

    /// <summary>Sends an event on the running watch (wait for <see cref="Watches"/> first).</summary>
    public void Send(string type, PodInfo pod) => Volatile.Read(ref _stream)!.Writer.TryWrite(new PodEvent(type, pod));

    /// <summary>The running watch ends (kubectl exited).</summary>
    public void EndStream() => Volatile.Read(ref _stream)!.Writer.TryComplete();

    public void Step(string message) => Steps.Enqueue(message);

    public static PodInfo Pod(string name, bool ready, bool terminating = false, string? revision = null, int minutesAgo = 1) =>
        new(name, "ns", ready ? "Running" : "Pending", ready && !terminating, 0, DateTimeOffset.UnixEpoch.AddDays(1).AddMinutes(-minutesAgo), "node",
            revision is null ? new Dictionary<string, string>() : new() { [PodInfo.KnativeServiceLabel] = "hello", [PodInfo.KnativeRevisionLabel] = revision },
            [("app", "python")], null) { Terminating = terminating, Status = terminating ? "Terminating" : "" };
}
