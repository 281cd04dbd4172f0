using System.Net;
using System.Net.Sockets;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Transport;

public class PortOwnerTests
{
    [Fact]
    public async Task TheLocalPortOfAConnectionIsNotOfferedAsFree()
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)server.LocalEndpoint).Port);
        var clientPort = ((IPEndPoint)client.Client.LocalEndPoint!).Port;

        // Nobody listens on the client's port, yet binding it fails: it must be skipped.
        Assert.DoesNotContain(ProcFs.Default.ListeningSockets(), s => s.Port == clientPort);
        Assert.NotEqual(clientPort, PortOwner.NextFree(clientPort, ProcFs.Default));
    }
}
