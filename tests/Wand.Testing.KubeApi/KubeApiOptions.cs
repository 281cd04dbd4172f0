namespace Wand.Testing.KubeApi;

/// <summary>How the server behaves where API server releases differ.</summary>
public sealed record KubeApiOptions
{
    /// <summary>
    /// Serve exec as an API server older than 1.30 does: no WebSocket v5.channel.k8s.io (kubectl 1.32
    /// asks only for v5 over WebSocket, so it falls back to SPDY with v4.channel.k8s.io), and the end of
    /// kubectl's stdin never reaches the command, as no v4 server can signal it.
    /// </summary>
    public bool ExecV4Only { get; init; }
}
