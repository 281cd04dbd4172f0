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

    public static Task WaitUntilServingAsync(HttpClient http, TargetProcess app, string path = "/health") =>
        Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    if ((await http.GetAsync(path)).IsSuccessStatusCode) return true;
                }
                catch (HttpRequestException)
                {
                }
                return app.HasExited ? throw new InvalidOperationException("app exited:\n" + app.Stderr) : false;
            },
            TimeSpan.FromSeconds(60), "the app to serve " + path, () => app.Stderr);
}
