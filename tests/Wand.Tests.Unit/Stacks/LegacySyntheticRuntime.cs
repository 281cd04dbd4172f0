using System.Buffers.Binary;
using System.Text;
using Wand.Stacks;

namespace Wand.Tests.Unit.Stacks;

/// <summary>
/// A CPython 3.9-3.12 runtime in a <see cref="FakeProcessMemory"/>, laid out with the offsets of
/// <see cref="LegacyLayouts"/> for that minor version and the structures those versions link:
/// PyFrameObjects through f_back with a glibc struct pthread behind thread_id (3.9, 3.10), or
/// _PyInterpreterFrames behind PyThreadState.cframe (3.11, 3.12); the GIL in _PyRuntime (up to 3.11)
/// or in the interpreter (3.12); each version's line table format. One interpreter: a main thread
/// (tid 200) in <c>main</c> at app.py:12 called from <c>&lt;module&gt;</c> at app.py:30, with locals
/// x = 5 and s = 'hi'; a worker thread (tid 201, holding the GIL) in <c>Worker.run</c> at app.py:21.
/// </summary>
public sealed class LegacySyntheticRuntime
{
    private ulong _next = 0x10000;
    private readonly int _minor;

    public LegacySyntheticRuntime(int minor)
    {
        _minor = minor;
        Offsets = StackOffsets.ForLegacy(minor, null, $"3.{minor}");
        var o = Offsets;
        Runtime = Alloc(4096);
        TypeType = Alloc(416);
        StrType = Type("str", 1UL << 28);
        BytesType = Type("bytes", 1UL << 27);
        TupleType = Type("tuple", 1UL << 26);
        IntType = Type("int", 1UL << 24);
        var codeType = Type("code", 0);

        // Lines 10 (the first half of the code) and 12 (the second) in each version's format; the
        // frames stop in the second half. <module> is all on line 30.
        var main = Code(codeType, "main", "main", 10, minor switch
        {
            9 => [4, 2],                                    // co_lnotab: +4 bytes, +2 lines
            10 => [4, 0, 4, 2],                             // co_linetable (PEP 626): bytes 0-3 line 10, 4-7 line 12
            _ => [0x80 | 13 << 3 | 1, 0, 0x80 | 13 << 3 | 1, 4], // location table: 2 units +0 lines, 2 units +2 lines
        }, ["x", "s"]);
        var module = Code(codeType, "<module>", "<module>", 30, minor switch
        {
            9 => [],
            10 => [8, 0],
            _ => [0x80 | 13 << 3 | 3, 0],
        }, []);
        var run = Code(codeType, "run", "Worker.run", 21, minor switch
        {
            9 => [],
            10 => [8, 0],
            _ => [0x80 | 13 << 3 | 3, 0],
        }, ["self"]);

        var five = Object(IntType, 32);
        U64(five + o.LongTag, o.LongTagged ? 1 << 3 : 1UL);
        U32(five + o.LongDigits, 5);
        var outer = Frame(module, 0, 0, []);
        MainFrame = Frame(main, 2, outer, [five, Str("hi")]);
        var workerFrame = Frame(run, 1, 0, [0]);

        MainThread = Thread(200, MainFrame);
        WorkerThread = Thread(201, workerFrame);
        U64(WorkerThread + o.ThreadNext, MainThread);

        Interpreter = Alloc(4096);
        U64(Runtime + o.InterpretersHead, Interpreter);
        U64(Interpreter + o.ThreadsHead, WorkerThread);
        if (o.RuntimeGil is { } gil)
        {
            U32(Runtime + gil + o.GilLockedInGil, 1);
            U64(Runtime + gil + o.GilLastHolderInGil, WorkerThread);
        }
        else
        {
            U64(Interpreter + o.CevalGil, Interpreter + o.GilRuntimeState);
            U32(Interpreter + o.GilLocked, 1);
            U64(Interpreter + o.GilLastHolder, WorkerThread);
        }
    }

    public FakeProcessMemory Memory { get; } = new();
    public StackOffsets Offsets { get; }
    public ulong Runtime { get; }
    public ulong Interpreter { get; }
    public ulong MainThread { get; }
    public ulong WorkerThread { get; }
    public ulong MainFrame { get; }
    private ulong TypeType { get; }
    private ulong StrType { get; }
    private ulong BytesType { get; }
    private ulong TupleType { get; }
    private ulong IntType { get; }

    private bool FrameObjects => Offsets.FrameObjects;

    private void U64(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Span(address, 8), value);

    private void U32(ulong address, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Span(address, 4), value);

    private Span<byte> Span(ulong address, int length)
    {
        foreach (var (start, bytes) in Memory.Regions)
            if (address >= start && address + (ulong)length <= start + (ulong)bytes.Length) return bytes.AsSpan((int)(address - start), length);
        throw new InvalidOperationException($"0x{address:x} is not in the image");
    }

    private ulong Alloc(int size)
    {
        var address = _next;
        var pages = (size + 4095) / 4096;
        Memory.Map(address, new byte[pages * 4096]);
        _next += (ulong)(pages + 1) * 4096;
        return address;
    }

    private ulong Object(ulong type, int size)
    {
        var obj = Alloc(size);
        U64(obj + Offsets.ObType, type);
        return obj;
    }

    private ulong Type(string name, ulong flags)
    {
        var type = Object(TypeType, 416);
        var text = Alloc(name.Length + 1);
        Encoding.ASCII.GetBytes(name).CopyTo(Span(text, name.Length));
        U64(type + Offsets.TypeName, text);
        U64(type + Offsets.TypeFlags, flags);
        return type;
    }

    private ulong Str(string text)
    {
        var obj = Object(StrType, (int)Offsets.AsciiObjectSize + text.Length + 1);
        U64(obj + Offsets.UnicodeLength, (ulong)text.Length);
        U32(obj + Offsets.UnicodeState, 1 << 2 | 1 << 5 | 1 << 6); // kind 1, compact, ascii
        Encoding.ASCII.GetBytes(text).CopyTo(Span(obj + Offsets.AsciiObjectSize, text.Length));
        return obj;
    }

    private ulong ByteString(byte[] data)
    {
        var obj = Object(BytesType, (int)Offsets.BytesData + data.Length + 1);
        U64(obj + Offsets.BytesSize, (ulong)data.Length);
        if (data.Length > 0) data.CopyTo(Span(obj + Offsets.BytesData, data.Length));
        return obj;
    }

    private ulong Tuple(ulong[] items)
    {
        var obj = Object(TupleType, (int)Offsets.TupleItems + 8 * items.Length);
        U64(obj + Offsets.TupleSize, (ulong)items.Length);
        for (var i = 0; i < items.Length; i++) U64(obj + Offsets.TupleItems + (ulong)i * 8, items[i]);
        return obj;
    }

    /// <param name="name">co_name (the function's name alone).</param>
    /// <param name="qualname">co_qualname, from 3.11.</param>
    private ulong Code(ulong codeType, string name, string qualname, int firstLine, byte[] lineTable, string[] locals)
    {
        var code = Object(codeType, (int)Offsets.CodeSize + 64);
        U64(code + Offsets.CodeFilename, Str("/app/app.py"));
        U64(code + Offsets.CodeName, Str(name));
        if (!FrameObjects) U64(code + Offsets.CodeQualname, Str(qualname));
        U64(code + Offsets.CodeLinetable, ByteString(lineTable));
        U32(code + Offsets.CodeFirstLineNo, (uint)firstLine);
        var names = Tuple([.. locals.Select(Str)]);
        if (FrameObjects)
        {
            U32(code + Offsets.CodeNLocals, (uint)locals.Length);
            U64(code + Offsets.CodeVarNames, names);
            U64(code + Offsets.CodeCellVars, Tuple([]));
            U64(code + Offsets.CodeFreeVars, Tuple([]));
        }
        else
        {
            U64(code + Offsets.CodeLocalsPlusNames, names);
            U64(code + Offsets.CodeLocalsPlusKinds, ByteString([.. locals.Select(_ => (byte)0x20)]));
        }
        return code;
    }

    /// <param name="unit">The instruction the frame is at, in 16-bit code units from the start of the bytecode.</param>
    private ulong Frame(ulong code, int unit, ulong outer, ulong[] locals)
    {
        if (FrameObjects)
        {
            var frame = Object(0, (int)Offsets.FrameObjectSize + 8 * locals.Length);
            U64(frame + Offsets.FrameCode, code);
            U64(frame + Offsets.FrameBack, outer);
            // f_lasti: a byte offset in 3.9, a code-unit index in 3.10 (Python/ceval.c, PyFrame_GetLineNumber).
            U32(frame + Offsets.FrameLastI, (uint)(_minor == 9 ? unit * 2 : unit));
            for (var i = 0; i < locals.Length; i++) U64(frame + Offsets.FrameObjectLocalsPlus + (ulong)i * 8, locals[i]);
            return frame;
        }
        var iframe = Alloc((int)Offsets.FrameLocalsPlus + 8 * locals.Length);
        U64(iframe + Offsets.FrameExecutable, code);
        U64(iframe + Offsets.FramePrevious, outer);
        U64(iframe + Offsets.FrameInstrPtr, code + Offsets.CodeAdaptive + (ulong)unit * 2);
        for (var i = 0; i < locals.Length; i++) U64(iframe + Offsets.FrameLocalsPlus + (ulong)i * 8, locals[i]);
        return iframe;
    }

    private ulong Thread(int tid, ulong frame)
    {
        var t = Alloc((int)Offsets.ThreadSize);
        if (Offsets.ThreadPthreadId is { } pthreadField)
        {
            var pthread = Alloc(1024);
            U32(pthread + LegacyLayouts.GlibcPthreadTid, (uint)tid);
            U64(t + pthreadField, pthread);
        }
        else
        {
            U64(t + Offsets.ThreadNativeId, (ulong)tid);
        }
        if (Offsets.ThreadCFrame is { } cframeField)
        {
            var cframe = Alloc(64);
            U64(cframe + Offsets.CFrameCurrentFrame, frame);
            U64(t + cframeField, cframe);
        }
        else
        {
            U64(t + Offsets.ThreadCurrentFrame, frame);
        }
        return t;
    }
}
