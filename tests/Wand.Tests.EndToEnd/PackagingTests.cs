using System.Diagnostics;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>`dotnet pack` then `dotnet tool install --add-source` gives working `wand` and `rdg` commands.</summary>
public class PackagingTests
{
    [Fact(Timeout = TestTimeouts.Packaging)]
    public async Task PackedToolsInstallAndRun()
    {
        var work = Directory.CreateTempSubdirectory("wand-pack-").FullName;
        try
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var feed = Path.Combine(work, "feed");
            var tools = Path.Combine(work, "tools");
            foreach (var project in new[] { "src/Wand.Cli", "src/Rdg.Cli" })
                // Not --no-build: wand's tool packages are RID-specific (a ReadyToRun linux-x64 one and a
                // portable "any" one), each published by pack itself.
                await RunAsync("dotnet", "pack", Path.Combine(Testbed.RepoRoot, project), "-c", configuration, "-o", feed);
            foreach (var tool in new[] { "wand", "rdg" })
                await RunAsync("dotnet", "tool", "install", "--tool-path", tools, "--add-source", feed, "--version", "0.1.0", tool);

            Assert.Equal("0.1.0", (await RunAsync(Path.Combine(tools, "wand"), "--version")).Trim());
            Assert.True(File.Exists(Path.Combine(feed, "wand.linux-x64.0.1.0.nupkg")) && File.Exists(Path.Combine(feed, "wand.any.0.1.0.nupkg")),
                "expected the ReadyToRun linux-x64 package and the portable one");
            Assert.Contains("wand ps", await RunAsync(Path.Combine(tools, "wand"), "--help") + await RunAsync(Path.Combine(tools, "wand"), "ps", "--help"));
            Assert.StartsWith("[", (await RunAsync(Path.Combine(tools, "wand"), "ps", "--output", "json")).TrimStart());
            Assert.Contains("Slurm", await RunAsync(Path.Combine(tools, "rdg"), "--help"));
            // The DAP client the tests act as an editor with is not part of the tool.
            Assert.Empty(Directory.EnumerateFiles(tools, "Wand.Testing.*", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}
