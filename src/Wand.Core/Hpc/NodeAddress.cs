using System.Net;
using System.Net.Sockets;

namespace Wand.Hpc;

/// <summary>
/// The address debugpy binds to on the node: the one the login node reaches. Never 0.0.0.0 (debugpy
/// runs code for whoever connects): the local address of the route towards the login host (a UDP
/// "connect" picks the route and sends nothing), else the first non-loopback address of this host's
/// name, else loopback.
/// </summary>
public static class NodeAddress
{
    public static string Choose(string? loginHost)
    {
        if (loginHost is { Length: > 0 } && RouteTo(loginHost) is { } routed) return routed;
        try
        {
            var own = Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
            if (own is not null) return own.ToString();
        }
        catch (SocketException)
        {
        }
        return "127.0.0.1";
    }

    /// <summary>This machine's address on the way to <paramref name="host"/>; null when it does not resolve or has no route.</summary>
    public static string? RouteTo(string host)
    {
        try
        {
            var target = IPAddress.TryParse(host, out var ip) ? ip
                : Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            if (target is null) return null;
            using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(new IPEndPoint(target, 22));
            return (socket.LocalEndPoint as IPEndPoint)?.Address.ToString();
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The fully qualified name of a host or address; null when it does not resolve.</summary>
    public static string? Fqdn(string hostOrAddress)
    {
        try
        {
            return Dns.GetHostEntry(hostOrAddress).HostName is { Length: > 0 } name ? name : null;
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>This node's name as the cluster knows it (fully qualified when it resolves).</summary>
    public static string ThisNode() => Fqdn(Dns.GetHostName()) ?? Dns.GetHostName();
}
