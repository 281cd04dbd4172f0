using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// A real podman container running the testbed rootfs through an overlay (<c>--rootfs DIR:O</c>: what
/// the container writes does not reach the testbed), in its own network namespace. Removed on dispose.
/// </summary>
public sealed class TestContainer : IAsyncDisposable
{
    private static readonly Lazy<string> Conf = new(() =>
    {
        var script = Path.Combine(Testbed.RepoRoot, "tests/testbed/podman.sh");
        var psi = new ProcessStartInfo(script) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var path = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("tests/testbed/podman.sh failed");
        // wand and podman started by the tests inherit it.
        Environment.SetEnvironmentVariable("CONTAINERS_CONF", path);
        return path;
    });

    private TestContainer(string name, string rootfs)
    {
        Name = name;
        Rootfs = rootfs;
    }

    public string Name { get; }

    /// <summary>The folder the container runs from (the testbed, or a trimmed copy of it).</summary>
    public string Rootfs { get; }

    /// <param name="options">More `podman run` options (e.g. `--pid container:NAME` to join a pod's process namespace).</param>
    public static async Task<TestContainer> StartAsync(IEnumerable<string> command, string? rootfs = null, bool interactive = false, IReadOnlyList<string>? options = null)
    {
        Testbed.EnsureReady();
        _ = Conf.Value;
        var name = "wand-test-" + Guid.NewGuid().ToString("N")[..10];
        rootfs ??= Testbed.Root;
        var r = await PodmanAsync(["run", "-d", .. interactive ? new[] { "-i" } : [], .. options ?? [], "--name", name, "--rootfs", rootfs + ":O", .. command]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"podman run failed: {r}");
        return new TestContainer(name, rootfs);
    }

    /// <summary>
    /// A copy of the testbed rootfs (hard links: instant, no space) without a shell, ps or tar: a
    /// container made from it has nothing but Python, like a distroless image.
    /// </summary>
    public static string ShellLessRootfs()
    {
        var copy = Testbed.Root + "-noshell";
        lock (Conf)
        {
            if (Directory.Exists(Path.Combine(copy, "usr"))) return copy;
            Directory.CreateDirectory(copy);
            foreach (var entry in Directory.EnumerateFileSystemEntries(Testbed.Root))
            {
                var name = Path.GetFileName(entry);
                if (name is "proc" or "dev") continue;
                var cp = Process.Start("cp", ["-a", "--link", entry, Path.Combine(copy, name)])!;
                cp.WaitForExit();
                if (cp.ExitCode != 0) throw new InvalidOperationException($"cp -a --link {entry} failed");
            }
            Directory.CreateDirectory(Path.Combine(copy, "proc"));
            Directory.CreateDirectory(Path.Combine(copy, "dev"));
            foreach (var tool in new[] { "usr/bin/sh", "usr/bin/dash", "usr/bin/bash", "usr/bin/ps", "usr/bin/tar", "usr/bin/busybox" })
                File.Delete(Path.Combine(copy, tool));
            return copy;
        }
    }

    /// <summary>The host PID of the container's first process.</summary>
    public async Task<int> HostPidAsync() => int.Parse((await PodmanAsync(["inspect", "--format", "{{.State.Pid}}", Name])).Stdout.Trim());

    /// <summary>Runs Python code inside the container (podman exec) and returns its stdout.</summary>
    public async Task<string> PythonAsync(string code)
    {
        var r = await PodmanAsync(["exec", Name, "/usr/bin/python3.14", "-c", code]);
        if (r.ExitCode != 0) throw new InvalidOperationException($"podman exec failed: {r}");
        return r.Stdout;
    }

    public static async Task<CliResult> PodmanAsync(IEnumerable<string> args)
    {
        _ = Conf.Value;
        var psi = new ProcessStartInfo("podman") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }

    public async ValueTask DisposeAsync() => await PodmanAsync(["rm", "-f", "-t", "0", Name]);
}
