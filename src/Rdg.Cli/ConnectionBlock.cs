using System.Globalization;
using Wand.Hpc;

namespace Rdg.Cli;

/// <summary>The connection details rdg prints (job output for rdg debug, the terminal for rdg attach): plain lines, no escape codes.</summary>
public static class ConnectionBlock
{
    public static void Print(TextWriter w, string node, string host, int port, string remotePath, string? jobId, int pid, string mode, LoginTarget login, int localPort)
    {
        w.WriteLine("--- Python Debugger Info ---");
        w.WriteLine($"Node: {node}");
        w.WriteLine($"Address: {host}");
        w.WriteLine($"Port: {port.ToString(CultureInfo.InvariantCulture)}");
        w.WriteLine($"Remote Path: {remotePath}");
        w.WriteLine($"Job ID: {jobId ?? "(none)"}");
        w.WriteLine($"PID: {pid}");
        w.WriteLine($"Mode: {mode}");
        w.WriteLine("----------------------------");
        w.WriteLine("From your laptop, open the tunnel (keep it running):");
        w.WriteLine($"  ssh -N -L {localPort}:{host}:{port} {login.SshDestination}");
        if (!login.Known)
            w.WriteLine("  (the login host is unknown: replace <login-host>, or set RDG_LOGIN_HOST=user@login.example.org / pass --login)");
        w.WriteLine($"  or: rdg tunnel {jobId ?? pid.ToString(CultureInfo.InvariantCulture)} --via {login.SshDestination}");
        w.WriteLine($"Then attach VS Code to localhost:{localPort} (\"{LaunchJsonSettings.TunnelName}\", remote path {remotePath}).");
        w.WriteLine($"From VS Code Remote-SSH on the login node: attach to {host}:{port} (\"{LaunchJsonSettings.NodeName}\").");
        w.Flush();
    }
}
