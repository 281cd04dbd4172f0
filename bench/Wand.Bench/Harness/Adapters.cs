using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wand.Bench.Harness;

/// <summary>
/// debugpy's adapter daemonizes (it is re-parented, so killing the target's process tree misses it):
/// it is found by its command line, <c>--for-server ... --port P</c>, and ended by PID. Only ports
/// this benchmark handed out are ever touched.
/// </summary>
public static class Adapters
{
    private static readonly HashSet<int> Used = [];

    /// <summary>A free loopback port (the kernel picks it; binding is not a connection, so no debugpy is disturbed).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        lock (Used) Used.Add(port);
        return port;
    }

    /// <summary>Kills the debugpy adapters listening for <paramref name="port"/>; returns how many.</summary>
    public static int Kill(int port)
    {
        var killed = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var i = Array.IndexOf(argv, "--port");
            if (!argv.Contains("--for-server") || i < 0 || i + 1 >= argv.Length || argv[i + 1] != port.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill();
                p.WaitForExit(5000);
                killed++;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // exited meanwhile
            }
        }
        return killed;
    }

    /// <summary>Kills the adapters of every port handed out by <see cref="FreePort"/>.</summary>
    public static void KillAll()
    {
        int[] ports;
        lock (Used) ports = [.. Used];
        foreach (var port in ports) Kill(port);
    }
}
