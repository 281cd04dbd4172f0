using Wand.Injection;
using Xunit;

namespace Wand.Tests.Unit.Injection;

public class RandomNameTests
{
    [Fact]
    public void NamesAreSixteenHexDigitsDifferentEachTime()
    {
        var names = Enumerable.Range(0, 1000).Select(_ => RandomName.Hex16()).ToList();
        Assert.All(names, n => Assert.Matches("^[0-9a-f]{16}$", n));
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
