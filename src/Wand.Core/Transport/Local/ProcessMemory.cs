using System.Runtime.InteropServices;
using Wand.Errors;

namespace Wand.Transport.Local;

/// <summary>
/// Opens another process's memory: process_vm_readv/writev, or /proc/PID/mem where cross-memory
/// attach is missing (ENOSYS: old kernels, some gVisor). Both need ptrace-attach permission.
/// </summary>
public static class ProcessMemory
{
    public static IProcessMemory Open(int pid)
    {
        if (!Directory.Exists($"/proc/{pid}")) throw new ProcessNotFoundException(pid);
        return VmMemory.Probe(pid) ? new VmMemory(pid) : new ProcMemFileMemory(pid);
    }

    internal static Exception Translate(int pid, int errno, ulong address, int length, string op) => errno switch
    {
        Libc.EPERM or Libc.EACCES => new PermissionDeniedException(pid, $"{op}: {Marshal.GetPInvokeErrorMessage(errno)}"),
        Libc.ESRCH or Libc.ENOENT => new TargetExitedException(pid, "while wand was reading its memory"),
        _ => new MemoryAccessException(address, length, Marshal.GetPInvokeErrorMessage(errno)),
    };

    private sealed unsafe class VmMemory(int pid) : IProcessMemory
    {
        public int Pid { get; } = pid;

        /// <summary>True unless the kernel lacks the syscalls; permission errors surface on the first real read.</summary>
        public static bool Probe(int pid)
        {
            byte b;
            var local = new Libc.IoVec { Base = &b, Length = 1 };
            var remote = new Libc.IoVec { Base = null, Length = 0 };
            return Libc.process_vm_readv(pid, &local, 1, &remote, 1, 0) >= 0 || Marshal.GetLastPInvokeError() != Libc.ENOSYS;
        }

        public void Read(ulong address, Span<byte> buffer)
        {
            fixed (byte* p = buffer)
            {
                var local = new Libc.IoVec { Base = p, Length = (nuint)buffer.Length };
                var remote = new Libc.IoVec { Base = (void*)address, Length = (nuint)buffer.Length };
                var n = Libc.process_vm_readv(Pid, &local, 1, &remote, 1, 0);
                if (n < 0) throw Translate(Pid, Marshal.GetLastPInvokeError(), address, buffer.Length, "process_vm_readv");
                if (n != buffer.Length) throw new MemoryAccessException(address, buffer.Length, $"short read ({n} bytes)");
            }
        }

        public void Write(ulong address, ReadOnlySpan<byte> data)
        {
            fixed (byte* p = data)
            {
                var local = new Libc.IoVec { Base = p, Length = (nuint)data.Length };
                var remote = new Libc.IoVec { Base = (void*)address, Length = (nuint)data.Length };
                var n = Libc.process_vm_writev(Pid, &local, 1, &remote, 1, 0);
                if (n < 0) throw Translate(Pid, Marshal.GetLastPInvokeError(), address, data.Length, "process_vm_writev");
                if (n != data.Length) throw new MemoryAccessException(address, data.Length, $"short write ({n} bytes)");
            }
        }

        public void Dispose() { }
    }

    private sealed class ProcMemFileMemory : IProcessMemory
    {
        private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;

        public ProcMemFileMemory(int pid)
        {
            Pid = pid;
            try
            {
                _file = File.OpenHandle($"/proc/{pid}/mem", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new PermissionDeniedException(pid, $"open /proc/{pid}/mem: {e.Message}");
            }
            catch (FileNotFoundException)
            {
                throw new TargetExitedException(pid, "before wand could open its memory");
            }
        }

        public int Pid { get; }

        public void Read(ulong address, Span<byte> buffer)
        {
            int n;
            try
            {
                n = RandomAccess.Read(_file, buffer, (long)address);
            }
            catch (IOException e)
            {
                throw new MemoryAccessException(address, buffer.Length, e.Message);
            }
            if (n != buffer.Length) throw new MemoryAccessException(address, buffer.Length, $"short read ({n} bytes)");
        }

        public void Write(ulong address, ReadOnlySpan<byte> data)
        {
            try
            {
                RandomAccess.Write(_file, data, (long)address);
            }
            catch (IOException e)
            {
                throw new MemoryAccessException(address, data.Length, e.Message);
            }
        }

        public void Dispose() => _file.Dispose();
    }
}
