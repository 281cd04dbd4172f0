using Wand.Injection.Attacher;
using Wand.Transport.Local;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>What the ptrace tests share: the testbed's Pythons, a C function in a target, the tracer's own thread.</summary>
internal static class PtraceTargets
{
    /// <summary>The rootfs with python<paramref name="version"/> (tests/testbed/provision.sh, oldpythons.sh).</summary>
    public static string RootFor(string version)
    {
        var testbed = Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed";
        var root = Path.Combine(testbed, version == "3.11" ? "rootfs-3.11" : "rootfs");
        return File.Exists(Path.Combine(root, "usr/bin/python" + version)) ? root
            : throw new InvalidOperationException($"python{version} is not provisioned at {root}: run tests/testbed/provision.sh and oldpythons.sh");
    }

    /// <summary>The C library's <paramref name="name"/> in <paramref name="pid"/>: its .dynsym value plus where the library is mapped.</summary>
    public static ulong LibcFunction(int pid, string name)
    {
        var libc = ProcFs.Default.Maps(pid).First(m => m.Offset == 0 && m.FileName.StartsWith("libc", StringComparison.Ordinal) && m.FileName.Contains(".so", StringComparison.Ordinal));
        using var file = File.OpenRead($"/proc/{pid}/map_files/{libc.Start:x}-{libc.End:x}");
        var value = ElfImage.Read(file).FindSymbol(name, exportedOnly: true) ?? throw new InvalidOperationException($"no {name} in {libc.Path}");
        return libc.Start + value; // a shared library's first segment is at address 0 of the file
    }

    /// <summary>The PID tracing <paramref name="pid"/>, 0 for none (/proc/PID/status); null when the process is gone.</summary>
    public static int? TracerPid(int pid)
    {
        try
        {
            return int.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal))[10..].Trim());
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>ptrace requests must come from the thread that attached: one dedicated thread from start to end.</summary>
    public static Task<T> OnOwnThread<T>(Func<T> work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public static Task OnOwnThread(Action work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
