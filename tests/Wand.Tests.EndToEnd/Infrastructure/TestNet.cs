using System.Net;
using System.Net.Sockets;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>Ports and HTTP readiness for end-to-end tests.</summary>
public static class TestNet
{
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>True when something listens on the loopback port, read from the socket table (never by connecting: see ../shared/design/TESTBED.md).</summary>
    public static bool IsListening(int port) =>
        Wand.Transport.Local.ProcFs.Default.ListeningSockets().Any(s => s.Port == port);

    public static async Task WaitUntilServingAsync(HttpClient http, TargetProcess app, string path = "/health")
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                if ((await http.GetAsync(path)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            if (app.HasExited) throw new InvalidOperationException("app exited:\n" + app.Stderr);
            await Task.Delay(100);
        }
        throw new TimeoutException("app never served " + path + ":\n" + app.Stderr);
    }
}
