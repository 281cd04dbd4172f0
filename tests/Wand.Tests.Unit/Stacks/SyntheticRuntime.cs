using Wand.Stacks;

namespace Wand.Tests.Unit.Stacks;

/// <summary>
/// Builds a CPython 3.14 runtime in a <see cref="FakeProcessMemory"/> with the real 3.14 offsets:
/// one interpreter, a main thread (tid 100) in <c>main</c> at app.py:12 with assorted locals, and a
/// worker thread (tid 101, holding the GIL) in <c>Worker.run</c> at app.py:21 called from app.py:10.
/// Objects are laid out as CPython lays them out, so the reader sees what it would see in a process.
/// </summary>
public sealed class SyntheticRuntime : SyntheticImage
{
    public SyntheticRuntime() : base(StackOffsets.Parse(RealTables.Padded(RealTables.Python314)))
    {
        var o = Offsets;
        Runtime = Alloc(64 * 1024);
        RealTables.Python314.CopyTo(Bytes(Runtime), 0);

        MapBuiltinTypes();
        var intType = Type("int", 1UL << 24);
        var listType = Type("list", 1UL << 25);
        var dictType = Type("dict", 1UL << 29);
        var floatType = Type("float", 0);
        var noneType = Type("NoneType", 0);
        var cellType = Type("cell", 0);
        var codeType = Type("code", 0);

        // main: units 0-1 on line 10, units 2-3 on line 12 (NO_COLUMNS entries, deltas 0 and +2).
        var codeMain = Code(codeType, "/app/app.py", "main", 10, [0x80 | 13 << 3 | 1, 0, 0x80 | 13 << 3 | 1, 4],
            ["x", "s", "nothing", "big", "f", "items", "mapping", "unbound", "captured", "tagged"], 4);
        // Worker.run: units 0-3 on line 21.
        var codeRun = Code(codeType, "/app/app.py", "Worker.run", 20, [0x80 | 13 << 3 | 3, 2], ["self"], 4);

        var five = Object(intType, 32); U64(five + o.LongTag, 1 << 3); U32(five + o.LongDigits, 5);
        var big = Object(intType, 40); U64(big + o.LongTag, 3 << 3);
        var half = Object(floatType, 24); U64(half + o.FloatValue, (ulong)BitConverter.DoubleToInt64Bits(1.5));
        var none = Object(noneType, 16);
        var list = Object(listType, 40); U64(list + o.ListSize, 3);
        var dict = Object(dictType, 48); U64(dict + 16, 2);
        var seven = Object(intType, 32); U64(seven + o.LongTag, 1 << 3 | 2); U32(seven + o.LongDigits, 7); // negative
        var cell = Object(cellType, 24); U64(cell + 16, seven);
        ulong taggedNine = 9 << 2 | 3;

        MainFrame = Frame(codeMain, 2, 0, [five, Str("hi\n"), none, big, half, list, dict, 0, cell, taggedNine]);
        // A C-stack entry frame (owner 4 in 3.14) under the Python frames: skipped.
        var entry = Frame(none, 0, 0, [], owner: 4);
        U64(MainFrame + o.FramePrevious, entry);
        var outer = Frame(codeMain, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        WorkerFrame = Frame(codeRun | 1 /* deferred-reference tag */, 1, outer, [none]);

        MainThread = Thread(100, MainFrame);
        WorkerThread = Thread(101, WorkerFrame);
        U64(WorkerThread + o.ThreadNext, MainThread);

        Interpreter = Alloc((int)Bytes(Runtime).Length * 4);
        U64(Runtime + o.InterpretersHead, Interpreter);
        U64(Interpreter + o.ThreadsHead, WorkerThread);
        U64(Interpreter + o.CevalGil, Interpreter + o.GilRuntimeState);
        U32(Interpreter + o.GilLocked, 1);
        U64(Interpreter + o.GilLastHolder, WorkerThread);
    }

    public ulong Runtime { get; }
    public ulong Interpreter { get; }
    public ulong MainThread { get; }
    public ulong WorkerThread { get; }
    public ulong MainFrame { get; }
    public ulong WorkerFrame { get; }

    private ulong Code(ulong codeType, string file, string name, int firstLine, byte[] lineTable, string[] locals, int units)
    {
        var code = Object(codeType, (int)Offsets.CodeSize + 2 * units);
        U64(code + Offsets.CodeFilename, Str(file));
        U64(code + Offsets.CodeName, Str(name));
        U64(code + Offsets.CodeQualname, Str(name));
        U64(code + Offsets.CodeLinetable, ByteString(lineTable));
        U32(code + Offsets.CodeFirstLineNo, (uint)firstLine);
        U64(code + Offsets.CodeLocalsPlusNames, Tuple(locals.Select(Str).ToArray()));
        U64(code + Offsets.CodeLocalsPlusKinds, ByteString(locals.Select(_ => (byte)0x20).ToArray()));
        return code;
    }

    private ulong Frame(ulong executable, int unit, ulong previous, ulong[] locals, byte owner = 0)
    {
        var frame = Alloc((int)Offsets.FrameLocalsPlus + 8 * locals.Length);
        U64(frame + Offsets.FrameExecutable, executable);
        U64(frame + Offsets.FramePrevious, previous);
        U64(frame + Offsets.FrameInstrPtr, (executable & ~3UL) + Offsets.CodeAdaptive + (ulong)unit * 2);
        Span(frame + Offsets.FrameOwner, 1)[0] = owner;
        for (var i = 0; i < locals.Length; i++) U64(frame + Offsets.FrameLocalsPlus + (ulong)i * 8, locals[i]);
        return frame;
    }

    private ulong Thread(int tid, ulong frame)
    {
        var t = Alloc((int)Offsets.ThreadSize);
        U64(t + Offsets.ThreadNativeId, (ulong)tid);
        U64(t + Offsets.ThreadCurrentFrame, frame);
        return t;
    }
}
