namespace Wand.Session.Proxy;

/// <summary>Where an editor connection's backend link is.</summary>
internal enum LinkState
{
    /// <summary>No backend: requests are held, or answered here (see <see cref="DapProxy"/>).</summary>
    None,

    /// <summary>Connecting to a backend and replaying the editor's conversation: requests are held until it is done.</summary>
    Connecting,

    /// <summary>Requests go to the backend as they come.</summary>
    Live,
}
