using System.Diagnostics;
using Xunit;

namespace Wand.Tests.Unit;

/// <summary>This machine's python3, for unit tests that run a payload's Python with a real interpreter.</summary>
internal static class HostPython
{
    public const string Path = "/usr/bin/python3";

    /// <summary>Runs <paramref name="harness"/> (<c>python3 -c</c>) with <paramref name="input"/> on its stdin; its stdout once it exited with 0.</summary>
    public static async Task<string> RunAsync(string harness, string input)
    {
        Assert.True(File.Exists(Path), $"{Path} is needed to run wand's payloads");
        var psi = new ProcessStartInfo(Path) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(harness);
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(input);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await stderr);
        return await stdout;
    }
}
