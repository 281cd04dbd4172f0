using Wand.Injection.Ptrace;
using Xunit;
using X64 = Wand.Injection.Ptrace.PtraceArchitecture.X64;

namespace Wand.Tests.Unit.Ptrace;

/// <summary>The register planning of the x86-64 injector: pure functions of the saved registers.</summary>
public class PtraceArchitectureTests
{
    private static ulong[] Saved(long origRax = 230 /* clock_nanosleep */, ulong rsp = 0x7ffd_1234_5679)
    {
        var r = new ulong[X64.Instance.RegisterCount];
        for (var i = 0; i < r.Length; i++) r[i] = 0x1000UL + (ulong)i;
        r[X64.OrigRax] = (ulong)origRax;
        r[X64.Rax] = unchecked((ulong)-516L); // -ERESTART_RESTARTBLOCK: a sleep cut short by the stop
        r[X64.Rip] = 0x7f00_0000_1000;
        r[X64.Rsp] = rsp;
        return r;
    }

    [Fact]
    public void ACallGetsAnAlignedFrameBelowTheRedZoneAndTrapsOnReturn()
    {
        var saved = Saved();
        var copy = (ulong[])saved.Clone();
        var (regs, stackAddress, stack) = X64.Instance.PlanCall(saved, function: 0x4def06, returnAddress: 0x7f11_0000_0000, 0xaaaa, 0xbbbb);
        Assert.Equal(copy, saved); // the saved registers are never changed
        Assert.Equal(0x4def06UL, regs[X64.Rip]);
        Assert.Equal(0xaaaaUL, regs[X64.Rdi]);
        Assert.Equal(0xbbbbUL, regs[X64.Rsi]);
        Assert.Equal(stackAddress, regs[X64.Rsp]);
        Assert.Equal(8UL, regs[X64.Rsp] % 16); // as right after a `call`: rsp + 8 is 16-byte aligned
        Assert.True(regs[X64.Rsp] + 8 <= saved[X64.Rsp] - X64.RedZone, "the frame overlaps the interrupted code's red zone");
        Assert.Equal(0x7f11_0000_0000UL, BitConverter.ToUInt64(stack));
        Assert.Equal(ulong.MaxValue, regs[X64.OrigRax]); // no syscall restart applied to our call
        Assert.Equal(0UL, regs[X64.Rax]);
        for (var i = 0; i < regs.Length; i++)
            if (i is not (X64.Rip or X64.Rdi or X64.Rsi or X64.Rsp or X64.OrigRax or X64.Rax))
                Assert.Equal(saved[i], regs[i]);
    }

    [Fact]
    public void ASyscallTakesItsArgumentsInTheKernelsRegisters()
    {
        var saved = Saved();
        var regs = X64.Instance.PlanSyscall(saved, 0x7f00_0000_0ffe, 9, 0, 8192, 3, 0x22, ulong.MaxValue, 0);
        Assert.Equal(9UL, regs[X64.Rax]);
        Assert.Equal(ulong.MaxValue, regs[X64.OrigRax]);
        Assert.Equal(0x7f00_0000_0ffeUL, regs[X64.Rip]);
        Assert.Equal([0UL, 8192, 3, 0x22, ulong.MaxValue, 0], new[] { regs[X64.Rdi], regs[X64.Rsi], regs[X64.Rdx], regs[X64.R10], regs[X64.R8], regs[X64.R9] });
        Assert.Equal(saved[X64.Rsp], regs[X64.Rsp]);
    }

    [Fact]
    public void TheSyscallInProgressComesFromOrigRax()
    {
        Assert.Equal(230, X64.Instance.SyscallInProgress(Saved(origRax: 230)));
        Assert.Null(X64.Instance.SyscallInProgress(Saved(origRax: -1)));
        Assert.Equal(unchecked(-516L), X64.Instance.ReturnValue(Saved()));
    }

    [Fact]
    public void TooManyArgumentsAreRefused() =>
        Assert.Throws<ArgumentException>(() => X64.Instance.PlanCall(Saved(), 1, 2, 1, 2, 3, 4, 5, 6, 7));
}
