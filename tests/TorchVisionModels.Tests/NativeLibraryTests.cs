using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

public class NativeLibraryTests
{
    [Fact]
    public void LibTorchLoadsAndComputes()
    {
        using var x = arange(1, 5, dtype: float32).reshape(2, 2);
        using var y = x.matmul(x);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, y.data<float>().ToArray());
        Assert.StartsWith("2.10", __version__);
    }
}
