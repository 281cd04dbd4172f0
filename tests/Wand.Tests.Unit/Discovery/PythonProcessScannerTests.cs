using System.Buffers.Binary;
using Wand.Discovery;
using Wand.Errors;
using Wand.Tests.Unit.Attacher;
using Wand.Transport.Local;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

/// <summary>
/// The scanner over a synthetic /proc (text files and symlinks in a temporary directory) and
/// synthetic ELF files: versions that stop before any memory is read, roles, users, vanished
/// processes. Attaching to real 3.14 interpreters is covered by the end-to-end PsTests.
/// </summary>
public sealed class PythonProcessScannerTests : IDisposable
{
    // PIDs above PID_MAX_LIMIT (4194304), so none can be the test process, which the scanner skips.
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("wand-scanner-test-");
    private string Proc => Path.Combine(_dir.FullName, "proc");

    public PythonProcessScannerTests()
    {
        Directory.CreateDirectory(Proc);
        File.WriteAllText(Path.Combine(Proc, "uptime"), "1000.50 3000.00\n");
        File.WriteAllText(Path.Combine(_dir.FullName, "passwd"), "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private PythonProcessScanner Scanner() =>
        new(new ProcFs(Proc), passwdPath: Path.Combine(_dir.FullName, "passwd")) { SampleInterval = TimeSpan.Zero };

    /// <summary>An executable named <paramref name="name"/> whose .PyRuntime (or other) section starts with the debug-offsets cookie and version.</summary>
    private string Binary(string name, ulong? versionHex, string section = ".PyRuntime")
    {
        var runtime = new byte[64];
        if (versionHex is { } hex)
        {
            "xdebugpy"u8.CopyTo(runtime);
            BinaryPrimitives.WriteUInt64LittleEndian(runtime.AsSpan(8), hex);
        }
        var path = Path.Combine(_dir.FullName, "bin", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, SyntheticElf.Build(2, 0x400000, new SyntheticElf.Section(section, 0x500000, runtime)));
        return path;
    }

    private void Process(int pid, int ppid, string[] argv, string? mapped = null, int uid = 0, ulong startTicks = 50_050, long rssPages = 2560, string? environ = null)
    {
        var dir = Path.Combine(Proc, pid.ToString());
        Directory.CreateDirectory(dir);
        var comm = argv.Length > 0 ? Path.GetFileName(argv[0]) : "kworker/0:1";
        File.WriteAllText(Path.Combine(dir, "stat"),
            $"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 {startTicks} 20000000 {rssPages} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0");
        File.WriteAllText(Path.Combine(dir, "cmdline"), argv.Length == 0 ? "" : string.Join('\0', argv) + "\0");
        File.WriteAllText(Path.Combine(dir, "status"), $"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n");
        File.WriteAllText(Path.Combine(dir, "maps"), mapped is null ? "" :
            $"00400000-00600000 r-xp 00000000 08:01 99999 {mapped}\n7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n");
        File.WriteAllText(Path.Combine(dir, "environ"), environ ?? "PATH=/usr/bin\0");
        File.CreateSymbolicLink(Path.Combine(dir, "root"), "/");
        File.CreateSymbolicLink(Path.Combine(dir, "cwd"), "/srv/app");
    }

    [Fact]
    public async Task FindsPythonsAndDescribesThemWithoutTouchingMemory()
    {
        var py313 = Binary("python3.13", 0x030D05F0);
        var py311 = Binary("python3.11", null); // before 3.13 the runtime has no cookie
        Process(5000100, 1, ["/sbin/tini", "--", "python3.13", "manage.py", "runserver"]);
        Process(5004242, 5000100, ["/usr/bin/python3.13", "manage.py", "runserver"], py313, uid: 1000);
        Process(5004243, 5004242, ["/usr/bin/python3.13", "manage.py", "runserver"], py313, uid: 1000, startTicks: 90_000, environ: "PATH=/usr/bin\0RUN_MAIN=true\0");
        Process(5004300, 1, ["/usr/bin/python3.11", "job.py"], py311, uid: 4321);
        Process(5004400, 1, ["/usr/bin/uwsgi"], Binary("uwsgi", 0x030E0AF0)); // an embedder: found only by --pid (thorough)
        Process(2, 0, []); // kernel thread
        Directory.CreateDirectory(Path.Combine(Proc, "5004500")); // exited between readdir and reading its files

        var found = await Scanner().ScanAsync(null, TestContext.Current.CancellationToken);

        Assert.Equal([5004242, 5004243, 5004300], found.Select(p => p.Pid));
        var parent = found[0];
        Assert.Equal("3.13.5", parent.Version);
        Assert.Equal(AttachState.UnsupportedVersion, parent.Attach.State);
        Assert.Contains("does not export Py_AddPendingCall", parent.Attach.Reason); // a synthetic file: ptrace has nothing to call
        Assert.Equal((1000, "app"), (parent.Uid, parent.User));
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "django autoreloader"), new RoleAssignment(parent.Role, parent.RoleDetail));
        Assert.Equal(2560L * Environment.SystemPageSize, parent.RssBytes);
        Assert.Equal("/", parent.Root);
        Assert.Equal("/srv/app", parent.Cwd);
        Assert.Equal(["/usr/bin/python3.13", "manage.py", "runserver"], parent.CommandLine);

        var child = found[1];
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "django worker of 5004242"), new RoleAssignment(child.Role, child.RoleDetail));
        Assert.Equal(5004242, child.ParentPid);

        var old = found[2];
        Assert.Equal("3.11", old.Version);
        Assert.Equal(AttachState.UnsupportedVersion, old.Attach.State);
        Assert.Equal("4321", old.User); // no name in passwd: the number
    }

    [Fact]
    public async Task UptimeComesFromStartTicksAndProcUptime()
    {
        var ticks = Libc.ClockTicksPerSecond;
        Process(5004242, 1, ["/usr/bin/python3.13", "app.py"], Binary("python3.13", 0x030D05F0), startTicks: (ulong)(400 * ticks));
        var p = Assert.Single(await Scanner().ScanAsync(null, TestContext.Current.CancellationToken));
        Assert.Equal(600.5, p.Uptime.TotalSeconds, 3); // /proc/uptime says 1000.5 s; started 400 s after boot
        Assert.Equal(0, p.CpuPercent); // the synthetic stat does not change between the samples
    }

    [Fact]
    public async Task NothingToFind()
    {
        Process(5004400, 1, ["/usr/bin/nginx"], Binary("nginx", null, ".data"));
        Assert.Empty(await Scanner().ScanAsync(null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task OneProcessWithItsFamilyForTheRole()
    {
        var py = Binary("python3.13", 0x030D05F0);
        Process(5004242, 1, ["/usr/bin/python3.13", "-m", "gunicorn", "app:app"], py);
        Process(5004243, 5004242, ["/usr/bin/python3.13", "-m", "gunicorn", "app:app"], py);
        Process(5004400, 1, ["/usr/bin/nginx"], Binary("nginx", null, ".data"));

        var scanner = Scanner();
        var worker = await scanner.GetAsync(5004243, TestContext.Current.CancellationToken);
        Assert.Equal(new RoleAssignment(ProcessRole.Worker, "gunicorn worker of 5004242"), new RoleAssignment(worker.Role, worker.RoleDetail));
        var master = await scanner.GetAsync(5004242, TestContext.Current.CancellationToken);
        Assert.Equal(new RoleAssignment(ProcessRole.ReloaderParent, "gunicorn master"), new RoleAssignment(master.Role, master.RoleDetail));

        await Assert.ThrowsAsync<NotPythonException>(() => scanner.GetAsync(5004400, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ProcessNotFoundException>(() => scanner.GetAsync(5004999, TestContext.Current.CancellationToken));
    }
}
