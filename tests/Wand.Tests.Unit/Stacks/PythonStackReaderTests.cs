using System.Buffers.Binary;
using System.Diagnostics;
using Wand.Errors;
using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

public class PythonStackReaderTests
{
    private static IReadOnlyList<PythonThread> Read(SyntheticRuntime r, bool locals = true, FakeProcessMemory? memory = null, StackOffsets? offsets = null) =>
        new PythonStackReader(memory ?? r.Memory, offsets ?? r.Offsets).Read(r.Runtime, locals);

    [Fact]
    public void ReadsThreadsFramesLinesAndTheGilHolder()
    {
        var threads = Read(new SyntheticRuntime(), locals: false);
        Assert.Equal([100, 101], threads.Select(t => t.NativeId)); // oldest first
        var main = threads[0];
        Assert.False(main.HoldsGil);
        Assert.Null(main.Problem);
        Assert.Equal(["/app/app.py:12 main"], main.Frames.Select(f => $"{f.File}:{f.Line} {f.Function}"));
        Assert.Null(main.Frames[0].Locals);
        var worker = threads[1];
        Assert.True(worker.HoldsGil);
        Assert.Equal(["/app/app.py:10 main", "/app/app.py:21 Worker.run"], worker.Frames.Select(f => $"{f.File}:{f.Line} {f.Function}"));
    }

    [Fact]
    public void SummarisesLocalsWithoutRunningCode()
    {
        var main = Read(new SyntheticRuntime())[0];
        var locals = main.Frames[0].Locals!.ToDictionary(l => l.Name);
        Assert.Equal(new LocalVariable("x", "int", "5", null), locals["x"]);
        Assert.Equal(new LocalVariable("s", "str", "'hi\\n'", 3), locals["s"]);
        Assert.Equal(new LocalVariable("nothing", "NoneType", "None", null), locals["nothing"]);
        Assert.Equal(new LocalVariable("big", "int", "big int", null), locals["big"]);
        Assert.Equal(new LocalVariable("f", "float", "1.5", null), locals["f"]);
        Assert.Equal(new LocalVariable("items", "list", null, 3), locals["items"]);
        Assert.Equal(new LocalVariable("mapping", "dict", null, 2), locals["mapping"]);
        Assert.Equal(new LocalVariable("captured", "int", "-7", null), locals["captured"]); // through its cell
        Assert.Equal(new LocalVariable("tagged", "int", "9", null), locals["tagged"]);      // a tagged stack reference
        Assert.False(locals.ContainsKey("unbound"));
    }

    [Fact]
    public void UnreadableLocalsKeepTheFrame()
    {
        var r = new SyntheticRuntime();
        // main's code object, through its frame: break the pointer to its names tuple.
        var executable = BinaryPrimitives.ReadUInt64LittleEndian(Bytes(r, r.MainFrame + r.Offsets.FrameExecutable));
        r.U64(executable + r.Offsets.CodeLocalsPlusNames, 0xdead0000);
        var main = Read(r)[0];
        Assert.Null(main.Problem);
        var frame = Assert.Single(main.Frames);
        Assert.Equal("main", frame.Function);
        Assert.Equal(new LocalVariable("(locals)", "?", "unreadable (changed while reading)", null), Assert.Single(frame.Locals!));
    }

    private static byte[] Bytes(SyntheticRuntime r, ulong address)
    {
        var b = new byte[8];
        r.Memory.Read(address, b);
        return b;
    }

    [Fact]
    public void ALoopingThreadListIsATypedError()
    {
        var r = new SyntheticRuntime();
        r.U64(r.MainThread + r.Offsets.ThreadNext, r.WorkerThread);
        var e = Assert.Throws<StackReadException>(() => Read(r));
        Assert.Contains("loops", e.Message);
    }

    [Fact]
    public void ALoopingFrameChainEndsThatThreadWithAProblem()
    {
        var r = new SyntheticRuntime();
        r.U64(r.MainFrame + r.Offsets.FramePrevious, r.MainFrame);
        var threads = Read(r);
        Assert.Contains("changed while reading", threads[0].Problem);
        Assert.Single(threads[0].Frames);
        Assert.Null(threads[1].Problem); // the other thread is unaffected
    }

    [Fact]
    public void AFrameWhoseCodeWasFreedIsReportedNotGuessed()
    {
        var r = new SyntheticRuntime();
        r.U64(r.WorkerFrame + r.Offsets.FrameExecutable, r.MainThread); // not a code object any more
        var worker = Read(r)[1];
        Assert.Empty(worker.Frames);
        Assert.Contains("changed while reading", worker.Problem);
    }

    /// <summary>
    /// Corrupts the image at random (random words, pointers into other objects, zeroes, flipped bytes)
    /// and reads it: the reader may only return or throw <see cref="StackReadException"/>, and must
    /// finish. A loop or an unbounded read would hit the test's timeout.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task CorruptedImagesNeverCrashOrHang()
    {
        await Task.Run(() =>
        {
            var clean = new SyntheticRuntime();
            var random = new Random(1813);
            var outcomes = new Dictionary<string, int>();
            // The words the reader can reach: every non-zero word of the image (fields, pointers, text), bar the table.
            var words = clean.Memory.Regions.Select((r, i) => (r, i)).Where(x => x.r.Start != clean.Runtime)
                .SelectMany(x => Enumerable.Range(0, x.r.Bytes.Length / 8).Where(w => BinaryPrimitives.ReadUInt64LittleEndian(x.r.Bytes.AsSpan(w * 8)) != 0)
                    .Select(w => (Region: x.i, At: w * 8)))
                .ToList();
            for (var round = 0; round < 3000; round++)
            {
                var memory = clean.Memory.Clone();
                var regions = memory.Regions;
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    var (region, at) = words[random.Next(words.Count)];
                    var bytes = regions[region].Bytes;
                    var target = regions[random.Next(regions.Count)];
                    ulong value = random.Next(5) switch
                    {
                        0 => (ulong)random.NextInt64(),
                        1 => target.Start + (ulong)(random.Next(0, target.Bytes.Length) & ~7),
                        2 => 0,
                        3 => (ulong)random.Next(0, 1 << 20),
                        _ => BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at)) ^ (1UL << random.Next(64)),
                    };
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value);
                }
                var watch = Stopwatch.StartNew();
                string outcome;
                try
                {
                    var threads = Read(clean, locals: random.Next(2) == 0, memory: memory);
                    outcome = threads.Any(t => t.Problem is not null) ? "partial" : "read";
                }
                catch (StackReadException)
                {
                    outcome = "typed error";
                }
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"round {round} took {watch.Elapsed}");
                Assert.True(memory.BytesRead < 64 << 20, $"round {round} read {memory.BytesRead} bytes");
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
            // The corruption must actually reach the reader: all three outcomes occur.
            Assert.True(outcomes.Count == 3, string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        }, TestContext.Current.CancellationToken);
    }

    /// <summary>Random garbage everywhere but the table: the same promise.</summary>
    [Fact(Timeout = 60_000)]
    public async Task RandomImagesNeverCrashOrHang()
    {
        await Task.Run(() =>
        {
            var clean = new SyntheticRuntime();
            var random = new Random(42);
            for (var round = 0; round < 500; round++)
            {
                var memory = clean.Memory.Clone();
                foreach (var (start, bytes) in memory.Regions)
                    if (start != clean.Runtime) random.NextBytes(bytes);
                // Keep the first pointer valid so that the walk gets past the runtime now and then.
                try
                {
                    Read(clean, locals: true, memory: memory);
                }
                catch (StackReadException)
                {
                }
            }
        }, TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// The 3.9-3.12 layouts (PyFrameObject chains and co_lnotab or 3.10's line pairs; cframe and the location table)
    /// over random images in which half the words point back into the image, so the walk follows
    /// long chains of "objects": the reader may only return or throw <see cref="StackReadException"/>.
    /// </summary>
    [Theory(Timeout = 120_000)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    public async Task CorruptedLegacyImagesNeverCrashOrHang(int minor)
    {
        await Task.Run(() =>
        {
            var offsets = StackOffsets.ForLegacy(minor, null, $"3.{minor}");
            var random = new Random(minor);
            for (var round = 0; round < 300; round++)
            {
                var memory = new FakeProcessMemory();
                var starts = Enumerable.Range(0, 8).Select(i => 0x10000UL + (ulong)i * 0x10000).ToArray();
                foreach (var start in starts)
                {
                    var bytes = new byte[0x4000];
                    random.NextBytes(bytes);
                    for (var off = 0; off + 8 <= bytes.Length; off += 8)
                        if (random.Next(2) == 0)
                            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(off), starts[random.Next(starts.Length)] + (ulong)random.Next(0x4000 - 1024));
                    memory.Map(start, bytes);
                }
                try
                {
                    new PythonStackReader(memory, offsets).Read(starts[0], withLocals: true);
                }
                catch (StackReadException)
                {
                }
            }
        }, TestContext.Current.CancellationToken);
    }

    /// <summary>A corrupted offsets table either fails to parse with a typed error or reads with one.</summary>
    [Fact(Timeout = 60_000)]
    public async Task CorruptedTablesNeverCrash()
    {
        await Task.Run(() =>
        {
            var clean = new SyntheticRuntime();
            var random = new Random(7);
            for (var round = 0; round < 2000; round++)
            {
                var table = RealTables.Padded(RealTables.Python314);
                var at = random.Next(3, RealTables.Python314.Length / 8) * 8;
                BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(at), random.Next(3) switch
                {
                    0 => (ulong)random.Next(0, 1024),
                    1 => (ulong)random.NextInt64(),
                    _ => BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(at)) + (ulong)random.Next(1, 16),
                });
                try
                {
                    Read(clean, locals: true, offsets: StackOffsets.Parse(table));
                }
                catch (Exception e) when (e is StackReadException or UnsupportedPythonException)
                {
                }
            }
        }, TestContext.Current.CancellationToken);
    }
}
