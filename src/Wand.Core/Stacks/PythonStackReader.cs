using System.Buffers.Binary;
using Wand.Errors;
using Wand.Transport.Local;

namespace Wand.Stacks;

/// <summary>
/// Walks a CPython runtime in another process's memory: interpreters, their thread states and each
/// thread's chain of frames (3.11+: interpreter frames, the way CPython's own Modules/_remote_debugging
/// reader does in threads.c, frames.c, code_objects.c; 3.9-3.10: PyFrameObjects through f_back).
/// Reads only; nothing in the target is written or paused.
/// Lists are walked with cycle guards and count caps. A broken interpreter or thread list throws
/// <see cref="StackReadException"/>; a frame chain that breaks ends that thread's frames with a problem.
/// </summary>
public sealed class PythonStackReader
{
    public const int MaxInterpreters = 256;
    public const int MaxThreads = 4096;
    public const int MaxFrames = 2048;
    public const int MaxLocals = 256;
    private const int MaxNameChars = 1024;
    private const int MaxLineTableBytes = 1 << 20;

    /// <summary>
    /// Frame owners at or above this are not Python frames: FRAME_OWNED_BY_CSTACK (3) in 3.13
    /// (Include/internal/pycore_frame.h), FRAME_OWNED_BY_INTERPRETER (3) and _CSTACK (4) in 3.14+
    /// (Include/internal/pycore_interpframe_structs.h). THREAD, GENERATOR and FRAME_OBJECT are 0-2.
    /// </summary>
    private const byte FirstNonPythonOwner = 3;

    /// <summary>
    /// f_executable and localsplus are _PyStackRef from 3.14 (Include/internal/pycore_stackref.h): the
    /// low two bits are tags (Py_TAG_BITS 3 in GIL builds); 3.13's plain pointers are 8-aligned anyway.
    /// </summary>
    private const ulong TagBits = 3;
    /// <summary>A stack reference whose low bits are Py_INT_TAG holds a small int, not a pointer (3.14+).</summary>
    private const ulong IntTag = 3;

    /// <summary>CO_FAST_HIDDEN (Include/internal/pycore_code.h): inlined comprehension temporaries.</summary>
    private const byte FastHidden = 0x10;

    private readonly StackOffsets _offsets;
    private readonly RemoteObjects _objects;
    private readonly Dictionary<ulong, CodeInfo?> _codes = [];

    public PythonStackReader(IProcessMemory memory, StackOffsets offsets)
    {
        _offsets = offsets;
        _objects = new RemoteObjects(memory, offsets);
    }

    /// <param name="Names">co_localsplusnames (3.11+), or co_varnames (3.9-3.10).</param>
    /// <param name="Kinds">co_localspluskinds (3.11+), or 0.</param>
    /// <param name="CellAndFreeNames">3.9-3.10: co_cellvars and co_freevars, whose cells follow the co_nlocals locals.</param>
    private sealed record CodeInfo(string File, string Function, int FirstLine, byte[] LineTable, ulong Names, ulong Kinds,
        int LocalCount = 0, ulong[]? CellAndFreeNames = null);

    /// <summary>Every Python thread of every interpreter, each interpreter's threads oldest first.</summary>
    public IReadOnlyList<PythonThread> Read(ulong runtimeAddress, bool withLocals)
    {
        try
        {
            var result = new List<PythonThread>();
            var seen = new HashSet<ulong>();
            var interp = _objects.Pointer(runtimeAddress + _offsets.InterpretersHead);
            while (interp != 0)
            {
                if (!seen.Add(interp)) throw new StackReadException("the interpreter list loops (it changed while reading, or memory is corrupt)");
                if (seen.Count > MaxInterpreters) throw new StackReadException($"more than {MaxInterpreters} interpreters: the list is corrupt");
                result.AddRange(ReadInterpreter(runtimeAddress, interp, withLocals));
                interp = _objects.Pointer(interp + _offsets.InterpreterNext);
            }
            return result;
        }
        catch (MemoryAccessException e)
        {
            throw new StackReadException($"the interpreter state could not be read ({e.Message}); it changed while reading, or memory is corrupt", e);
        }
    }

    private List<PythonThread> ReadInterpreter(ulong runtime, ulong interp, bool withLocals)
    {
        var id = (int)_objects.Pointer(interp + _offsets.InterpreterId);
        var holder = GilHolder(runtime, interp);
        var threads = new List<PythonThread>();
        var seen = new HashSet<ulong>();
        var tstate = _objects.Pointer(interp + _offsets.ThreadsHead);
        while (tstate != 0)
        {
            if (!seen.Add(tstate)) throw new StackReadException("the thread list loops (it changed while reading, or memory is corrupt)");
            if (seen.Count > MaxThreads) throw new StackReadException($"more than {MaxThreads} threads: the thread list is corrupt");
            var block = _objects.Block(tstate, _offsets.ThreadSize);
            var nativeId = NativeId(block);
            var (frames, problem) = ReadFrames(block, withLocals);
            threads.Add(new PythonThread(nativeId, id, tstate == holder, frames, problem));
            tstate = Field(block, _offsets.ThreadNext);
        }
        // New thread states are pushed at the head (Python/pystate.c add_threadstate): oldest first reads better.
        threads.Reverse();
        return threads;
    }

    /// <summary>
    /// The kernel TID: native_thread_id (3.11+), or for 3.9-3.10 the tid field of glibc's struct
    /// pthread that thread_id (pthread_self()) points at; 0 when that cannot be read.
    /// </summary>
    private int NativeId(byte[] tstate)
    {
        if (_offsets.ThreadPthreadId is not { } pthreadField) return (int)Field(tstate, _offsets.ThreadNativeId);
        var pthread = Field(tstate, pthreadField);
        try
        {
            return RemoteObjects.Plausible(pthread) ? _objects.Memory.ReadI32(pthread + LegacyLayouts.GlibcPthreadTid) : 0;
        }
        catch (MemoryAccessException)
        {
            return 0;
        }
    }

    /// <summary>
    /// The thread state holding the GIL, or 0. Before 3.12 the one GIL is in _PyRuntime.ceval.gil. The interpreter's ceval.gil points at the GIL it uses
    /// (its own _gil for the main interpreter and own-GIL subinterpreters, Python/ceval_gil.c
    /// _PyEval_InitGIL); the table gives _gil.locked and _gil.last_holder as offsets in the interpreter,
    /// so their offsets inside the GIL struct are those minus the offset of _gil.
    /// </summary>
    private ulong GilHolder(ulong runtime, ulong interp)
    {
        if (_offsets.RuntimeGil is { } inRuntime)
        {
            var processGil = runtime + inRuntime;
            return _objects.Memory.ReadI32(processGil + _offsets.GilLockedInGil) != 0 ? _objects.Pointer(processGil + _offsets.GilLastHolderInGil) : 0;
        }
        if (_offsets.GilLocked < _offsets.GilRuntimeState || _offsets.GilLastHolder < _offsets.GilRuntimeState) return 0;
        var gil = _objects.Pointer(interp + _offsets.CevalGil);
        if (!RemoteObjects.Plausible(gil)) gil = interp + _offsets.GilRuntimeState;
        var locked = _objects.Memory.ReadI32(gil + (_offsets.GilLocked - _offsets.GilRuntimeState));
        return locked != 0 ? _objects.Pointer(gil + (_offsets.GilLastHolder - _offsets.GilRuntimeState)) : 0;
    }

    private (IReadOnlyList<StackFrame> Frames, string? Problem) ReadFrames(byte[] tstate, bool withLocals)
    {
        var frames = new List<StackFrame>();
        var seen = new HashSet<ulong>();
        string? problem = null;
        try
        {
            var frame = Field(tstate, _offsets.ThreadCurrentFrameField);
            if (_offsets.ThreadCFrame is not null && frame != 0) frame = _objects.Pointer(frame + _offsets.CFrameCurrentFrame);
            while (frame != 0 && _offsets.FrameObjects)
            {
                if (!seen.Add(frame)) { problem = "changed while reading: the frame chain loops"; break; }
                if (seen.Count > MaxFrames) { problem = $"more than {MaxFrames} frames; the outer ones are not shown"; break; }
                var block = _objects.Block(frame, _offsets.FrameObjectSize);
                var code = Code(Field(block, _offsets.FrameCode));
                if (code is null) { problem = "changed while reading: a frame's code object is not a code object"; break; }
                var lasti = BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan((int)_offsets.FrameLastI));
                // 3.10 counts f_lasti in code units and keeps PEP 626 pairs (PyFrame_GetLineNumber: f_lasti*2); 3.9 bytes and co_lnotab.
                var line = _offsets.Version.Minor >= 10 ? LineTable.LineOf310(code.LineTable, code.FirstLine, lasti * 2L) : LineTable.LineOfLnotab(code.LineTable, code.FirstLine, lasti);
                frames.Add(new StackFrame(code.File, line, code.Function,
                    withLocals ? LocalsOrNote(frame + _offsets.FrameObjectLocalsPlus, code) : null));
                frame = Field(block, _offsets.FrameBack);
            }
            while (frame != 0)
            {
                if (!seen.Add(frame)) { problem = "changed while reading: the frame chain loops"; break; }
                if (seen.Count > MaxFrames) { problem = $"more than {MaxFrames} frames; the outer ones are not shown"; break; }
                var block = _objects.Block(frame, _offsets.FrameSize);
                var previous = Field(block, _offsets.FramePrevious);
                var executable = Field(block, _offsets.FrameExecutable) & ~TagBits;
                if (block[(int)_offsets.FrameOwner] < FirstNonPythonOwner && executable != 0)
                {
                    var code = Code(executable);
                    if (code is null) { problem = "changed while reading: a frame's code object is not a code object"; break; }
                    var ip = Field(block, _offsets.FrameInstrPtr);
                    var bytecode = executable + _offsets.CodeAdaptive;
                    int? line = ip >= bytecode ? LineTable.LineOf(code.LineTable, code.FirstLine, (long)((ip - bytecode) / 2)) : null;
                    frames.Add(new StackFrame(code.File, line, code.Function, withLocals ? LocalsOrNote(frame + _offsets.FrameLocalsPlus, code) : null));
                }
                frame = previous;
            }
        }
        catch (Exception e) when (e is MemoryAccessException or StackReadException)
        {
            problem = $"changed while reading: {e.Message}";
        }
        frames.Reverse();
        return (frames, problem);
    }

    private CodeInfo? Code(ulong address)
    {
        if (_codes.TryGetValue(address, out var known)) return known;
        CodeInfo? info = null;
        if (_objects.TypeName(_objects.TypeOf(address)) == "code")
        {
            var block = _objects.Block(address, _offsets.CodeSize);
            var file = _objects.String(Field(block, _offsets.CodeFilename), MaxNameChars);
            var function = _objects.String(Field(block, _offsets.CodeQualname), MaxNameChars);
            var firstLine = BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan((int)_offsets.CodeFirstLineNo));
            var lineTable = _objects.Bytes(Field(block, _offsets.CodeLinetable), MaxLineTableBytes);
            info = _offsets.FrameObjects
                ? new CodeInfo(file, function, firstLine, lineTable, Field(block, _offsets.CodeVarNames), 0,
                    BinaryPrimitives.ReadInt32LittleEndian(block.AsSpan((int)_offsets.CodeNLocals)),
                    [.. _objects.TupleItems(Field(block, _offsets.CodeCellVars), MaxLocals), .. _objects.TupleItems(Field(block, _offsets.CodeFreeVars), MaxLocals)])
                : new CodeInfo(file, function, firstLine, lineTable, Field(block, _offsets.CodeLocalsPlusNames), Field(block, _offsets.CodeLocalsPlusKinds));
        }
        _codes[address] = info;
        return info;
    }

    /// <summary>A frame whose locals cannot be read is still a frame: say so in its locals instead of ending the walk.</summary>
    private List<LocalVariable> LocalsOrNote(ulong localsPlus, CodeInfo code)
    {
        try
        {
            return Locals(localsPlus, code);
        }
        catch (Exception e) when (e is MemoryAccessException or StackReadException)
        {
            return [new LocalVariable("(locals)", "?", "unreadable (changed while reading)", null)];
        }
    }

    /// <summary>
    /// Locals from the frame's localsplus array. 3.11+ name every slot in co_localsplusnames; 3.9-3.10
    /// put co_nlocals locals (named by co_varnames), then a cell per co_cellvars and co_freevars.
    /// </summary>
    private List<LocalVariable> Locals(ulong localsPlus, CodeInfo code)
    {
        ulong[] names;
        byte[] kinds;
        if (code.CellAndFreeNames is { } cellsAndFrees)
        {
            if (code.LocalCount is < 0 or > 1 << 16) throw new StackReadException($"implausible co_nlocals {code.LocalCount}");
            names = [.. _objects.TupleItems(code.Names, Math.Min(code.LocalCount, MaxLocals)), .. cellsAndFrees];
            if (names.Length > MaxLocals) names = names[..MaxLocals];
            kinds = new byte[names.Length];
        }
        else
        {
            names = _objects.TupleItems(code.Names, MaxLocals);
            kinds = _objects.Bytes(code.Kinds, names.Length);
        }
        var values = names.Length == 0 ? [] : _objects.Block(localsPlus, (ulong)names.Length * 8);
        var locals = new List<LocalVariable>();
        for (var i = 0; i < names.Length && i < kinds.Length; i++)
        {
            if ((kinds[i] & FastHidden) != 0) continue;
            var raw = Field(values, (ulong)i * 8);
            var value = raw & ~TagBits;
            if (value == 0) continue; // unbound (NULL, or PyStackRef_NULL)
            var name = _objects.String(names[i], MaxNameChars);
            if ((raw & TagBits) == IntTag && _offsets.Version.Minor >= 14)
            {
                locals.Add(new LocalVariable(name, "int", ((long)raw >> 2).ToString(System.Globalization.CultureInfo.InvariantCulture), null));
                continue;
            }
            try
            {
                locals.Add(_objects.Summarize(name, value));
            }
            catch (Exception e) when (e is MemoryAccessException or StackReadException)
            {
                locals.Add(new LocalVariable(name, "?", "unreadable (changed while reading)", null));
            }
        }
        return locals;
    }

    private static ulong Field(byte[] block, ulong offset) =>
        offset + 8 <= (ulong)block.Length
            ? BinaryPrimitives.ReadUInt64LittleEndian(block.AsSpan((int)offset))
            : throw new StackReadException($"field offset {offset} is outside a {block.Length}-byte struct");
}
