using Wand.Errors;
using Wand.Hpc;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

public class ProgramCommandTests
{
    private static readonly Dictionary<string, string> Path = new()
    {
        ["python"] = "/usr/bin/python", ["python3"] = "/usr/bin/python3", ["python3.12"] = "/opt/py/bin/python3.12",
        ["torchrun"] = "/venv/bin/torchrun", ["ls"] = "/usr/bin/ls",
    };

    private static readonly Dictionary<string, string> Heads = new()
    {
        ["/venv/bin/torchrun"] = "#!/venv/bin/python3\n# -*- coding: utf-8 -*-\nimport re\n",
        ["/usr/bin/ls"] = "\u007fELF...",
    };

    private static ProgramCommand Parse(params string[] argv) =>
        ProgramCommand.Parse(argv, n => Path.GetValueOrDefault(n), p => Heads.GetValueOrDefault(p), _ => true);

    [Fact]
    public void ScriptWithItsOwnDashOptions()
    {
        var c = Parse("python3", "-u", "train.py", "-p", "3", "--port", "80");
        Assert.Equal(("/usr/bin/python3", ProgramCommand.Script, "train.py"), (c.Interpreter, c.Kind, c.Value));
        Assert.Equal(["-u"], c.InterpreterOptions);
        Assert.Equal(["-p", "3", "--port", "80"], c.Arguments);
    }

    [Fact]
    public void ModuleAndCodeAndVersionedAndVenvInterpreters()
    {
        var m = Parse("python3.12", "-X", "dev", "-m", "torch.distributed.run", "--nproc", "2");
        Assert.Equal(("/opt/py/bin/python3.12", ProgramCommand.Module, "torch.distributed.run"), (m.Interpreter, m.Kind, m.Value));
        Assert.Equal(["-X", "dev"], m.InterpreterOptions);
        Assert.Equal(["--nproc", "2"], m.Arguments);
        var c = Parse("python", "-c", "print(1)", "a");
        Assert.Equal((ProgramCommand.Code, "print(1)"), (c.Kind, c.Value));
        Assert.Equal(["a"], c.Arguments);
        var venv = ProgramCommand.Parse(["/work/venv/bin/python", "x.py"], _ => null, _ => null, _ => true);
        Assert.Equal("/work/venv/bin/python", venv.Interpreter);
        Assert.True(Parse("python3", "-I", "x.py").SafePath);
        Assert.False(Parse("python3", "-X", "importtime", "x.py").SafePath);
    }

    [Fact]
    public void AConsoleScriptRunsUnderItsShebangsInterpreter()
    {
        var c = Parse("torchrun", "--nproc_per_node", "2", "train.py");
        Assert.Equal(("/venv/bin/python3", ProgramCommand.Script, "/venv/bin/torchrun"), (c.Interpreter, c.Kind, c.Value));
        Assert.Equal(["--nproc_per_node", "2", "train.py"], c.Arguments);
        Assert.Equal("python3", ProgramCommand.Shebang("#!/usr/bin/env -S python3 -u\n"));
    }

    [Theory]
    [InlineData(new string[0], "needs the Python command")]
    [InlineData(new[] { "ls", "-l" }, "is not a Python interpreter")]
    [InlineData(new[] { "python3" }, "needs a script")]
    [InlineData(new[] { "python3", "-" }, "needs a script")]
    [InlineData(new[] { "python3", "-m" }, "-m needs a module name")]
    [InlineData(new[] { "python9" }, "was not found on PATH")]
    public void BadCommandsAreUsageErrors(string[] argv, string message)
    {
        var e = Assert.Throws<WandException>(() => Parse(argv));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(message, e.Message);
        Assert.NotNull(Wand.Cli.ErrorWording.Of(e).Hint); // what to do, or the usage line the CLI words
    }

    [Fact]
    public void AgentsThatSpawnTheRanksAreRecognised()
    {
        Assert.True(Parse("torchrun", "--nproc_per_node", "4", "train.py").SpawnsRanks);
        Assert.True(Parse("python3", "-m", "torch.distributed.run", "train.py").SpawnsRanks);
        Assert.True(Parse("python3", "-m", "torch.distributed.launch", "train.py").SpawnsRanks);
        Assert.False(Parse("python3", "train.py").SpawnsRanks);
        Assert.False(Parse("python3", "-m", "torch.distributed.elastic").SpawnsRanks);
        Assert.False(Parse("python3", "torchrun.py").SpawnsRanks);
    }
}
