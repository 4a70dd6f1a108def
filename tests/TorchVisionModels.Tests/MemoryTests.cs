using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>forward disposes every intermediate tensor: no tensor outlives a call but its result.</summary>
public class MemoryTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ForwardLeavesNoLiveTensors(bool training)
    {
        using var model = torchvision.models.resnet50(replace_stride_with_dilation: [false, false, true]);
        model.train(training);
        using var x = randn(2, 3, 64, 64);
        Fixtures.AssertNoLiveTensorsAfter(() => model.call(x).Dispose());
    }
}
