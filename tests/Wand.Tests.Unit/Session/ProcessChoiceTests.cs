using Wand.Discovery;
using Wand.Errors;
using Wand.Session;
using Xunit;

namespace Wand.Tests.Unit.Session;

/// <summary>The rule for which process a session is about when the user named none.</summary>
public class ProcessChoiceTests
{
    private static readonly Attachability Yes = new(AttachState.Attachable, "attachable");

    [Fact]
    public void AReloadWorkerIsRecommendedOverItsReloaderAndTakenWithoutAsking()
    {
        var reloader = Process(10, 1, ProcessRole.ReloaderParent, Yes);
        var worker = Process(11, 10, ProcessRole.Worker, Yes);

        var choice = ProcessChoice.Among([reloader, worker], "this machine");

        Assert.Same(worker, choice.Recommended);
        Assert.Equal([worker, reloader], choice.Candidates);
        Assert.Same(worker, choice.WithoutAsking());
    }

    [Fact]
    public void TwoUnrelatedAppsCouldBothBeMeant()
    {
        var choice = ProcessChoice.Among([Process(10, 1, ProcessRole.Main, Yes), Process(20, 1, ProcessRole.Main, Yes)], "this machine");

        Assert.Null(choice.Recommended);
        var error = Assert.Throws<AmbiguousProcessException>(choice.WithoutAsking);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith("several Python processes could be meant: PID 10 ", error.Message);
        Assert.Equal(["PID 10", "PID 20"], error.Candidates.Select(c => string.Join(' ', c.Split(' ')[..2])));
        Assert.DoesNotContain("--", error.Hint); // the library names no option: the CLI words it (ErrorWordingTests)
    }

    [Fact]
    public void TheOnlyAttachableProcessIsTakenEvenWhenNotRecommended()
    {
        var old = Process(10, 1, ProcessRole.Main, new Attachability(AttachState.UnsupportedVersion, "Python 3.12"));
        var app = Process(20, 1, ProcessRole.Main, Yes);

        Assert.Same(app, ProcessChoice.Among([old, app], "this machine").WithoutAsking());
    }

    [Fact]
    public void OnlyOldPythonsIsAnUnsupportedPythonError() =>
        Assert.Throws<UnsupportedPythonException>(() => ProcessChoice.Among([Process(10, 1, ProcessRole.Main, new Attachability(AttachState.UnsupportedVersion, "Python 3.12"))], "container web"));

    [Fact]
    public void NoPythonIsProcessNotFound()
    {
        var error = Assert.Throws<WandException>(() => ProcessChoice.Among([], "container web"));
        Assert.Equal(ExitCodes.ProcessNotFound, error.ExitCode);
        Assert.Equal("no Python processes found in container web", error.Message);
    }

    private static PythonProcess Process(int pid, int parent, ProcessRole role, Attachability attach) =>
        new(pid, parent, 0, "root", "3.14.0", role, null, 0, 0, TimeSpan.FromSeconds(pid), ["python", "app.py"], "/", "/", attach);
}
