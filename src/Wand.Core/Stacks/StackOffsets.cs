using System.Buffers.Binary;
using Wand.Errors;
using Wand.Injection.Attacher;

namespace Wand.Stacks;

/// <summary>
/// The stack-related fields of CPython's <c>_Py_DebugOffsets</c> table, read from the target. Every
/// field of the table is a uint64 (the cookie takes one slot too), so a layout is just the ordered list
/// of field names, copied from the header of each minor version: 3.13 declares the struct in
/// Include/internal/pycore_runtime.h, 3.14 and 3.15 in Include/internal/pycore_debug_offsets.h (as
/// shipped in Debian's libpython3.X-dev 3.13.18, 3.14.10, 3.15.2). Values always come from the target.
/// </summary>
public sealed class StackOffsets
{
    /// <summary>Bytes to read so that the table of any known layout is covered.</summary>
    public const int MaxTableSize = 1024;

    private const ulong SaneOffsetLimit = 1 << 20;

    private readonly IReadOnlyDictionary<string, ulong> _values;

    private StackOffsets(PythonVersion version, bool freeThreaded, IReadOnlyDictionary<string, ulong> values, string? versionText = null)
    {
        Version = version;
        FreeThreaded = freeThreaded;
        _values = values;
        VersionText = versionText ?? version.ToString();
    }

    public PythonVersion Version { get; }
    public bool FreeThreaded { get; }

    /// <summary>The version to show: "3.9" where the binary does not say its micro version (3.9, 3.10).</summary>
    public string VersionText { get; }

    /// <summary>3.9 and 3.10 link PyFrameObjects; 3.11+ link _PyInterpreterFrames.</summary>
    public bool FrameObjects => _values.ContainsKey("frame_object.f_back");

    /// <summary>
    /// 3.11 and 3.12 reach the current frame through PyThreadState.cframe; null when
    /// <see cref="ThreadCurrentFrame"/> is the frame itself.
    /// </summary>
    public ulong? ThreadCFrame => Optional("thread_state.cframe");
    public ulong CFrameCurrentFrame => this["cframe.current_frame"];

    /// <summary>pthread_self() of the thread, where there is no native_thread_id (3.9, 3.10).</summary>
    public ulong? ThreadPthreadId => _values.ContainsKey("thread_state.native_thread_id") ? null : Optional("thread_state.thread_id");

    /// <summary>Before 3.12 the GIL is one struct in _PyRuntime: its offset there, else null (it hangs off the interpreter).</summary>
    public ulong? RuntimeGil => Optional("runtime_state.gil");
    public ulong GilLockedInGil => this["gil.locked"];
    public ulong GilLastHolderInGil => this["gil.last_holder"];

    public ulong FrameObjectSize => this["frame_object.size"];
    public ulong FrameBack => this["frame_object.f_back"];
    public ulong FrameCode => this["frame_object.f_code"];
    public ulong FrameLastI => this["frame_object.f_lasti"];
    public ulong FrameObjectLocalsPlus => this["frame_object.f_localsplus"];
    public ulong CodeNLocals => this["code_object.nlocals"];
    public ulong CodeVarNames => this["code_object.varnames"];
    public ulong CodeCellVars => this["code_object.cellvars"];
    public ulong CodeFreeVars => this["code_object.freevars"];

    /// <summary>Ints keep sign and digit count in lv_tag from 3.12 (Include/cpython/longintrepr.h), in ob_size before.</summary>
    public bool LongTagged => Version.Minor >= 12;

    /// <summary>sizeof(PyCompactUnicodeObject): from the table in 3.15, else PyASCIIObject plus utf8_length and utf8 (3.12-3.14).</summary>
    public ulong CompactUnicodeSize => Optional("unicode_object.compactunicodeobject_size") ?? AsciiObjectSize + 16;

    public ulong InterpretersHead => this["runtime_state.interpreters_head"];
    public ulong InterpreterId => this["interpreter_state.id"];
    public ulong InterpreterNext => this["interpreter_state.next"];
    public ulong ThreadsHead => this["interpreter_state.threads_head"];
    public ulong CevalGil => this["interpreter_state.ceval_gil"];
    public ulong GilRuntimeState => this["interpreter_state.gil_runtime_state"];
    public ulong GilLocked => this["interpreter_state.gil_runtime_state_locked"];
    public ulong GilLastHolder => this["interpreter_state.gil_runtime_state_holder"];
    public ulong ThreadSize => this["thread_state.size"];
    public ulong ThreadNext => this["thread_state.next"];
    public ulong ThreadInterp => this["thread_state.interp"];
    public ulong ThreadCurrentFrame => this["thread_state.current_frame"];

    /// <summary>The thread state's field that leads to its current frame: current_frame, frame (3.9-3.10) or cframe (3.11-3.12).</summary>
    public ulong ThreadCurrentFrameField => ThreadCFrame ?? ThreadCurrentFrame;
    public ulong ThreadNativeId => this["thread_state.native_thread_id"];
    public ulong FrameSize => this["interpreter_frame.size"];
    public ulong FramePrevious => this["interpreter_frame.previous"];
    public ulong FrameExecutable => this["interpreter_frame.executable"];
    public ulong FrameInstrPtr => this["interpreter_frame.instr_ptr"];
    public ulong FrameLocalsPlus => this["interpreter_frame.localsplus"];
    public ulong FrameOwner => this["interpreter_frame.owner"];
    public ulong CodeSize => this["code_object.size"];
    public ulong CodeFilename => this["code_object.filename"];
    public ulong CodeName => this["code_object.name"];
    /// <summary>co_qualname (3.11+); before 3.11 co_name, the only name there is.</summary>
    public ulong CodeQualname => Optional("code_object.qualname") ?? this["code_object.name"];
    public ulong CodeLinetable => this["code_object.linetable"];
    public ulong CodeFirstLineNo => this["code_object.firstlineno"];
    public ulong CodeLocalsPlusNames => this["code_object.localsplusnames"];
    public ulong CodeLocalsPlusKinds => this["code_object.localspluskinds"];
    public ulong CodeAdaptive => this["code_object.co_code_adaptive"];
    public ulong ObType => this["pyobject.ob_type"];
    public ulong TypeName => this["type_object.tp_name"];
    public ulong TypeFlags => this["type_object.tp_flags"];
    public ulong TupleItems => this["tuple_object.ob_item"];
    public ulong TupleSize => this["tuple_object.ob_size"];
    public ulong ListSize => this["list_object.ob_size"];
    public ulong FloatValue => this["float_object.ob_fval"];
    public ulong LongTag => Optional("long_object.lv_tag") ?? this["long_object.ob_size"];
    public ulong LongDigits => this["long_object.ob_digit"];
    public ulong BytesSize => this["bytes_object.ob_size"];
    public ulong BytesData => this["bytes_object.ob_sval"];
    public ulong UnicodeState => this["unicode_object.state"];
    public ulong UnicodeLength => this["unicode_object.length"];
    public ulong AsciiObjectSize => this["unicode_object.asciiobject_size"];

    /// <summary>
    /// PySetObject.used: in the table from 3.14 (set_object.used); 3.13's table has no set section, and
    /// its PySetObject (Include/cpython/setobject.h) is PyObject_HEAD, fill, used: 16 + 8.
    /// </summary>
    public ulong SetUsed => _values.TryGetValue("set_object.used", out var v) ? v : 24;

    private ulong this[string field] => _values.TryGetValue(field, out var v) ? v
        : throw new StackReadException($"the layout for Python {VersionText} has no {field}");

    private ulong? Optional(string field) => _values.TryGetValue(field, out var v) ? v : null;

    /// <summary>
    /// The offsets of a 3.9-3.12 interpreter, which has no _Py_DebugOffsets table: from
    /// <see cref="LegacyLayouts"/>. <paramref name="versionText"/> is what the binary says of its version.
    /// </summary>
    public static StackOffsets ForLegacy(int minor, PythonVersion? version, string? versionText)
    {
        if (!LegacyLayouts.Tables.TryGetValue((3, minor), out var table)) throw Unsupported($"3.{minor}");
        if (version is { IsFinal: false })
            throw new UnsupportedPythonException($"the target runs pre-release Python {version}, whose layout is not known",
                "use a final release of Python");
        return new StackOffsets(version ?? new PythonVersion(3, minor, 0, PythonVersion.Final, 0), false, table,
            version?.ToString() ?? versionText ?? $"3.{minor}");
    }

    /// <summary>Layout (field names in table order) per (major, minor).</summary>
    public static IReadOnlyDictionary<(int, int), IReadOnlyList<string>> Layouts { get; } = new Dictionary<(int, int), IReadOnlyList<string>>
    {
        [(3, 13)] = Layout(13),
        [(3, 14)] = Layout(14),
        [(3, 15)] = Layout(15),
    };

    /// <summary>
    /// Decodes a table that starts with the cookie. Throws <see cref="UnsupportedPythonException"/> for
    /// versions without a known layout, pre-releases and free-threaded builds, and
    /// <see cref="StackReadException"/> for values that make no sense.
    /// </summary>
    public static StackOffsets Parse(ReadOnlySpan<byte> table)
    {
        var version = DebugOffsets.ReadVersion(table)
            ?? throw new UnsupportedPythonException("the target's runtime has no _Py_DebugOffsets cookie: it is older than CPython 3.13 or not CPython",
                $"wand reads the stacks of {Known}; give it one of those");
        EnsureSupported(version);
        var layout = Layouts[(version.Major, version.Minor)];
        if (table.Length < layout.Count * 8) throw new StackReadException($"the debug offsets table is truncated ({table.Length} bytes)");

        var values = new Dictionary<string, ulong>(layout.Count);
        for (var i = 0; i < layout.Count; i++)
            values[layout[i]] = BinaryPrimitives.ReadUInt64LittleEndian(table[(i * 8)..]);
        var offsets = new StackOffsets(version, values["free_threaded"] != 0, values);
        if (offsets.FreeThreaded)
            throw new UnsupportedPythonException($"the target runs a free-threaded build of Python {version}, whose frames wand cannot decode yet",
                "use the regular (GIL) build of CPython, or py-spy for now");
        offsets.Validate();
        return offsets;
    }

    /// <summary>Throws unless a layout for this version is known.</summary>
    public static void EnsureSupported(PythonVersion version)
    {
        if (version.Major == 3 && version.Minor < 13 && LegacyLayouts.Tables.ContainsKey((3, version.Minor))) return;
        if (version.Major < 3 || (version.Major == 3 && version.Minor < 13))
            throw Unsupported(version.MajorMinor);
        if (!version.IsFinal)
            throw new UnsupportedPythonException($"the target runs pre-release Python {version}, whose debug-offsets layout is not stable",
                "use a final release of Python 3.13 or later");
        if (!Layouts.ContainsKey((version.Major, version.Minor)))
            throw new UnsupportedPythonException(
                $"the target runs Python {version}, whose debug-offsets layout this wand does not know (it knows {string.Join(", ", Layouts.Keys.Select(k => $"{k.Item1}.{k.Item2}"))})",
                "upgrade wand (dotnet tool update -g wand)");
    }

    /// <summary>The error for a Python that has no layout.</summary>
    public static UnsupportedPythonException Unsupported(string? majorMinor) => new(
        $"the target runs Python {majorMinor ?? "of an unknown version"}; wand does not know its memory layout (it reads {Known})",
        "run the app on one of those versions, or use py-spy dump for this one");

    private static string Known => string.Join(", ", LegacyLayouts.Tables.Keys.Concat(Layouts.Keys).Order().Select(k => $"{k.Item1}.{k.Item2}"));

    private void Validate()
    {
        foreach (var (name, value) in _values)
        {
            if (name is "cookie" or "version" or "free_threaded" || name.EndsWith(".size", StringComparison.Ordinal)) continue;
            if (value >= SaneOffsetLimit)
                throw new StackReadException($"the target's _Py_DebugOffsets table for Python {Version} holds an implausible {name} ({value}); memory may be corrupt or the layout changed");
        }
        if (ThreadSize is 0 or >= SaneOffsetLimit || FrameSize is 0 or >= 4096 || CodeSize is 0 or >= 4096)
            throw new StackReadException($"the target's _Py_DebugOffsets table for Python {Version} holds implausible struct sizes; memory may be corrupt or the layout changed");
        // The reader copies each thread state, frame and code object whole and picks fields out of the copy.
        ulong[] inThread = [ThreadNext, ThreadInterp, ThreadCurrentFrame, ThreadNativeId];
        ulong[] inFrame = [FramePrevious, FrameExecutable, FrameInstrPtr];
        ulong[] inCode = [CodeFilename, CodeName, CodeQualname, CodeLinetable, CodeLocalsPlusNames, CodeLocalsPlusKinds];
        if (inThread.Any(f => f + 8 > ThreadSize) || inFrame.Any(f => f + 8 > FrameSize) || FrameOwner >= FrameSize
            || inCode.Any(f => f + 8 > CodeSize) || CodeFirstLineNo + 4 > CodeSize)
            throw new StackReadException($"the target's _Py_DebugOffsets table for Python {Version} puts a field outside its struct; memory may be corrupt or the layout changed");
    }

    private static List<string> Layout(int minor)
    {
        var fields = new List<string> { "cookie", "version", "free_threaded" };
        void Section(string name, params string[] members) => fields.AddRange(members.Select(m => $"{name}.{m}"));

        Section("runtime_state", "size", "finalizing", "interpreters_head");
        Section("interpreter_state", [
            "size", "id", "next", "threads_head", .. minor >= 14 ? ["threads_main"] : Array.Empty<string>(),
            "gc", "imports_modules", "sysdict", "builtins", "ceval_gil", "gil_runtime_state",
            "gil_runtime_state_enabled", "gil_runtime_state_locked", "gil_runtime_state_holder",
            .. minor >= 14 ? ["code_object_generation", "tlbc_generation"] : Array.Empty<string>()]);
        Section("thread_state", [
            "size", "prev", "next", "interp", "current_frame",
            .. minor >= 15 ? ["base_frame", "last_profiled_frame", "last_profiled_frame_seq"] : Array.Empty<string>(),
            "thread_id", "native_thread_id", "datastack_chunk", "status",
            .. minor >= 15 ? ["holds_gil", "gil_requested", "current_exception", "exc_state"] : Array.Empty<string>()]);
        if (minor >= 15) Section("err_stackitem", "exc_value");
        Section("interpreter_frame", [
            "size", "previous", "executable", "instr_ptr", "localsplus", "owner",
            .. minor >= 14 ? ["stackpointer", "tlbc_index"] : Array.Empty<string>()]);
        Section("code_object", [
            "size", "filename", "name", "qualname", "linetable", "firstlineno", "argcount",
            "localsplusnames", "localspluskinds", "co_code_adaptive", .. minor >= 14 ? ["co_tlbc"] : Array.Empty<string>()]);
        Section("pyobject", "size", "ob_type");
        Section("type_object", ["size", "tp_name", "tp_repr", "tp_flags", .. minor >= 15 ? ["tp_basicsize", "tp_dictoffset"] : Array.Empty<string>()]);
        if (minor >= 15) Section("heap_type_object", "size", "ht_cached_keys");
        Section("tuple_object", "size", "ob_item", "ob_size");
        Section("list_object", "size", "ob_item", "ob_size");
        if (minor >= 14) Section("set_object", "size", "used", "table", "mask");
        Section("dict_object", "size", "ma_keys", "ma_values");
        Section("float_object", "size", "ob_fval");
        Section("long_object", "size", "lv_tag", "ob_digit");
        Section("bytes_object", "size", "ob_size", "ob_sval");
        Section("unicode_object", ["size", "state", "length", "asciiobject_size", .. minor >= 15 ? ["compactunicodeobject_size"] : Array.Empty<string>()]);
        Section("gc", ["size", "collecting", .. minor >= 15 ? ["frame", "generation_stats_size", "generation_stats"] : Array.Empty<string>()]);
        if (minor >= 14)
        {
            Section("gen_object", "size", "gi_name", "gi_iframe", "gi_frame_state");
            Section("llist_node", "next", "prev");
            Section("debugger_support", "eval_breaker", "remote_debugger_support", "remote_debugging_enabled",
                "debugger_pending_call", "debugger_script_path", "debugger_script_path_size");
        }
        return fields;
    }
}
