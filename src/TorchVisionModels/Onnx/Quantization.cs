using static TorchSharp.torch;

namespace TorchVisionModels.Onnx;

/// <summary>The range of values an activation is quantized over, from calibration.</summary>
/// <param name="Min">The lowest value kept.</param>
/// <param name="Max">The highest value kept.</param>
public readonly record struct ActivationRange(float Min, float Max);

/// <summary>
/// uint8 affine quantization of an activation, as ONNX's QuantizeLinear applies it:
/// <c>q = saturate(round(x / Scale) + ZeroPoint)</c>, rounding half to even, and <c>x = (q - ZeroPoint) * Scale</c> back.
/// </summary>
/// <param name="Scale">The step between two levels.</param>
/// <param name="ZeroPoint">The level that stands for 0.</param>
public readonly record struct ActivationQuantization(float Scale, byte ZeroPoint)
{
    /// <summary>
    /// ONNX's rule (DynamicQuantizeLinear's): the range widened to hold 0, so that 0, ReLU's floor and padding, is
    /// exact; <c>Scale = (max - min) / 255</c>, <c>ZeroPoint = round(-min / Scale)</c>, in float32. An empty range
    /// (every value 0) takes Scale 1, where ONNX's would divide by zero. A range starting at 0, a ReLU's, has
    /// ZeroPoint 0, so the quantization's saturation is the ReLU.
    /// </summary>
    public static ActivationQuantization Of(ActivationRange range)
    {
        var min = Math.Min(0f, range.Min);
        var max = Math.Max(0f, range.Max);
        if (max == min)
            return new(1f, 0);
        var scale = (max - min) / 255f;
        var zeroPoint = 0f - min / scale;
        return new(scale, (byte)Math.Round(Math.Clamp(zeroPoint, 0f, 255f), MidpointRounding.ToEven));
    }
}

/// <summary>
/// A weight quantized per output channel, symmetrically, to int8 in [-127, 127] (the zero points are 0):
/// <c>Scales[c] = max |w[c]| / 127</c> and <c>q = round(w / Scales[c])</c>, rounding half to even, in float32.
/// A channel of zeros takes scale 1. A bias goes to int32 at the scale of the product it is added to:
/// <c>round(b[c] / (inputScale * Scales[c]))</c>.
/// </summary>
/// <param name="Scales">One per output channel.</param>
/// <param name="Values">The quantized weight, row-major, the shape of the float one.</param>
public sealed record WeightQuantization(float[] Scales, sbyte[] Values)
{
    /// <summary>The quantization of <paramref name="weight"/>, whose first dimension is the output channel.</summary>
    public static WeightQuantization Of(Tensor weight)
    {
        using var data = weight.detach().to(float32).cpu().contiguous();
        var values = data.data<float>().ToArray();
        var channels = (int)data.shape[0];
        var perChannel = values.Length / channels;
        var scales = new float[channels];
        var quantized = new sbyte[values.Length];
        for (var c = 0; c < channels; c++)
        {
            var row = values.AsSpan(c * perChannel, perChannel);
            var max = 0f;
            foreach (var v in row)
                max = Math.Max(max, Math.Abs(v));
            var scale = scales[c] = max == 0 ? 1f : max / 127f;
            for (var i = 0; i < perChannel; i++)
                quantized[c * perChannel + i] = (sbyte)Math.Clamp(MathF.Round(row[i] / scale, MidpointRounding.ToEven), -127f, 127f);
        }
        return new(scales, quantized);
    }

    /// <summary><paramref name="bias"/> as int32 at scales <paramref name="inputScale"/> x <see cref="Scales"/>, with those scales.</summary>
    public (int[] Values, float[] Scales) Bias(Tensor bias, float inputScale)
    {
        using var data = bias.detach().to(float32).cpu().contiguous();
        var values = data.data<float>().ToArray();
        var scales = Scales.Select(s => inputScale * s).ToArray();
        var quantized = new int[values.Length];
        for (var c = 0; c < values.Length; c++)
            quantized[c] = (int)Math.Clamp(Math.Round((double)(values[c] / scales[c]), MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        return (quantized, scales);
    }
}
