using System.Diagnostics;
using System.IO.Compression;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary>
/// `dotnet pack` then `dotnet tool install --add-source` gives working `wand` and `rdg` commands: on linux-x64
/// the NativeAOT executables, which run without a .NET runtime; the framework-dependent package is there for
/// every other platform.
/// </summary>
public class PackagingTests
{
    [Fact(Timeout = TestTimeouts.Packaging)]
    public async Task PackedToolsInstallAndRun()
    {
        var work = Directory.CreateTempSubdirectory("wand-pack-").FullName;
        // A folder in the testbed rootfs (Debian with Python, no .NET): the installed wand runs there too.
        var bare = Path.Combine(Testbed.HostPath("/tmp"), $"aot-tool-{Guid.NewGuid():N}");
        try
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var feed = Path.Combine(work, "feed");
            var tools = Path.Combine(work, "tools");
            foreach (var project in new[] { "src/Wand.Cli", "src/Rdg.Cli" })
                // One pack makes all three packages (src/Tool.props); not --no-build, each is published by pack itself.
                await RunAsync("dotnet", "pack", Path.Combine(Testbed.RepoRoot, project), "-c", configuration, "-o", feed);
            foreach (var tool in new[] { "wand", "rdg" })
            {
                foreach (var package in new[] { tool, $"{tool}.linux-x64", $"{tool}.any" })
                    Assert.True(File.Exists(Path.Combine(feed, $"{package}.0.1.0.nupkg")), $"no {package} package in {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
                await RunAsync("dotnet", "tool", "install", "--tool-path", tools, "--add-source", feed, "--version", "0.1.0", tool);
            }

            // What was installed is the NativeAOT executable: no managed assembly of wand's anywhere.
            var store = Path.Combine(tools, ".store");
            Assert.True(File.Exists(Path.Combine(store, "wand/0.1.0/wand.linux-x64/0.1.0/tools/any/linux-x64/wand")), "expected the linux-x64 package to be installed");
            Assert.Empty(Directory.EnumerateFiles(store, "*.dll", SearchOption.AllDirectories));
            Assert.Equal("0.1.0", (await RunAsync(Path.Combine(tools, "wand"), "--version")).Trim());
            Assert.Contains("wand ps", await RunAsync(Path.Combine(tools, "wand"), "--help") + await RunAsync(Path.Combine(tools, "wand"), "ps", "--help"));
            // Source-generated JSON: reflection-based serialization fails in an AOT build.
            Assert.StartsWith("[", (await RunAsync(Path.Combine(tools, "wand"), "ps", "--output", "json")).TrimStart());
            Assert.Contains("Slurm", await RunAsync(Path.Combine(tools, "rdg"), "--help"));
            // The DAP client the tests act as an editor with is not part of the tool.
            Assert.Empty(Directory.EnumerateFiles(tools, "Wand.Testing.*", SearchOption.AllDirectories));

            // On a machine without .NET: the testbed rootfs has none (checked), and the executable still runs there.
            Assert.False(Directory.Exists(Testbed.HostPath("/usr/share/dotnet")) || File.Exists(Testbed.HostPath("/usr/bin/dotnet")), "the testbed rootfs was meant to have no .NET");
            Directory.CreateDirectory(bare);
            File.Copy(Path.Combine(tools, ".store/wand/0.1.0/wand.linux-x64/0.1.0/tools/any/linux-x64/wand"), Path.Combine(bare, "wand"));
            var inRootfs = "/tmp/" + Path.GetFileName(bare) + "/wand";
            Assert.Equal("0.1.0", (await RunAsync("chroot", Testbed.Root, inRootfs, "--version")).Trim());
            Assert.StartsWith("[", (await RunAsync("chroot", Testbed.Root, inRootfs, "ps", "--output", "json")).TrimStart());

            // The fallback for other platforms is framework-dependent: wand.dll, run by any .NET 10.
            var fallback = Path.Combine(work, "any");
            ZipFile.ExtractToDirectory(Path.Combine(feed, "wand.any.0.1.0.nupkg"), fallback);
            Assert.Equal("0.1.0", (await RunAsync("dotnet", "exec", Path.Combine(fallback, "tools/net10.0/any/wand.dll"), "--version")).Trim());
        }
        finally
        {
            Directory.Delete(work, true);
            if (Directory.Exists(bare)) Directory.Delete(bare, true);
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
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}
