using System.CommandLine;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary><c>--dtype float32|bfloat16|float16</c>: what the fast path (<see cref="TorchVisionModels.FusedResNet"/>) computes in.</summary>
static class DtypeOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--dtype")
        {
            Description = "Fast path's compute type: float32, bfloat16 (about twice as fast on CPUs with AVX-512 BF16 or AMX) or float16 (for GPUs)",
            DefaultValueFactory = _ => "float32",
        };
        option.AcceptOnlyFromAmong("float32", "bfloat16", "float16");
        return option;
    }

    public static ScalarType Resolve(string value) => value switch
    {
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => ScalarType.Float32,
    };

    /// <summary>Refuses a 16-bit type where only the fast path could honour it.</summary>
    public static void RequireFastPath(string value, string backend, bool fast)
    {
        if (value == "float32")
            return;
        if (backend != "torch")
            throw new ArgumentException($"--dtype {value}: the {backend} backend runs float32; use --backend torch.");
        if (!fast)
            throw new ArgumentException($"--dtype {value} runs on the fast path: drop --fast false.");
    }
}
