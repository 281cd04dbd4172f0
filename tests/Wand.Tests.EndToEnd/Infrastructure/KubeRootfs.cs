using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// Images for fault tests of pods: copies of the testbed rootfs (hard links: instant, no space) with
/// something taken away, made once per machine and named after what is missing.
/// </summary>
public static class KubeRootfs
{
    private static readonly Lock Gate = new();

    /// <summary>An image whose Python has no debugpy.</summary>
    public static string WithoutDebugpy() => Without("nodebugpy", ["usr/lib/python3/dist-packages/debugpy"]);

    /// <summary>An image with no Python interpreter at all (a Go or Node image, say).</summary>
    public static string WithoutPython() => Without("nopython",
        Directory.EnumerateFiles(Path.Combine(Testbed.Root, "usr/bin"), "python*").Select(f => Path.GetRelativePath(Testbed.Root, f)).ToArray());

    private static string Without(string name, string[] removed)
    {
        Testbed.EnsureReady();
        var copy = Testbed.Root + "-kube-" + name;
        lock (Gate)
        {
            var done = Path.Combine(copy, ".wand-kube-rootfs");
            if (File.Exists(done)) return copy;
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
            Directory.CreateDirectory(copy);
            foreach (var entry in Directory.EnumerateFileSystemEntries(Testbed.Root))
            {
                var entryName = Path.GetFileName(entry);
                if (entryName is "proc" or "dev") continue; // mounts in the testbed; podman provides its own
                using var cp = Process.Start("cp", ["-a", "--link", entry, Path.Combine(copy, entryName)])!;
                cp.WaitForExit();
                if (cp.ExitCode != 0) throw new InvalidOperationException($"cp -a --link {entry} failed");
            }
            Directory.CreateDirectory(Path.Combine(copy, "proc"));
            Directory.CreateDirectory(Path.Combine(copy, "dev"));
            foreach (var relative in removed)
            {
                var path = Path.Combine(copy, relative);
                if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint)) Directory.Delete(path, recursive: true);
                else File.Delete(path);
            }
            File.WriteAllText(done, string.Join('\n', removed));
            return copy;
        }
    }
}
