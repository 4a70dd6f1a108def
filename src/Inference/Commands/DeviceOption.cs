using System.CommandLine;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary><c>--device auto|cpu|cuda|cuda:N</c>: auto takes the GPU when there is one.</summary>
static class DeviceOption
{
    public static Option<string> Create() => new("--device")
    {
        Description = "auto, cpu, cuda or cuda:N",
        DefaultValueFactory = _ => "auto",
    };

    /// <summary>The device for <paramref name="backend"/>: ONNX Runtime runs on the CPU, so only auto and cpu go with it.</summary>
    public static Device Resolve(string value, string backend)
    {
        if (backend == "torch")
            return Resolve(value);
        if (value is not ("auto" or "cpu"))
            throw new ArgumentException($"--device {value}: the {backend} backend runs on the CPU.");
        return CPU;
    }

    public static Device Resolve(string value)
    {
        if (value == "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (value == "cpu")
            return CPU;
        if (value == "cuda" || value.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"--device {value}: CUDA is not available (no GPU is visible, or this build uses TorchSharp's CPU backend: build with -p:TorchBackend=cuda).");
            return new Device(value);
        }
        throw new ArgumentException($"--device must be auto, cpu, cuda or cuda:N, got '{value}'.");
    }
}
