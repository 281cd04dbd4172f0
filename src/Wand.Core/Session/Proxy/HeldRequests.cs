using System.Text.Json.Nodes;

namespace Wand.Session.Proxy;

/// <summary>
/// Editor requests that no backend can take yet (none is there, or its link is still connecting or
/// replaying), kept in order until one can; each waits at most its deadline, after which
/// <c>expired</c> is called with its id (from a timer thread: it must only post).
/// </summary>
/// <remarks>Used only from its editor connection's work queue.</remarks>
internal sealed class HeldRequests(TimeProvider time, TimeSpan wait, CancellationToken closed, Action<long> expired)
{
    private readonly List<Held> _held = [];
    private long _ids;

    /// <summary>One held request; <see cref="Id"/> names it to its deadline.</summary>
    public sealed record Held(long Id, JsonObject Request, int Seq, string Command);

    /// <param name="expires">False for a request whose wait ends with the backend wait (<see cref="LinkSupervisor.WaitForBackend"/>) instead.</param>
    public void Add(JsonObject request, int seq, string command, bool expires = true)
    {
        var id = ++_ids;
        _held.Add(new Held(id, request, seq, command));
        if (!expires) return;
        _ = Task.Delay(wait, time, closed).ContinueWith(t => { if (!t.IsCanceled) expired(id); }, TaskScheduler.Default);
    }

    /// <summary>Held again after <see cref="TakeAll"/> (lost the backend meanwhile), under its first deadline.</summary>
    public void PutBack(Held held) => _held.Add(held);

    /// <summary>The request of that id, if it is still held (no longer held afterwards).</summary>
    public Held? Take(long id) => TakeAt(_held.FindIndex(h => h.Id == id));

    /// <summary>The request the editor numbered <paramref name="seq"/>, if it is still held (no longer held afterwards).</summary>
    public Held? TakeBySeq(int seq) => TakeAt(_held.FindIndex(h => h.Seq == seq));

    /// <summary>All held requests, oldest first; none is held afterwards.</summary>
    public IReadOnlyList<Held> TakeAll()
    {
        var all = _held.ToList();
        _held.Clear();
        return all;
    }

    private Held? TakeAt(int index)
    {
        if (index < 0) return null;
        var held = _held[index];
        _held.RemoveAt(index);
        return held;
    }
}
