namespace Wand.Injection;

/// <summary>The random part of the names of wand's folders in a target (/tmp/wand-...).</summary>
internal static class RandomName
{
    /// <summary>
    /// 16 hex digits from <see cref="Guid.NewGuid"/>: its last 8 bytes, 62 of whose bits are random (2 are the
    /// variant), read from the kernel's CSPRNG through System.Native. Not RandomNumberGenerator: on Linux that is
    /// OpenSSL's RAND_bytes, and loading libssl and libcrypto and reading openssl.cnf for 8 bytes took a third of
    /// the CPU time of a NativeAOT `wand exec` (bench/README.md, exec).
    /// </summary>
    public static string Hex16()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes);
        return Convert.ToHexStringLower(bytes[8..]);
    }
}
