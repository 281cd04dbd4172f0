using System.Text.Json;
using Wand.Stacks;
using Xunit;

namespace Wand.Tests.Unit.Stacks;

/// <summary>The shape documented in docs/stacks-json.md.</summary>
public class StacksJsonTests
{
    private static readonly ProcessStacks Sample = new(4242, "3.14.10",
    [
        new ThreadStack(4242, "python3.14", ThreadNameSource.Process,
            new NativeActivity("syscall", 202, "futex", "waiting on a futex (lock)", "futex_wait_queue"),
            new PythonThread(4242, 0, false,
            [
                new StackFrame("/app/main.py", 40, "<module>", [new LocalVariable("n", "int", "3", null), new LocalVariable("items", "list", null, 2)]),
                new StackFrame("/app/main.py", null, "deadlock", []),
            ], "changed while reading: x")),
        new ThreadStack(4250, "sleeper", ThreadNameSource.Thread, new NativeActivity("running", null, null, "running", null),
            new PythonThread(4250, 0, true, [new StackFrame("/app/main.py", 7, "sleeper", null)], null)),
        new ThreadStack(4251, null, ThreadNameSource.None, NativeActivity.Unknown, null),
    ]);

    [Fact]
    public void HasTheDocumentedShape()
    {
        using var doc = JsonDocument.Parse(StacksJson.Write(Sample));
        var root = doc.RootElement;
        Assert.Equal(["pid", "python", "stoppedMs", "threads"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(4242, root.GetProperty("pid").GetInt32());
        Assert.Equal("3.14.10", root.GetProperty("python").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stoppedMs").ValueKind);

        var threads = root.GetProperty("threads").EnumerateArray().ToList();
        Assert.Equal(3, threads.Count);
        var main = threads[0];
        Assert.Equal(["tid", "name", "nameSource", "python", "interpreter", "holdsGil", "native", "frames", "problem"], main.EnumerateObject().Select(p => p.Name));
        Assert.Equal("process", main.GetProperty("nameSource").GetString());
        Assert.True(main.GetProperty("python").GetBoolean());
        Assert.Equal(0, main.GetProperty("interpreter").GetInt32());
        Assert.False(main.GetProperty("holdsGil").GetBoolean());
        var native = main.GetProperty("native");
        Assert.Equal(["state", "syscall", "syscallNumber", "description", "wchan"], native.EnumerateObject().Select(p => p.Name));
        Assert.Equal(202, native.GetProperty("syscallNumber").GetInt32());
        Assert.Equal("changed while reading: x", main.GetProperty("problem").GetString());

        var frames = main.GetProperty("frames").EnumerateArray().ToList();
        Assert.Equal(["<module>", "deadlock"], frames.Select(f => f.GetProperty("function").GetString())); // innermost last
        Assert.Equal(["file", "line", "function", "locals"], frames[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, frames[1].GetProperty("line").ValueKind);
        var local = frames[0].GetProperty("locals")[1];
        Assert.Equal(["name", "type", "value", "length"], local.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, local.GetProperty("value").ValueKind);
        Assert.Equal(2, local.GetProperty("length").GetInt64());

        Assert.True(threads[1].GetProperty("holdsGil").GetBoolean());
        Assert.False(threads[1].GetProperty("frames")[0].TryGetProperty("locals", out _)); // absent without --locals
        Assert.Equal("thread", threads[1].GetProperty("nameSource").GetString());

        var native2 = threads[2];
        Assert.False(native2.GetProperty("python").GetBoolean());
        Assert.Equal(JsonValueKind.Null, native2.GetProperty("interpreter").ValueKind);
        Assert.Equal(0, native2.GetProperty("frames").GetArrayLength());
        Assert.Equal("none", native2.GetProperty("nameSource").GetString());
    }

    [Fact]
    public void StringsAreReadableNotEscaped() =>
        Assert.Contains("\"function\": \"<module>\"", StacksJson.Write(Sample));

    /// <summary>--all-pods: one document, a "pods" array of pod, stacks (the single-process shape) or null, error or null.</summary>
    [Fact]
    public void AllPodsGroupsByPod()
    {
        using var doc = JsonDocument.Parse(StacksJson.WritePods([("api-1", Sample, null), ("api-2", null, "no Python processes found in pod api-2")]));
        var pods = doc.RootElement.GetProperty("pods").EnumerateArray().ToList();
        Assert.Equal(["pod", "stacks", "error"], pods[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(4242, pods[0].GetProperty("stacks").GetProperty("pid").GetInt32());
        Assert.Equal(JsonValueKind.Null, pods[0].GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, pods[1].GetProperty("stacks").ValueKind);
        Assert.Equal("no Python processes found in pod api-2", pods[1].GetProperty("error").GetString());
    }
}
