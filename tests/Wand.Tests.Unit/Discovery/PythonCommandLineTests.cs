using Wand.Discovery;
using Xunit;

namespace Wand.Tests.Unit.Discovery;

public class PythonCommandLineTests
{
    [Fact]
    public void ModuleWithInterpreterOptions()
    {
        var c = PythonCommandLine.Parse(["/usr/bin/python3.14", "-X", "dev", "-Wignore", "-u", "-m", "uvicorn", "app:app", "--reload"]);
        Assert.Equal("/usr/bin/python3.14", c.Interpreter);
        Assert.Equal(["-X", "dev", "-Wignore", "-u"], c.InterpreterOptions);
        Assert.Equal("uvicorn", c.Module);
        Assert.Equal("uvicorn", c.Tool);
        Assert.Equal(["app:app", "--reload"], c.Arguments);
    }

    [Fact]
    public void CodeAfterGroupedFlags()
    {
        // multiprocessing's resource tracker, as CPython 3.14 starts it (with PYTHONDONTWRITEBYTECODE set)
        var c = PythonCommandLine.Parse(["/usr/bin/python3.14", "-B", "-c", "from multiprocessing.resource_tracker import main;main(4)"]);
        Assert.Equal("from multiprocessing.resource_tracker import main;main(4)", c.Code);
        Assert.Null(c.Tool);

        var grouped = PythonCommandLine.Parse(["python3", "-Bc", "print(1)", "x"]);
        Assert.Equal(["-B"], grouped.InterpreterOptions);
        Assert.Equal("print(1)", grouped.Code);
        Assert.Equal(["x"], grouped.Arguments);

        var attached = PythonCommandLine.Parse(["python3", "-mhttp.server", "8000"]);
        Assert.Equal("http.server", attached.Module);
        Assert.Equal(["8000"], attached.Arguments);
    }

    [Fact]
    public void ScriptFromAShebang()
    {
        // `gunicorn app:app` runs the console script: the kernel puts the interpreter first.
        var c = PythonCommandLine.Parse(["/app/.venv/bin/python3", "/app/.venv/bin/gunicorn", "-w", "2", "app:app"]);
        Assert.Equal("/app/.venv/bin/gunicorn", c.Script);
        Assert.Equal("gunicorn", c.Tool);
        Assert.Equal(["-w", "2", "app:app"], c.Arguments);

        Assert.Equal("manage", PythonCommandLine.Parse(["python", "manage.py", "runserver"]).Tool);
        Assert.Equal("main", PythonCommandLine.Parse(["python", "-m", "main.__main__"]).Tool);
    }

    [Fact]
    public void SetproctitleNameIsTheScript()
    {
        var c = PythonCommandLine.Parse(["gunicorn: worker [app:app]"]);
        Assert.Null(c.Interpreter);
        Assert.Equal("gunicorn: worker [app:app]", c.Script);
        Assert.Equal("gunicorn", c.Tool);
    }

    [Fact]
    public void ProgramKeyIgnoresInterpreterPathAndOptions()
    {
        // Django's autoreloader re-executes sys.executable with -W options of its own.
        var parent = PythonCommandLine.Parse(["python3", "manage.py", "runserver"]);
        var child = PythonCommandLine.Parse(["/usr/bin/python3.14", "-Wdefault", "manage.py", "runserver"]);
        Assert.Equal(parent.ProgramKey, child.ProgramKey);
        Assert.NotEqual(parent.ProgramKey, PythonCommandLine.Parse(["python3", "manage.py", "migrate"]).ProgramKey);
        Assert.NotEqual(PythonCommandLine.Parse(["python3", "-m", "x"]).ProgramKey, PythonCommandLine.Parse(["python3", "x"]).ProgramKey);
    }

    [Theory]
    [InlineData("/usr/bin/python3.14", true)]
    [InlineData("python3", true)]
    [InlineData("/usr/local/bin/python3.14t", true)]
    [InlineData("/opt/pypy/bin/pypy3", true)]
    [InlineData("/usr/bin/uv", false)]
    [InlineData("gunicorn: master [app]", false)]
    [InlineData("", false)]
    public void InterpreterNames(string argv0, bool expected) => Assert.Equal(expected, PythonCommandLine.IsInterpreterName(argv0));

    [Fact]
    public void EmptyAndOptionsOnly()
    {
        Assert.Null(PythonCommandLine.Parse([]).Interpreter);
        var repl = PythonCommandLine.Parse(["python3", "-i"]);
        Assert.Equal(["-i"], repl.InterpreterOptions);
        Assert.Null(repl.Script);
        Assert.Equal("x.py", PythonCommandLine.Parse(["python3", "--check-hash-based-pycs", "always", "x.py"]).Script);
        Assert.Equal("-", PythonCommandLine.Parse(["python3", "-"]).Script);
    }
}
