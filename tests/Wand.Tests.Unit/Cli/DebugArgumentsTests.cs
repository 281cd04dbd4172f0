using Wand.Cli;
using Xunit;

namespace Wand.Tests.Unit.Cli;

public class DebugArgumentsTests
{
    [Theory]
    [InlineData("debug -l python train.py -p 3 --port 80", "debug -l -- python train.py -p 3 --port 80")]
    [InlineData("debug -lp --port 6000 --rank 1 python3 -m pkg -x", "debug -lp --port 6000 --rank 1 -- python3 -m pkg -x")]
    [InlineData("debug --port 6000 -- python -c pass", "debug --port 6000 -- python -c pass")]
    [InlineData("debug", "debug")]
    [InlineData("debug --help", "debug --help")]
    [InlineData("attach 12 34", "attach 12 34")]
    public void ProgramOptionsNeverReachRdg(string input, string expected) =>
        Assert.Equal(expected.Split(' '), DebugArguments.Normalize(input.Split(' ')));
}
