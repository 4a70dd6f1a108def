using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>Where to compute, when "auto" or a GPU is asked for.</summary>
public static class Devices
{
    /// <summary>
    /// <paramref name="asked"/>, or when null the GPU if there is one and <paramref name="gpuCapable"/>, else the CPU.
    /// </summary>
    /// <param name="asked">The device asked for; null for auto.</param>
    /// <param name="gpuCapable">Whether what will run there runs on a GPU.</param>
    /// <param name="option">The asking option's name, for the message.</param>
    /// <exception cref="OptionException">A GPU was asked for and CUDA is not available.</exception>
    public static Device Resolve(Device? asked, bool gpuCapable = true, string option = "Device")
    {
        var device = asked ?? (gpuCapable && cuda.is_available() ? CUDA : CPU);
        if (device.type == TorchSharp.DeviceType.CUDA && !cuda.is_available())
            throw new OptionException(option, device,
                "CUDA is not available (no GPU is visible, or this build uses TorchSharp's CPU backend: build with -p:TorchBackend=cuda)");
        return device;
    }
}
