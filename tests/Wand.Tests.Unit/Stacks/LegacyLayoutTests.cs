using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

/// <summary>
/// The 3.9-3.12 layouts read a memory image laid out with their own offsets (<see cref="LegacySyntheticRuntime"/>):
/// each version's frame chain, thread id, GIL and line table format. 3.9 and 3.11 are also checked
/// against real interpreters (StacksTests); 3.10 and 3.12 only here (no Debian release serves them).
/// </summary>
public class LegacyLayoutTests
{
    [Theory]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    public void ReadsThreadsFramesLinesLocalsAndTheGilHolder(int minor)
    {
        var r = new LegacySyntheticRuntime(minor);
        var threads = new PythonStackReader(r.Memory, r.Offsets).Read(r.Runtime, withLocals: true);

        Assert.Equal([200, 201], threads.Select(t => t.NativeId)); // oldest first
        Assert.Equal([false, true], threads.Select(t => t.HoldsGil));
        Assert.All(threads, t => Assert.Null(t.Problem));
        Assert.Equal(["/app/app.py:30 <module>", "/app/app.py:12 main"], threads[0].Frames.Select(f => $"{f.File}:{f.Line} {f.Function}"));
        // co_qualname exists from 3.11; before, a method's frame is its bare name.
        Assert.Equal([$"/app/app.py:21 {(minor < 11 ? "run" : "Worker.run")}"], threads[1].Frames.Select(f => $"{f.File}:{f.Line} {f.Function}"));
        Assert.Equal([new LocalVariable("x", "int", "5", null), new LocalVariable("s", "str", "'hi'", 2)], threads[0].Frames[1].Locals!);
        Assert.Empty(threads[1].Frames[0].Locals!); // self is unbound (NULL) in the image
    }

    [Theory]
    [InlineData(10, "3.10")]
    [InlineData(12, "3.12")]
    public void TheirVersionsAreSupported(int minor, string text)
    {
        Assert.Equal(text, StackOffsets.ForLegacy(minor, null, text).VersionText);
        StackOffsets.EnsureSupported(new Wand.Injection.Attacher.PythonVersion(3, minor, 4, Wand.Injection.Attacher.PythonVersion.Final, 0));
    }
}
