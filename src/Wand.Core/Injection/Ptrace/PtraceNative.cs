using System.Runtime.InteropServices;

namespace Wand.Injection.Ptrace;

/// <summary>
/// The ptrace(2), waitpid(2) and tgkill(2) calls of the pending-call injector. A tracee belongs to
/// the OS thread that seized it: every call for one tracee must come from that thread, so
/// <see cref="PtraceSession"/> is used synchronously from start to detach.
/// </summary>
internal static unsafe partial class PtraceNative
{
    public const long PTRACE_POKEUSER = 6;
    public const long PTRACE_CONT = 7;
    public const long PTRACE_SINGLESTEP = 9;
    public const long PTRACE_GETREGS = 12;
    public const long PTRACE_SETREGS = 13;
    public const long PTRACE_GETFPREGS = 14;
    public const long PTRACE_SETFPREGS = 15;
    public const long PTRACE_DETACH = 17;
    public const long PTRACE_GETSIGINFO = 0x4202;
    public const long PTRACE_SETSIGINFO = 0x4203;
    public const long PTRACE_GETREGSET = 0x4204;
    public const long PTRACE_SETREGSET = 0x4205;
    public const long PTRACE_SEIZE = 0x4206;
    public const long PTRACE_INTERRUPT = 0x4207;

    /// <summary>The <c>status &gt;&gt; 16</c> of a stop caused by PTRACE_INTERRUPT or a group-stop (SEIZE mode).</summary>
    public const int PTRACE_EVENT_STOP = 128;

    /// <summary>The regset of the XSAVE area (elf.h): x87, SSE, AVX, AVX-512... as XSAVE lays them out.</summary>
    public const int NT_X86_XSTATE = 0x202;

    public const int WNOHANG = 1;
    public const int __WALL = 0x40000000;

    public const int SIGTRAP = 5;
    public const int SIGSEGV = 11;

    /// <summary>glibc's <c>ptrace</c> is variadic; on x86-64 and aarch64 the fixed arguments travel in the same registers.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial long ptrace(long request, int pid, nint addr, nint data);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial long syscall(long number, long a, long b, long c);

    /// <summary>struct iovec (sys/uio.h), PTRACE_GETREGSET's buffer: the kernel writes back the length it used.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    public const long SYS_tgkill_x64 = 234;
    public const long SYS_tgkill_arm64 = 131;
}
