namespace Wand.Session.Proxy;

/// <summary>
/// One debugpy the proxy can reach. Compared by reference: a process added again under the same key
/// (re-injected) is a new backend, so a failure recorded against the old one does not stick to it.
/// </summary>
internal sealed class ProxyBackend(string key, string description, Func<CancellationToken, Task<Stream>> connect, long order, long addedAt)
{
    public string Key { get; } = key;

    public string Description { get; } = description;

    public Func<CancellationToken, Task<Stream>> Connect { get; } = connect;

    /// <summary>When it was added, relative to the others: the most recent one wins in single-process sessions.</summary>
    public long Order { get; } = order;

    /// <summary>When it was added (a <see cref="TimeProvider.GetTimestamp"/> of the proxy's clock), for "armed after" figures.</summary>
    public long AddedAt { get; } = addedAt;

    public override string ToString() => Description;
}
