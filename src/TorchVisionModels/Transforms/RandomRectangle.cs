using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// How torchvision draws a random rectangle (RandomResizedCrop's crop, RandomErasing's patch): its area a uniform
/// fraction <c>scale</c> of the whole, its aspect ratio log-uniform in <c>ratio</c>, each draw a float32 tensor read
/// back as a double, the logarithms taken in float32; then its position, uniform among those that fit.
/// </summary>
static class RandomRectangle
{
    /// <summary>
    /// Ten tries at a shape: <c>round(sqrt(area * aspect))</c> and <c>round(sqrt(area / aspect))</c>, drawn only as
    /// they are enumerated, so a caller that stops at the first that fits draws what torchvision draws.
    /// </summary>
    public static IEnumerable<(int byRatio, int againstRatio)> Tries(double area, (double min, double max) scale, (double min, double max) ratio, Generator generator)
    {
        // Each tensor held by a variable: a temporary passed straight to a native call can be finalized, and freed, while
        // the call still reads it (a SIGSEGV on loader threads, under garbage collection).
        using var ratios = tensor(new[] { (float)ratio.min, (float)ratio.max });
        using var log_ratio = log(ratios);
        var (logMin, logMax) = (log_ratio.data<float>()[0], log_ratio.data<float>()[1]);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            using var areaDraw = empty(1).uniform_(scale.min, scale.max, generator);
            var target_area = area * areaDraw.item<float>();
            using var ratioDraw = empty(1).uniform_(logMin, logMax, generator);
            using var aspect = exp(ratioDraw);
            double aspect_ratio = aspect.item<float>();
            yield return ((int)Math.Round(Math.Sqrt(target_area * aspect_ratio), MidpointRounding.ToEven),
                (int)Math.Round(Math.Sqrt(target_area / aspect_ratio), MidpointRounding.ToEven));
        }
    }

    /// <summary>The top-left corner of an <paramref name="h"/> x <paramref name="w"/> rectangle inside <paramref name="height"/> x <paramref name="width"/>: the row drawn first.</summary>
    public static (int top, int left) Place(int height, int width, int h, int w, Generator generator)
    {
        using var i = randint(0, height - h + 1, [1], generator: generator);
        using var j = randint(0, width - w + 1, [1], generator: generator);
        return ((int)i.item<long>(), (int)j.item<long>());
    }
}
