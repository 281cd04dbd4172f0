using System.Net;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Transport;

public class ListeningSocketTests
{
    [Fact]
    public void ParsesListenEntriesOfTcpAndTcp6()
    {
        const string tcp = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1667 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
               1: 0100007F:1667 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 20 4 30 10 -1
               2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
            """;
        var sockets = ListeningSocket.ParseAll(tcp);
        Assert.Equal(2, sockets.Count); // the ESTABLISHED (01) line is not a listener
        Assert.Equal(new ListeningSocket(IPAddress.Loopback, 5735, 123456), sockets[0]);
        Assert.Equal(new ListeningSocket(IPAddress.Any, 22, 222), sockets[1]);

        const string tcp6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
            """;
        var v6 = Assert.Single(ListeningSocket.ParseAll(tcp6));
        Assert.Equal(IPAddress.IPv6Loopback, v6.Address);
        Assert.Equal(8080, v6.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("header only")]
    [InlineData("header\n 0: nonsense 00000000:0000 0A x x x x x 12")]
    [InlineData("header\n 0: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 0 0 12")]
    public void IgnoresMalformedLines(string text) => Assert.Empty(ListeningSocket.ParseAll(text));
}
