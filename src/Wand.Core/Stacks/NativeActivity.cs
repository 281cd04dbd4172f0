using System.Globalization;
using System.Runtime.InteropServices;

namespace Wand.Stacks;

/// <summary>
/// What a thread does in the kernel, from /proc/PID/task/TID/syscall and wchan (proc(5)). Reading
/// those files does not stop the thread: for a task that is not running the kernel reports the
/// syscall it sleeps in, for a running one it says "running".
/// </summary>
/// <param name="State">running, syscall (blocked in a system call), user (off-CPU outside a system call) or unknown.</param>
/// <param name="SyscallNumber">The system call number, when in one.</param>
/// <param name="Syscall">Its name, when this wand knows it for the machine's architecture.</param>
/// <param name="Description">A few words for people: "waiting on a futex (lock)", "running".</param>
/// <param name="WaitChannel">The kernel function the thread sleeps in, when the kernel shows it.</param>
public sealed record NativeActivity(string State, int? SyscallNumber, string? Syscall, string Description, string? WaitChannel)
{
    public static NativeActivity Unknown { get; } = new("unknown", null, null, "unknown (cannot read /proc)", null);

    /// <summary>Parses the text of the syscall and wchan files (either may be null when unreadable).</summary>
    public static NativeActivity Parse(string? syscallText, string? wchanText, Architecture architecture)
    {
        var wchan = wchanText?.Trim() is { Length: > 0 } w && w != "0" ? w : null;
        var text = syscallText?.Trim();
        if (string.IsNullOrEmpty(text)) return Unknown with { WaitChannel = wchan };
        if (text == "running") return new NativeActivity("running", null, null, "running", wchan);
        var first = text.Split(' ', 2)[0];
        if (!int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
            return Unknown with { WaitChannel = wchan };
        // "-1 sp pc": blocked, but not in a system call (e.g. preempted or stopped in user space).
        if (number < 0) return new NativeActivity("user", null, null, "not in a system call", wchan);
        var name = SyscallName(number, architecture);
        return new NativeActivity("syscall", number, name, Describe(name, number), wchan);
    }

    /// <summary>Words for people for a system call a thread is blocked in.</summary>
    public static string Describe(string? syscall, int number) => syscall switch
    {
        "futex" => "waiting on a futex (lock)",
        "read" or "readv" or "pread64" => $"reading ({syscall})",
        "recvfrom" or "recvmsg" or "recvmmsg" => $"receiving from a socket ({syscall})",
        "write" or "writev" or "pwrite64" => $"writing ({syscall})",
        "sendto" or "sendmsg" => $"sending on a socket ({syscall})",
        "poll" or "ppoll" or "select" or "pselect6" or "epoll_wait" or "epoll_pwait" or "epoll_pwait2" => $"waiting for I/O ({syscall})",
        "nanosleep" or "clock_nanosleep" => $"sleeping ({syscall})",
        "accept" or "accept4" => $"waiting for a connection ({syscall})",
        "connect" => "connecting (connect)",
        "wait4" or "waitid" => $"waiting for a child process ({syscall})",
        "pause" or "rt_sigsuspend" or "rt_sigtimedwait" => $"waiting for a signal ({syscall})",
        "flock" or "fcntl" => $"waiting for a file lock ({syscall})",
        null => $"in system call {number}",
        _ => $"in {syscall}",
    };

    /// <summary>The name of a system call number on x86-64 or arm64 (the numbers differ per architecture), or null.</summary>
    public static string? SyscallName(int number, Architecture architecture) => architecture switch
    {
        // arch/x86/entry/syscalls/syscall_64.tbl
        Architecture.X64 => number switch
        {
            0 => "read", 1 => "write", 7 => "poll", 17 => "pread64", 18 => "pwrite64", 19 => "readv", 20 => "writev",
            23 => "select", 34 => "pause", 35 => "nanosleep", 42 => "connect", 43 => "accept", 44 => "sendto",
            45 => "recvfrom", 46 => "sendmsg", 47 => "recvmsg", 61 => "wait4", 72 => "fcntl", 73 => "flock",
            128 => "rt_sigtimedwait", 130 => "rt_sigsuspend", 202 => "futex", 230 => "clock_nanosleep", 232 => "epoll_wait",
            247 => "waitid", 270 => "pselect6", 271 => "ppoll", 281 => "epoll_pwait", 288 => "accept4", 299 => "recvmmsg",
            441 => "epoll_pwait2",
            _ => null,
        },
        // include/uapi/asm-generic/unistd.h
        Architecture.Arm64 => number switch
        {
            22 => "epoll_pwait", 25 => "fcntl", 32 => "flock", 63 => "read", 64 => "write", 65 => "readv", 66 => "writev",
            67 => "pread64", 68 => "pwrite64", 72 => "pselect6", 73 => "ppoll", 95 => "waitid", 98 => "futex",
            101 => "nanosleep", 115 => "clock_nanosleep", 133 => "rt_sigsuspend", 137 => "rt_sigtimedwait", 202 => "accept",
            203 => "connect", 206 => "sendto", 207 => "recvfrom", 211 => "sendmsg", 212 => "recvmsg", 242 => "accept4",
            243 => "recvmmsg", 260 => "wait4", 441 => "epoll_pwait2",
            _ => null,
        },
        _ => null,
    };

    public override string ToString()
    {
        var extra = new List<string>();
        if (Syscall is null && SyscallNumber is { } n) extra.Add($"syscall {n}");
        if (WaitChannel is not null) extra.Add($"wchan {WaitChannel}");
        return extra.Count == 0 ? Description : $"{Description} [{string.Join(", ", extra)}]";
    }
}
