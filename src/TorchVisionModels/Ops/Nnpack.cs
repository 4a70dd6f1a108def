using System.Runtime.InteropServices;

namespace TorchVisionModels;

/// <summary>
/// libtorch asks NNPACK whether it initialised before each convolution oneDNN does not take (float64 ones, say) and,
/// where it cannot initialise ("Unsupported hardware", as on AMD EPYC VMs), prints "Could not initialize NNPACK!"
/// every time: 17 lines per float64 resnet18 forward pass, nothing a user can act on. NNPACK that cannot initialise
/// is never used, so turning it off there changes no result; where it initialises, nothing changes.
/// </summary>
static class Nnpack
{
    /// <summary>Turns NNPACK off in libtorch if it cannot initialise on this CPU; does the check once per process.</summary>
    public static void DisableIfUnavailable() => _ = Disabled.Value;

    static readonly Lazy<bool> Disabled = new(() =>
    {
        // The entry points below are named as the Itanium C++ ABI (Linux, macOS) mangles them; Windows builds differ.
        if (OperatingSystem.IsWindows())
            return false;
        try
        {
            if (nnp_initialize() == 0) // nnp_status_success
                return false;
            at_Context_setUserEnabledNNPACK(at_globalContext(), false);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    });

    [DllImport("libtorch_cpu")]
    static extern int nnp_initialize();

    /// <summary>at::globalContext().</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    static extern IntPtr at_globalContext();

    /// <summary>at::Context::setUserEnabledNNPACK(bool), the switch PyTorch's torch.backends.nnpack.set_flags turns.</summary>
    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    static extern void at_Context_setUserEnabledNNPACK(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);
}
