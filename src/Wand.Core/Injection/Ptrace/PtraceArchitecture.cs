using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Injection.Ptrace;

/// <summary>
/// Everything about the CPU the pending-call injector depends on, in one place so that another
/// architecture is one more subclass: the register file as ptrace returns it, the syscall
/// instruction and numbers, and how to make a stopped thread run one syscall or call one C function.
/// The planning methods are pure (registers in, registers out) and unit-tested.
/// </summary>
public abstract class PtraceArchitecture
{
    /// <summary>The architecture of this process (wand only attaches to processes of its own architecture).</summary>
    public static PtraceArchitecture Current => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => X64.Instance,
        var other => throw new UnsupportedPythonException(
            $"attaching to CPython 3.9-3.13 is not supported yet on {other.ToString().ToLowerInvariant()} (only x86-64)",
            "run the app on Python 3.14+ (PEP 768 works on every architecture)", new Remedy(RemedyKind.StartUnderLauncher)),
    };

    /// <summary>Slots (64-bit each) of the register file as PTRACE_GETREGS returns it.</summary>
    public abstract int RegisterCount { get; }

    /// <summary>The instruction that enters the kernel, searched for in the target's code.</summary>
    public abstract ReadOnlySpan<byte> SyscallInstruction { get; }

    public abstract long MmapNumber { get; }
    public abstract long MunmapNumber { get; }
    public abstract long TgkillNumber { get; }

    public abstract ulong ProgramCounter(ulong[] registers);

    /// <summary>The syscall the thread was in when it stopped, or null (the thread ran user code).</summary>
    public abstract long? SyscallInProgress(ulong[] registers);

    /// <summary>
    /// Registers that make the thread execute the syscall instruction at <paramref name="instruction"/>
    /// with <paramref name="number"/> and up to six arguments, from <paramref name="saved"/>. The
    /// interrupted syscall (if any) is marked as none, so the kernel does not "restart" ours.
    /// </summary>
    public abstract ulong[] PlanSyscall(ulong[] saved, ulong instruction, long number, params ulong[] args);

    /// <summary>
    /// Registers and stack bytes that make the thread call <paramref name="function"/> with up to six
    /// integer arguments and return to <paramref name="returnAddress"/> (an address that traps), on a
    /// fresh ABI-aligned frame below the interrupted code's red zone.
    /// </summary>
    public abstract (ulong[] Registers, ulong StackAddress, byte[] StackBytes) PlanCall(ulong[] saved, ulong function, ulong returnAddress, params ulong[] args);

    /// <summary>The syscall result or C return value in <paramref name="registers"/>.</summary>
    public abstract long ReturnValue(ulong[] registers);

    public abstract ulong[] ReadRegisters(int tid);
    public abstract void WriteRegisters(int tid, ulong[] registers);

    /// <summary>
    /// Writes <paramref name="registers"/> one at a time, each whatever became of the others: the
    /// fallback when <see cref="WriteRegisters"/> was refused, which stops at the first value the
    /// kernel rejects and leaves the ones after it unwritten. Returns the registers not written,
    /// each with the kernel's errno.
    /// </summary>
    public abstract IReadOnlyList<(string Register, int Errno)> WriteRegistersEach(int tid, ulong[] registers);

    /// <summary>
    /// The floating-point and vector registers (everything <see cref="ReadRegisters"/> leaves out),
    /// as opaque bytes that <see cref="WriteExtendedState"/> puts back exactly. The C function wand
    /// calls in the thread may use them all (the ABI makes them caller-saved), while the code the
    /// thread was stopped in still holds live values there.
    /// </summary>
    public abstract byte[] ReadExtendedState(int tid);
    public abstract void WriteExtendedState(int tid, byte[] state);

    /// <summary>x86-64: <c>struct user_regs_struct</c> (sys/user.h), the System V AMD64 ABI, <c>syscall</c>.</summary>
    public sealed class X64 : PtraceArchitecture
    {
        /// <summary>struct user_fpregs_struct (sys/user.h): the FXSAVE area (x87, mxcsr, xmm0-15), PTRACE_GETFPREGS.</summary>
        public const int FxsaveSize = 512;

        /// <summary>
        /// Room for the XSAVE area: the kernel copies min(our length, its size) and writes the size it
        /// used back into the iovec (kernel/ptrace.c, ptrace_regset). Its size is fpu_user_cfg.max_size,
        /// 2.5 KiB with AVX-512 and 11 KiB with AMX; the length must be a multiple of 8 (the regset's
        /// element size, arch/x86/kernel/ptrace.c: x86_64_regsets[REGSET64_XSTATE]).
        /// </summary>
        private const int XstateRoom = 64 * 1024;

        public static X64 Instance { get; } = new();

        // Slots of struct user_regs_struct.
        public const int R10 = 7, R9 = 8, R8 = 9, Rax = 10, Rdx = 12, Rsi = 13, Rdi = 14, OrigRax = 15, Rip = 16, Cs = 17, Rsp = 19;
        private static readonly int[] SyscallArgs = [Rdi, Rsi, Rdx, R10, R8, R9];
        private static readonly int[] CallArgs = [Rdi, Rsi, Rdx, 11 /* rcx */, R8, R9];

        /// <summary>The System V ABI lets a leaf function use 128 bytes below rsp without moving it.</summary>
        public const ulong RedZone = 128;

        public override int RegisterCount => 27;
        public override ReadOnlySpan<byte> SyscallInstruction => [0x0f, 0x05];
        public override long MmapNumber => 9;
        public override long MunmapNumber => 11;
        public override long TgkillNumber => PtraceNative.SYS_tgkill_x64;

        public override ulong ProgramCounter(ulong[] registers) => registers[Rip];

        // orig_rax is the syscall number while the thread is inside the kernel for it, -1 otherwise
        // (arch/x86/entry: the restart logic in arch_do_signal_or_restart keys on it).
        public override long? SyscallInProgress(ulong[] registers) => (long)registers[OrigRax] is >= 0 and var nr ? nr : null;

        public override ulong[] PlanSyscall(ulong[] saved, ulong instruction, long number, params ulong[] args)
        {
            if (args.Length > SyscallArgs.Length) throw new ArgumentException("at most six syscall arguments", nameof(args));
            var r = (ulong[])saved.Clone();
            for (var i = 0; i < args.Length; i++) r[SyscallArgs[i]] = args[i];
            r[Rax] = (ulong)number;
            r[OrigRax] = ulong.MaxValue; // -1: no syscall to restart when the thread resumes
            r[Rip] = instruction;
            return r;
        }

        public override (ulong[] Registers, ulong StackAddress, byte[] StackBytes) PlanCall(ulong[] saved, ulong function, ulong returnAddress, params ulong[] args)
        {
            if (args.Length > CallArgs.Length) throw new ArgumentException("at most six integer arguments", nameof(args));
            var r = (ulong[])saved.Clone();
            for (var i = 0; i < args.Length; i++) r[CallArgs[i]] = args[i];
            // Below the red zone (plus slack), 16-byte aligned; then the return address is pushed, so at
            // the function's first instruction rsp + 8 is 16-byte aligned, as a `call` leaves it.
            var frame = (saved[Rsp] - RedZone - 256) & ~0xFUL;
            var rsp = frame - 8;
            var stack = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(stack, returnAddress);
            r[Rsp] = rsp;
            r[Rip] = function;
            r[Rax] = 0; // number of vector registers used by a variadic call: none
            r[OrigRax] = ulong.MaxValue;
            return (r, rsp, stack);
        }

        public override long ReturnValue(ulong[] registers) => (long)registers[Rax];

        /// <summary>The slots of struct user_regs_struct, in order.</summary>
        private static readonly string[] Names =
        [
            "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax",
            "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
        ];

        /// <summary>x86-64's name of register slot <paramref name="slot"/> (struct user_regs_struct).</summary>
        public static string NameOf(int slot) => Names[slot];

        /// <summary>
        /// PTRACE_POKEUSER per slot: struct user starts with struct user_regs_struct, so slot i is at
        /// offset 8 i (arch/x86/kernel/ptrace.c, arch_ptrace: putreg for offsets inside regs).
        /// </summary>
        public override IReadOnlyList<(string Register, int Errno)> WriteRegistersEach(int tid, ulong[] registers)
        {
            var refused = new List<(string, int)>();
            for (var slot = 0; slot < RegisterCount; slot++)
                if (PtraceNative.ptrace(PtraceNative.PTRACE_POKEUSER, tid, slot * sizeof(ulong), (nint)registers[slot]) < 0)
                    refused.Add((Names[slot], Marshal.GetLastPInvokeError()));
            return refused;
        }

        public override unsafe ulong[] ReadRegisters(int tid)
        {
            var r = new ulong[RegisterCount];
            fixed (ulong* p = r)
                if (PtraceNative.ptrace(PtraceNative.PTRACE_GETREGS, tid, 0, (nint)p) < 0)
                    throw PtraceSession.Failure("PTRACE_GETREGS", tid, Marshal.GetLastPInvokeError());
            return r;
        }

        public override unsafe void WriteRegisters(int tid, ulong[] registers)
        {
            fixed (ulong* p = registers)
                if (PtraceNative.ptrace(PtraceNative.PTRACE_SETREGS, tid, 0, (nint)p) < 0)
                    throw PtraceSession.Failure("PTRACE_SETREGS", tid, Marshal.GetLastPInvokeError());
        }

        /// <summary>
        /// The whole XSAVE area through PTRACE_GETREGSET(NT_X86_XSTATE) (xmm, ymm and zmm halves,
        /// mxcsr, x87, in the kernel's user ABI layout), or the FXSAVE area through PTRACE_GETFPREGS
        /// where the kernel refuses it (no XSAVE: xstateregs_get returns -ENODEV). The length tells
        /// the two apart: an XSAVE area is at least 576 bytes (legacy area + header).
        /// </summary>
        public override unsafe byte[] ReadExtendedState(int tid)
        {
            var room = new byte[XstateRoom];
            fixed (byte* p = room)
            {
                var iov = new PtraceNative.IoVec { Base = (nint)p, Length = (nuint)room.Length };
                if (PtraceNative.ptrace(PtraceNative.PTRACE_GETREGSET, tid, PtraceNative.NT_X86_XSTATE, (nint)(&iov)) == 0)
                    return room.AsSpan(0, (int)iov.Length).ToArray();
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.ESRCH) throw PtraceSession.Failure("PTRACE_GETREGSET", tid, errno);
            }
            var fx = new byte[FxsaveSize];
            fixed (byte* p = fx)
                if (PtraceNative.ptrace(PtraceNative.PTRACE_GETFPREGS, tid, 0, (nint)p) < 0)
                    throw PtraceSession.Failure("PTRACE_GETFPREGS", tid, Marshal.GetLastPInvokeError());
            return fx;
        }

        /// <summary>
        /// Puts back what <see cref="ReadExtendedState"/> returned. PTRACE_SETREGSET(NT_X86_XSTATE)
        /// takes only the whole area at its exact size (arch/x86/kernel/fpu/regset.c, xstateregs_set:
        /// pos 0 and count fpu_user_cfg.max_size, else -EFAULT), which is the length GETREGSET gave.
        /// </summary>
        public override unsafe void WriteExtendedState(int tid, byte[] state)
        {
            fixed (byte* p = state)
            {
                if (state.Length == FxsaveSize)
                {
                    if (PtraceNative.ptrace(PtraceNative.PTRACE_SETFPREGS, tid, 0, (nint)p) < 0)
                        throw PtraceSession.Failure("PTRACE_SETFPREGS", tid, Marshal.GetLastPInvokeError());
                    return;
                }
                var iov = new PtraceNative.IoVec { Base = (nint)p, Length = (nuint)state.Length };
                if (PtraceNative.ptrace(PtraceNative.PTRACE_SETREGSET, tid, PtraceNative.NT_X86_XSTATE, (nint)(&iov)) < 0)
                    throw PtraceSession.Failure("PTRACE_SETREGSET", tid, Marshal.GetLastPInvokeError());
            }
        }
    }
}
