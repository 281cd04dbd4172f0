namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// The provisioned rootfs with real Pythons (tests/testbed/provision.sh). A missing testbed is a
/// failure, not a skip: end-to-end tests must run in CI.
/// </summary>
public static class Testbed
{
    public static string Root { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed", "rootfs");

    public static string RepoRoot { get; } = FindRepoRoot();

    public static void EnsureReady()
    {
        if (!File.Exists(Path.Combine(Root, "usr/bin/python3.14")) || !File.Exists(Path.Combine(Root, "proc/self/stat")))
            throw new InvalidOperationException($"the testbed is not provisioned at {Root} (or /proc is not mounted there): run tests/testbed/provision.sh");
    }

    /// <summary>
    /// The rootfs that holds python<paramref name="version"/>: bullseye's 3.9 and bookworm's 3.11 have
    /// rootfs of their own (tests/testbed/oldpythons.sh), the others are in <see cref="Root"/>.
    /// "3.11-slim" is bookworm's 3.11 without libstdc++, as in a slim image.
    /// </summary>
    public static string RootFor(string version)
    {
        if (version is not ("3.9" or "3.11" or "3.11-slim")) return Root;
        var root = Path.Combine(Path.GetDirectoryName(Root)!, $"rootfs-{version}");
        if (!File.Exists(Path.Combine(root, $"usr/bin/{PythonName(version)}")) || !File.Exists(Path.Combine(root, "proc/self/stat")))
            throw new InvalidOperationException($"python{version} is not provisioned at {root} (or /proc is not mounted there): run tests/testbed/oldpythons.sh");
        return root;
    }

    /// <summary>The interpreter's file name for a version as <see cref="RootFor"/> takes it: python3.11 for "3.11-slim".</summary>
    public static string PythonName(string version) => "python" + version.Split('-')[0];

    /// <summary>What wand wrote into the /tmp of the rootfs of python<paramref name="version"/> and did not remove.</summary>
    public static string[] WandLeftovers(string version) => Directory.GetDirectories(RootFor(version) + "/tmp", "wand-*");

    /// <summary>A path inside the rootfs as the host sees it.</summary>
    public static string HostPath(string pathInRootfs) => Root + pathInRootfs;

    /// <summary>What wand wrote into the rootfs's /tmp and did not remove.</summary>
    public static string[] WandLeftovers() => Directory.GetDirectories(HostPath("/tmp"), "wand-*");

    /// <summary>
    /// Fails when wand left a folder in the rootfs's /tmp (of <paramref name="version"/>'s rootfs, else
    /// the default one). A folder that goes away within a few seconds is not a leftover but an operation
    /// still in flight (a test outside the serialized collection, a session's last step): that is waited out.
    /// </summary>
    public static void AssertNothingLeftBehind(string? version = null)
    {
        string[] Now() => version is null ? WandLeftovers() : WandLeftovers(version);
        if (!SpinWait.SpinUntil(() => Now().Length == 0, TimeSpan.FromSeconds(15)))
            Xunit.Assert.Fail("left behind in the target: " + string.Join(", ", Now()));
    }

    /// <summary>The 1-based line of a sample app marked <c># BREAKPOINT: name</c> (path as the target sees it).</summary>
    public static int BreakpointLine(string pathInRootfs, string name)
    {
        var lines = File.ReadAllLines(HostPath(pathInRootfs));
        var index = Array.FindIndex(lines, l => l.Contains($"# BREAKPOINT: {name}", StringComparison.Ordinal));
        return index >= 0 ? index + 1 : throw new InvalidOperationException($"no '# BREAKPOINT: {name}' in {pathInRootfs}");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Wand.slnx"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Wand.slnx) above " + AppContext.BaseDirectory);
    }
}
