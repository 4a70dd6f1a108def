namespace TorchVisionModels.Tests;

/// <summary>Bad options raise torchvision's errors, with its messages.</summary>
public class OptionErrorTests
{
    [Fact]
    public void BasicBlockRejectsGroups()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet18(groups: 2));
        Assert.StartsWith("BasicBlock only supports groups=1 and base_width=64", e.Message);
    }

    [Fact]
    public void BasicBlockRejectsWidth()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet34(width_per_group: 128));
        Assert.StartsWith("BasicBlock only supports groups=1 and base_width=64", e.Message);
    }

    [Fact]
    public void BasicBlockRejectsDilation()
    {
        var e = Assert.Throws<NotSupportedException>(() => torchvision.models.resnet18(replace_stride_with_dilation: [false, false, true]));
        Assert.Equal("Dilation > 1 not supported in BasicBlock", e.Message);
    }

    [Fact]
    public void ReplaceStrideWithDilationNeedsThreeFlags()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet50(replace_stride_with_dilation: [false, true]));
        Assert.StartsWith("replace_stride_with_dilation should be null or a 3-element array, got [False, True]", e.Message);
    }

    [Theory]
    [InlineData("resnext50_32x4d", "groups", 16L, "The parameter 'groups' expected value 32 but got 16 instead.")]
    [InlineData("resnext101_32x8d", "width_per_group", 4L, "The parameter 'width_per_group' expected value 8 but got 4 instead.")]
    [InlineData("resnext101_64x4d", "groups", 32L, "The parameter 'groups' expected value 64 but got 32 instead.")]
    [InlineData("wide_resnet50_2", "width_per_group", 64L, "The parameter 'width_per_group' expected value 128 but got 64 instead.")]
    [InlineData("wide_resnet101_2", "width_per_group", 256L, "The parameter 'width_per_group' expected value 128 but got 256 instead.")]
    public void FixedBuilderOptionsCannotBeOverridden(string architecture, string option, long value, string message)
    {
        var builder = torchvision.models.get_model_builder(architecture);
        var e = option == "groups"
            ? Assert.Throws<ArgumentException>(() => builder(groups: value))
            : Assert.Throws<ArgumentException>(() => builder(width_per_group: value));
        Assert.StartsWith(message, e.Message);
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public void UnknownModelIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.get_model_builder("resnet51"));
        Assert.StartsWith("Unknown model resnet51", e.Message);
    }

    [Fact]
    public void ListModelsIsTorchvisionsBuilders()
        => Assert.Equal(ModelCases.TorchvisionArchitectures.Order(StringComparer.Ordinal), torchvision.models.list_models());

    [Fact]
    public void FixedBuilderOptionsMayBeRepeated()
    {
        using var model = torchvision.models.resnext50_32x4d(groups: 32, width_per_group: 4);
        Assert.Equal(25_028_904, model.parameters().Sum(p => p.numel()));
    }
}
