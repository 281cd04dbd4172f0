using System.Runtime.InteropServices;

namespace Wand.Transport.Local;

/// <summary>The few libc calls wand needs, declared once.</summary>
internal static unsafe partial class Libc
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EFAULT = 14;
    public const int EACCES = 13;
    public const int ENOSYS = 38;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint process_vm_readv(int pid, IoVec* local, ulong liovcnt, IoVec* remote, ulong riovcnt, ulong flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint process_vm_writev(int pid, IoVec* local, ulong liovcnt, IoVec* remote, ulong riovcnt, ulong flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, int owner, int group);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8, EntryPoint = "stat")]
    private static partial int stat_(string path, byte* buffer);

    [LibraryImport("libc")]
    public static partial uint geteuid();

    public const int CLONE_NEWNET = 0x40000000;
    private const int O_RDONLY_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    public static int OpenReadOnly(string path) => open(path, O_RDONLY_CLOEXEC);

    [LibraryImport("libc")]
    public static partial long sysconf(int name);

    /// <summary>Device and inode of a file (st_dev and st_ino sit at offsets 0 and 8 on x86_64 and aarch64).</summary>
    public static (ulong Device, ulong Inode)? StatDeviceInode(string path)
    {
        var buffer = stackalloc byte[256];
        if (stat_(path, buffer) != 0) return null;
        return (*(ulong*)buffer, *(ulong*)(buffer + 8));
    }

    /// <summary>Splits a Linux dev_t into major and minor numbers (glibc's gnu_dev_major/minor).</summary>
    public static (uint Major, uint Minor) SplitDevice(ulong dev) =>
        ((uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL)), (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL)));

    public static long ClockTicksPerSecond => sysconf(2 /* _SC_CLK_TCK */) is > 0 and var t ? t : 100;

    public static long PageSize => Environment.SystemPageSize;
}
