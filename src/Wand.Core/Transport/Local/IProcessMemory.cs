namespace Wand.Transport.Local;

/// <summary>
/// Everything that reads or writes another process goes through this: bytes at an address.
/// Implementations throw <see cref="Errors.PermissionDeniedException"/>, <see cref="Errors.TargetExitedException"/>
/// or <see cref="MemoryAccessException"/>.
/// </summary>
public interface IProcessMemory : IDisposable
{
    int Pid { get; }
    void Read(ulong address, Span<byte> buffer);
    void Write(ulong address, ReadOnlySpan<byte> data);
}
