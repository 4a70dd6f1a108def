using static TorchSharp.torch;

namespace TestSupport;

/// <summary>
/// A .npz the generator wrote through its <c>sampled</c>: small tensors whole, large ones as <c>KEY.sample</c> (the
/// elements at flat indices <c>(i * 2654435761) % numel</c>, i &lt; 1024), <c>KEY.norm</c> and <c>KEY.absmax</c>.
/// </summary>
sealed class SampledArrays(string fixture) : IDisposable
{
    const long SampleStride = 2654435761;
    readonly Dictionary<string, Tensor> arrays = Fixtures.Arrays(fixture);

    /// <summary>A tensor stored whole.</summary>
    public Tensor this[string key] => arrays[key];

    /// <summary>A stored scalar, whatever its dtype.</summary>
    public double Scalar(string key)
    {
        using var value = arrays[key].to(float64);
        return value.item<double>();
    }

    /// <summary>
    /// The largest difference relative to the tensor's largest magnitude (on the sample for a large tensor), or its
    /// norm's relative difference if larger; magnitudes below <paramref name="minScale"/> count as it (1: absolute
    /// differences for values below 1).
    /// </summary>
    public double RelativeError(string key, Tensor actual, double minScale = 0)
    {
        using var scope = NewDisposeScope();
        double Scale(double magnitude) => Math.Max(minScale, magnitude) is var s && s > 0 ? s : 1;
        if (arrays.TryGetValue(key, out var whole))
        {
            Assert.Equal(whole.shape, actual.shape);
            var difference = (actual.to(float64) - whole.to(float64)).abs().max().item<double>();
            return difference / Scale(whole.to(float64).abs().max().item<double>());
        }
        var sample = arrays[key + ".sample"];
        var flat = actual.detach().to(float64).reshape(-1);
        var index = tensor(Enumerable.Range(0, (int)sample.numel()).Select(i => i * SampleStride % flat.numel()).ToArray());
        var elements = (flat[index] - sample.to(float64)).abs().max().item<double>() / Scale(Scalar(key + ".absmax"));
        var norm = Math.Abs(flat.norm().item<double>() - Scalar(key + ".norm")) / Scale(Scalar(key + ".norm"));
        return Math.Max(elements, norm);
    }

    public void AssertClose(string key, Tensor actual, double tolerance)
    {
        var error = RelativeError(key, actual);
        Assert.True(error <= tolerance, $"{key}: relative error {error:E2} exceeds {tolerance:E0}");
    }

    public void Dispose() => Fixtures.DisposeAll(arrays.Values);
}
