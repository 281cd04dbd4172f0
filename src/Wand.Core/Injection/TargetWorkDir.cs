using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection;

/// <summary>
/// A private folder inside the target's own root (reached from here through /proc/PID/root), owned by
/// the target's uid, for the files an injected script reads and writes. Removed on dispose, so nothing
/// is left behind in the target.
/// </summary>
public sealed class TargetWorkDir : IDisposable
{
    private static readonly string[] Parents = ["/tmp", "/dev/shm", "/var/tmp"];

    private readonly int _uid;
    private readonly int _gid;

    private readonly string[] _fallbackPaths;

    private TargetWorkDir(string hostPath, string targetPath, IEnumerable<string> fallbackRoots, int uid, int gid)
    {
        HostPath = hostPath;
        _fallbackPaths = fallbackRoots.Select(root => root + targetPath).ToArray();
        TargetPath = targetPath;
        _uid = uid;
        _gid = gid;
    }

    /// <summary>The folder as wand reaches it (/proc/PID/root/tmp/wand-...).</summary>
    public string HostPath { get; }

    /// <summary>The folder as the target sees it (/tmp/wand-...).</summary>
    public string TargetPath { get; }

    /// <param name="prefix">Start of the folder name; the rest is random.</param>
    public static TargetWorkDir Create(int pid, ProcFs procfs, string prefix = "wand-")
    {
        var status = procfs.Status(pid) ?? throw new ProcessNotFoundException(pid);
        var root = procfs.PathOf(pid, "root");
        // /proc/PID/root disappears with the process. To clean up after a target that died, keep other
        // ways to the same folder: its root resolved from here (a chroot), and its parent's root when
        // the parent shares its mount namespace (a reload worker's supervisor in a container).
        var fallbackRoots = new List<string>();
        if (procfs.ReadLink(pid, "root") is { } resolved && resolved != "/" && !resolved.EndsWith(" (deleted)", StringComparison.Ordinal)) fallbackRoots.Add(resolved);
        if (procfs.Stat(pid)?.ParentPid is > 1 and var ppid && procfs.ReadLink(ppid, "ns/mnt") is { } mnt && mnt == procfs.ReadLink(pid, "ns/mnt"))
            fallbackRoots.Add(procfs.PathOf(ppid, "root"));
        var name = prefix + RandomName.Hex16();
        var tried = new List<string>();
        foreach (var parent in Parents.Append(procfs.ReadLink(pid, "cwd")).OfType<string>())
        {
            var host = root + parent + "/" + name;
            try
            {
                if (!Directory.Exists(root + parent)) { tried.Add($"{parent}: missing"); continue; }
                Directory.CreateDirectory(host, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var dir = new TargetWorkDir(host, parent + "/" + name, fallbackRoots, status.EffectiveUid, status.EffectiveGid);
                dir.Own(host);
                return dir;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                tried.Add($"{parent}: {e.Message}");
                TryDelete(host);
            }
        }
        if (!procfs.Exists(pid)) throw new TargetExitedException(pid, "before wand could write its files");
        throw new InjectionFailedException($"cannot create a folder inside the root of PID {pid} ({string.Join("; ", tried)})",
            "run wand as the target's user or as root");
    }

    /// <summary>Writes a file readable only by the target's uid; returns its path as the target sees it.</summary>
    public string WriteFile(string name, string content)
    {
        var host = Path.Combine(HostPath, name);
        File.WriteAllText(host, content);
        File.SetUnixFileMode(host, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Own(host);
        return TargetPath + "/" + name;
    }

    public string HostFile(string name) => Path.Combine(HostPath, name);

    /// <summary>
    /// Copies a folder of the host (a Python package) into this one, readable by the target's uid;
    /// returns the copy's path as the target sees it.
    /// </summary>
    public string CopyTree(string hostSource, string name)
    {
        var destination = Path.Combine(HostPath, name);
        Copy(new DirectoryInfo(hostSource), destination);
        return TargetPath + "/" + name;

        void Copy(DirectoryInfo source, string to)
        {
            Directory.CreateDirectory(to);
            Own(to);
            foreach (var file in source.EnumerateFiles())
            {
                if (file.Name.EndsWith(".pyc", StringComparison.Ordinal)) continue;
                var target = Path.Combine(to, file.Name);
                file.CopyTo(target);
                Own(target);
            }
            foreach (var sub in source.EnumerateDirectories())
                if (sub.Name != "__pycache__") Copy(sub, Path.Combine(to, sub.Name));
        }
    }

    /// <summary>Removes a folder this class created earlier for <paramref name="pid"/> and kept (see <see cref="Keep"/>).</summary>
    public static void Remove(int pid, ProcFs procfs, string targetPath)
    {
        if (!Path.GetFileName(targetPath).StartsWith("wand-", StringComparison.Ordinal))
            throw new ArgumentException($"refusing to remove {targetPath}: not a folder wand made", nameof(targetPath));
        TryDelete(procfs.PathOf(pid, "root") + targetPath);
    }

    /// <summary>Keeps the folder when disposed (its contents are in use by the target).</summary>
    public void Keep() => _kept = true;

    private bool _kept;

    public void Dispose()
    {
        if (_kept) return;
        TryDelete(HostPath);
        foreach (var path in _fallbackPaths) TryDelete(path);
    }

    private void Own(string path)
    {
        if (Libc.chown(path, _uid, _gid) != 0 && Libc.geteuid() == 0)
            throw new IOException($"chown {path} to {_uid}:{_gid} failed");
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the target is gone (its root with it) or the folder was already removed
        }
    }
}
