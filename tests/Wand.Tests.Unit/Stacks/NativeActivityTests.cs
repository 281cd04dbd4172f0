using System.Runtime.InteropServices;
using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

public class NativeActivityTests
{
    [Fact]
    public void FutexOnX64()
    {
        var a = NativeActivity.Parse("202 0x7f3a5c1ff9a0 0x189 0x0 0x0 0x0 0xffffffff 0x7ffd2a3bc6f0 0x7f3a5d2a1d61\n", "futex_wait_queue\n", Architecture.X64);
        Assert.Equal("syscall", a.State);
        Assert.Equal(202, a.SyscallNumber);
        Assert.Equal("futex", a.Syscall);
        Assert.Equal("waiting on a futex (lock)", a.Description);
        Assert.Equal("futex_wait_queue", a.WaitChannel);
        Assert.Equal("waiting on a futex (lock) [wchan futex_wait_queue]", a.ToString());
    }

    [Theory]
    [InlineData(Architecture.X64, 45, "receiving from a socket (recvfrom)")]
    [InlineData(Architecture.X64, 230, "sleeping (clock_nanosleep)")]
    [InlineData(Architecture.X64, 232, "waiting for I/O (epoll_wait)")]
    [InlineData(Architecture.X64, 288, "waiting for a connection (accept4)")]
    [InlineData(Architecture.X64, 0, "reading (read)")]
    [InlineData(Architecture.X64, 42, "connecting (connect)")]
    [InlineData(Architecture.X64, 61, "waiting for a child process (wait4)")]
    [InlineData(Architecture.Arm64, 98, "waiting on a futex (lock)")]
    [InlineData(Architecture.Arm64, 207, "receiving from a socket (recvfrom)")]
    [InlineData(Architecture.Arm64, 73, "waiting for I/O (ppoll)")]
    public void NamesCommonSyscalls(Architecture arch, int number, string description) =>
        Assert.Equal(description, NativeActivity.Parse($"{number} 0x1 0x2 0x3 0x4 0x5 0x6 0x7ffd 0x7f00", null, arch).Description);

    [Fact]
    public void Running()
    {
        var a = NativeActivity.Parse("running\n", "0\n", Architecture.X64);
        Assert.Equal("running", a.State);
        Assert.Null(a.WaitChannel); // "0" means no wait channel
        Assert.Equal("running", a.ToString());
    }

    [Fact]
    public void BlockedOutsideASyscall()
    {
        var a = NativeActivity.Parse("-1 0x7ffd2a3bc6f0 0x7f3a5d2a1d61\n", "do_signal_stop\n", Architecture.X64);
        Assert.Equal("user", a.State);
        Assert.Null(a.SyscallNumber);
        Assert.Equal("do_signal_stop", a.WaitChannel);
    }

    [Fact]
    public void UnknownNumbersAndUnreadableFiles()
    {
        var a = NativeActivity.Parse("999 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0", null, Architecture.X64);
        Assert.Equal("in system call 999", a.Description);
        Assert.Null(a.Syscall);
        Assert.Equal("unknown", NativeActivity.Parse(null, null, Architecture.X64).State);
        Assert.Equal("unknown", NativeActivity.Parse("garbage", "x", Architecture.X64).State);
        Assert.Equal("x", NativeActivity.Parse("", "x", Architecture.X64).WaitChannel);
        Assert.Null(NativeActivity.Parse("202 0x0", null, Architecture.X86).Syscall); // no table for 32-bit x86
    }
}
