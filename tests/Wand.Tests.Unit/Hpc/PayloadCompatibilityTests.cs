using System.Diagnostics;
using Wand.Injection.Payloads;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

/// <summary>
/// The rdg payloads run in the job's own interpreter, which on clusters is often Python 3.8-3.13: they
/// must be Python 3.8 code. The oldest interpreter at hand parses them with
/// <c>ast.parse(feature_version=(3, 8))</c> (catches match, except*, and the other grammar 3.8 lacks),
/// and a walk over the tree refuses what that flag does not catch: builtin generics subscripted at run
/// time (<c>list[int]</c>), <c>X | Y</c> in annotations, <c>zip(strict=)</c> and the 3.9+ methods most
/// likely to slip in.
/// </summary>
public sealed class PayloadCompatibilityTests
{
    private const string Checker = """
        import ast, sys

        NEWER_ATTRS = {"removeprefix", "removesuffix", "bit_count", "is_relative_to", "with_stem", "to_thread", "randbytes", "remote_exec"}
        GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}

        def check(name, source):
            problems = []
            try:
                tree = ast.parse(source, name, feature_version=(3, 8))
            except SyntaxError as e:
                return ["%s:%s: %s (not Python 3.8 syntax)" % (name, e.lineno, e.msg)]
            guarded = set()
            for node in ast.walk(tree):
                # `hasattr(x, "remote_exec")` guards: the name is looked up, never called unguarded.
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hasattr" and len(node.args) == 2 and isinstance(node.args[1], ast.Constant):
                    guarded.add(node.args[1].value)
            for node in ast.walk(tree):
                line = getattr(node, "lineno", "?")
                if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in GENERICS:
                    problems.append("%s:%s: %s[...] needs Python 3.9" % (name, line, node.value.id))
                if isinstance(node, ast.Attribute) and node.attr in NEWER_ATTRS and node.attr not in guarded:
                    problems.append("%s:%s: .%s needs Python 3.9+ (guard it with hasattr)" % (name, line, node.attr))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "zip" and any(k.arg == "strict" for k in node.keywords):
                    problems.append("%s:%s: zip(strict=) needs Python 3.10" % (name, line))
                annotations = []
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs] + [node.returns]
                elif isinstance(node, ast.AnnAssign):
                    annotations = [node.annotation]
                for a in annotations:
                    if a is not None and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(a)):
                        problems.append("%s:%s: X | Y in an annotation needs Python 3.10" % (name, line))
            return problems

        problems = []
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as f:
                problems += check(path, f.read())
        print("\n".join(problems) if problems else "ok")
        """;

    /// <summary>The testbed's oldest Python (3.13), else the system's python3.</summary>
    private static string Python()
    {
        var testbed = Path.Combine(Environment.GetEnvironmentVariable("WAND_TESTBED") is { Length: > 0 } t ? t : "/var/cache/wand-testbed", "rootfs/usr/bin/python3.13-host");
        return File.Exists(testbed) ? testbed : "python3";
    }

    private static string Check(params (string Name, string Source)[] files)
    {
        var dir = Directory.CreateTempSubdirectory("rdg-compat-").FullName;
        try
        {
            var psi = new ProcessStartInfo(Python()) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(Checker);
            foreach (var (name, source) in files)
            {
                var path = Path.Combine(dir, name);
                File.WriteAllText(path, source);
                psi.ArgumentList.Add(path);
            }
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "the checker did not finish");
            Assert.True(p.ExitCode == 0, stderr.Result);
            return stdout.Result.Replace(dir + "/", "", StringComparison.Ordinal).Trim();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("rdg_launcher.py")]
    [InlineData("rdg_rank.py")]
    [InlineData("remote_debug.py")]
    [InlineData("pending_call.py")]
    [InlineData("agent.py")]
    [InlineData("agent_ptrace.py")]
    [InlineData("debugpy_bootstrap.py")]
    [InlineData("debugpy_stop.py")]
    public void RdgPayloadsArePython38Code(string payload) =>
        Assert.Equal("ok", Check((payload, Payload.Read(payload))));

    /// <summary>wand exec's payload runs in the target (3.14+), but every payload keeps to Python 3.8 code.</summary>
    [Fact]
    public void TheExecPayloadIsPython38Code() =>
        Assert.Equal("ok", Check(("exec_capture.py", Payload.ScriptBody(Payload.Exec))));

    [Fact]
    public void TheRankHookIsPython38Code() =>
        Assert.Equal("ok", Check(("sitecustomize.py", Wand.Hpc.DebugLauncher.RankHook)));

    [Fact]
    public void TheCheckRefusesNewerPython()
    {
        var report = Check(
            ("match.py", "match x:\n    case 1:\n        pass\n"),
            ("newer.py", "def f(a: int | None) -> list[int]:\n    return [s.removeprefix('x') for s in zip(a, a, strict=True)]\n"),
            ("guarded.py", "import sys\nif hasattr(sys, 'remote_exec'):\n    sys.remote_exec(1, 'x')\n"));
        Assert.Contains("match.py:3: Pattern matching is only supported in Python 3.10", report);
        Assert.Contains("newer.py:1: X | Y in an annotation", report);
        Assert.Contains("newer.py:1: list[...]", report);
        Assert.Contains("newer.py:2: .removeprefix", report);
        Assert.Contains("newer.py:2: zip(strict=)", report);
        Assert.DoesNotContain("guarded.py", report);
    }
}
