namespace TorchVisionModels.Tests;

/// <summary>CONTRIBUTING.md's naming rule on the library's public API (<see cref="PublicApiNames"/>).</summary>
public class NamingTests
{
    [Fact]
    public void EveryPublicNameIsDotNetCasedOrTorchvisions()
    {
        var offenders = PublicApiNames.Offenders(typeof(ResNet).Assembly);
        Assert.True(offenders.Count == 0, "Neither .NET casing nor a name of torch's or torchvision's Python API:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheCheckFlagsAMisnamedMember()
    {
        // The rule itself, on names that break it: a snake_case .NET name and a Python name that torchvision lacks.
        Assert.False(PublicApiNames.IsPascalCase("pixel_count_total") || PublicApiNames.PythonNames.Contains("pixel_count_total"));
        Assert.False(PublicApiNames.IsCamelCase("batch_size_") || PublicApiNames.PythonNames.Contains("batch_size_"));
        Assert.True(PublicApiNames.PythonNames.Contains("zero_init_residual") && PublicApiNames.PythonNames.Contains("ResNet50_Weights")
            && PublicApiNames.PythonNames.Contains("load_state_dict"));
    }
}
