using System.Globalization;
using static TorchSharp.torch;

namespace TorchVisionModels.Onnx;

/// <summary>
/// How calibration turns the activations it sees into ranges: the range that keeps <see cref="Percentile"/> percent of
/// the values at each end (100: min-max, every value).
/// </summary>
/// <param name="Percentile">In (50, 100]: the share of values kept below the top clip, and above the bottom one.</param>
public sealed record CalibrationMethod(double Percentile)
{
    /// <summary>Every value kept: the range is the lowest and highest value seen.</summary>
    public static CalibrationMethod MinMax { get; } = new(100);

    /// <summary>The default: min-max measured best (benchmarks/RESULTS.md, "int8").</summary>
    public static CalibrationMethod Default => MinMax;

    /// <summary><c>minmax</c>, or <c>percentile:P</c>.</summary>
    public override string ToString() => Percentile >= 100 ? "minmax" : $"percentile:{Percentile.ToString(CultureInfo.InvariantCulture)}";

    /// <summary><c>minmax</c>, <c>percentile</c> (99.99) or <c>percentile:P</c> with P in (50, 100].</summary>
    /// <exception cref="FormatException">Anything else; the message says what is taken.</exception>
    public static CalibrationMethod Parse(string text) => text switch
    {
        "minmax" => MinMax,
        "percentile" => new(99.99),
        _ when text.StartsWith("percentile:", StringComparison.Ordinal)
            && double.TryParse(text["percentile:".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is > 50 and <= 100 => new(p),
        _ => throw new FormatException($"'{text}' is not a calibration method: minmax, percentile (99.99) or percentile:P with P above 50 and at most 100."),
    };
}

/// <summary>
/// Post-training calibration: the float32 network (norm layers folded, as the int8 export has them) runs over
/// calibration images, and each activation the int8 graph quantizes gets a range. Min-max keeps the lowest and
/// highest value seen. A percentile takes a second pass: each activation's values counted in <see cref="Bins"/> equal
/// bins between its min and max, the range cut at the bin edges that keep the percentile at each end.
/// </summary>
public static class Calibration
{
    /// <summary>The histogram's bins per activation, as ONNX Runtime's calibrators use by default.</summary>
    public const int Bins = 2048;

    /// <summary>The ranges of <paramref name="model"/>'s activations over <paramref name="batches"/> (preprocessed images, [N, 3, H, W]).</summary>
    /// <param name="model">The float network; it is not changed.</param>
    /// <param name="batches">The calibration images, already preprocessed as the model takes them.</param>
    /// <param name="method">Min-max or a percentile.</param>
    /// <returns>Each activation's range, by the name <see cref="FusedResNet.forward(Tensor, Action{string, Tensor})"/> gives it.</returns>
    /// <exception cref="ArgumentException">No batches.</exception>
    public static IReadOnlyDictionary<string, ActivationRange> Ranges(ResNet model, IReadOnlyList<Tensor> batches, CalibrationMethod method)
    {
        if (batches.Count == 0)
            throw new ArgumentException("Calibration needs at least one image.", nameof(batches));
        using var network = new FusedResNet(model);
        var minMax = new Dictionary<string, ActivationRange>();
        foreach (var batch in batches)
            Run(network, batch, (name, x) =>
            {
                var (low, high) = aminmax(InMemoryOrder(x));
                var (min, max) = (low.item<float>(), high.item<float>());
                minMax[name] = minMax.TryGetValue(name, out var seen) ? new(Math.Min(seen.Min, min), Math.Max(seen.Max, max)) : new(min, max);
            });
        if (method.Percentile >= 100)
            return minMax;

        var counts = minMax.ToDictionary(entry => entry.Key, _ => new long[Bins]);
        foreach (var batch in batches)
            Run(network, batch, (name, x) => Count(x, minMax[name], counts[name]));
        return minMax.ToDictionary(entry => entry.Key, entry => Clip(entry.Value, counts[entry.Key], method.Percentile));
    }

    /// <summary>
    /// The same values, viewed in the order they lie in memory. FusedResNet's activations are channels-last, and
    /// libtorch reduces such a tensor seen as NCHW about 100 times slower (measured: 440 ms against 5 ms for 25 M
    /// values, AMD EPYC).
    /// </summary>
    static Tensor InMemoryOrder(Tensor x) => x.dim() == 4 && !x.is_contiguous() ? x.permute(0, 2, 3, 1) : x;

    static void Run(FusedResNet network, Tensor batch, Action<string, Tensor> observe)
    {
        using var scope = NewDisposeScope();
        network.forward(batch, (name, x) =>
        {
            using var inner = NewDisposeScope();
            observe(name, x);
        });
    }

    /// <summary>Adds <paramref name="x"/>'s values to <paramref name="counts"/>: bin <c>floor((x - min) * Bins / (max - min))</c>, the maximum in the last.</summary>
    static void Count(Tensor x, ActivationRange range, long[] counts)
    {
        if (range.Max == range.Min)
            return;
        var perUnit = Bins / (range.Max - range.Min);
        using var bins = InMemoryOrder(x).to(float32).sub(range.Min).mul_(perUnit).floor_().clamp_(0, Bins - 1).to(int64).flatten().bincount(null, Bins);
        var binCounts = bins.data<long>().ToArray();
        for (var i = 0; i < Bins; i++)
            counts[i] += binCounts[i];
    }

    /// <summary>
    /// The range that keeps <paramref name="percentile"/> percent of the values below its top and above its bottom:
    /// the top is the right edge of the first bin at which the count from below reaches that share, the bottom the
    /// left edge of the last bin at which the count from above does.
    /// </summary>
    static ActivationRange Clip(ActivationRange range, long[] counts, double percentile)
    {
        if (range.Max == range.Min)
            return range;
        var kept = counts.Sum() * percentile / 100;
        var width = ((double)range.Max - range.Min) / Bins;
        int top = 0, bottom = Bins - 1;
        for (long below = 0; (below += counts[top]) < kept; top++) { }
        for (long above = 0; (above += counts[bottom]) < kept; bottom--) { }
        return new((float)(range.Min + bottom * width), (float)Math.Min(range.Max, range.Min + (top + 1) * width));
    }
}
