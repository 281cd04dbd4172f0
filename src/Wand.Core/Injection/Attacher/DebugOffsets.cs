using System.Buffers.Binary;
using Wand.Errors;

namespace Wand.Injection.Attacher;

/// <summary>
/// The fields of CPython's <c>_Py_DebugOffsets</c> table (Include/internal/pycore_debug_offsets.h) that
/// the attacher needs. Only the layout is stable within a minor version; values are always read from
/// the target. Layouts are data: <see cref="DebuggerSupportStart"/> says where the debugger_support
/// block sits for each minor version this build knows, each verified against a real binary in a test.
/// </summary>
public sealed record DebugOffsets(
    PythonVersion Version,
    bool FreeThreaded,
    ulong InterpretersHead,
    ulong InterpreterId,
    ulong InterpreterNext,
    ulong ThreadsHead,
    ulong ThreadsMain,
    ulong ThreadNext,
    ulong ThreadInterp,
    ulong ThreadNativeId,
    ulong EvalBreaker,
    ulong RemoteDebuggerSupport,
    ulong RemoteDebuggingEnabled,
    ulong PendingCall,
    ulong ScriptPath,
    ulong ScriptPathSize)
{
    public static ReadOnlySpan<byte> Cookie => "xdebugpy"u8;

    /// <summary>Table offset of debugger_support per (major, minor): 3.14 from 3.14.x final, 3.15 from Debian's 3.15.</summary>
    public static IReadOnlyDictionary<(int, int), int> DebuggerSupportStart { get; } = new Dictionary<(int, int), int>
    {
        [(3, 14)] = 712,
        [(3, 15)] = 840,
    };

    /// <summary>
    /// Table offset of thread_state.native_thread_id per (major, minor): 3.15 inserts base_frame,
    /// last_profiled_frame and last_profiled_frame_seq before thread_id (pycore_debug_offsets.h).
    /// </summary>
    public static IReadOnlyDictionary<(int, int), int> ThreadNativeIdAt { get; } = new Dictionary<(int, int), int>
    {
        [(3, 14)] = 224,
        [(3, 15)] = 248,
    };

    /// <summary>Bytes to read to be sure the whole table of any known layout is covered.</summary>
    public const int MaxTableSize = 840 + 48;

    private const ulong SaneOffsetLimit = 1 << 20;

    /// <summary>True when the bytes start with the <c>xdebugpy</c> cookie.</summary>
    public static bool HasCookie(ReadOnlySpan<byte> table) => table.Length >= 16 && table[..8].SequenceEqual(Cookie);

    /// <summary>The version field of a table that starts with the cookie, or null.</summary>
    public static PythonVersion? ReadVersion(ReadOnlySpan<byte> table) =>
        HasCookie(table) ? PythonVersion.FromHex(BinaryPrimitives.ReadUInt64LittleEndian(table[8..])) : null;

    /// <summary>The way out for a Python PEP 768 cannot reach: rdg's launcher debugs any Python 3.8+ from the program's start.</summary>
    private static readonly Remedy Launcher = new(RemedyKind.StartUnderLauncher);

    /// <summary>
    /// Validates and decodes a table. Throws <see cref="UnsupportedPythonException"/> for versions
    /// before 3.14, pre-releases and unknown layouts, and <see cref="InjectionFailedException"/> for
    /// a table whose values make no sense.
    /// </summary>
    public static DebugOffsets Parse(ReadOnlySpan<byte> table)
    {
        var version = ReadVersion(table)
            ?? throw new UnsupportedPythonException("no _Py_DebugOffsets cookie: the runtime is older than CPython 3.13 or not CPython",
                "PEP 768 needs CPython 3.14+; on this machine wand reaches Python 3.9-3.13 through ptrace instead", Launcher);
        EnsureSupported(version);
        var start = DebuggerSupportStart[(version.Major, version.Minor)];
        if (table.Length < start + 48) throw new InjectionFailedException($"debug offsets table truncated ({table.Length} bytes)");

        var t = table.ToArray();
        ulong U(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(t.AsSpan(offset));
        var offsets = new DebugOffsets(version, U(16) != 0,
            U(40), U(56), U(64), U(72), U(80), U(192), U(200), U(ThreadNativeIdAt[(version.Major, version.Minor)]),
            U(start), U(start + 8), U(start + 16), U(start + 24), U(start + 32), U(start + 40));
        offsets.Validate();
        return offsets;
    }

    /// <summary>Throws unless wand knows how to attach to this version.</summary>
    public static void EnsureSupported(PythonVersion version)
    {
        if (version.Major < 3 || (version.Major == 3 && version.Minor < 14))
            throw new UnsupportedPythonException(
                $"the target runs Python {version}; attaching through PEP 768 needs CPython 3.14 or newer",
                "on this machine wand reaches Python 3.9-3.13 through ptrace instead; or run the app on Python 3.14+", Launcher);
        if (!version.IsFinal)
            throw new UnsupportedPythonException(
                $"the target runs pre-release Python {version}, whose debug-offsets layout is not stable",
                "use a final release of Python 3.14 or later", Launcher);
        if (!DebuggerSupportStart.ContainsKey((version.Major, version.Minor)))
            throw new UnsupportedPythonException(
                $"the target runs Python {version}, whose debug-offsets layout this wand does not know (it knows {string.Join(", ", DebuggerSupportStart.Keys.Select(k => $"{k.Item1}.{k.Item2}"))})",
                "upgrade wand (dotnet tool update -g wand)");
    }

    private void Validate()
    {
        ulong[] fields = [InterpretersHead, InterpreterId, InterpreterNext, ThreadsHead, ThreadsMain, ThreadNext, ThreadInterp,
            ThreadNativeId, EvalBreaker, RemoteDebuggerSupport, RemoteDebuggingEnabled, PendingCall, ScriptPath];
        if (fields.Any(f => f >= SaneOffsetLimit) || ScriptPathSize is < 16 or > 65536)
            throw new InjectionFailedException($"the target's _Py_DebugOffsets table for Python {Version} holds implausible values; memory may be corrupt or the layout changed",
                remedy: new Remedy(RemedyKind.ReportWithProcessListing));
    }
}
