namespace Inference.Tests;

/// <summary>CONTRIBUTING.md's naming rule on the app's public API (<see cref="PublicApiNames"/>).</summary>
public class NamingTests
{
    [Fact]
    public void EveryPublicNameIsDotNetCased()
    {
        var offenders = PublicApiNames.Offenders(typeof(Inference.Cli).Assembly);
        Assert.True(offenders.Count == 0, "Neither .NET casing nor a name of torch's or torchvision's Python API:\n" + string.Join("\n", offenders));
    }
}
