using TorchSharp;

namespace TorchVisionModels;

/// <summary>
/// Scalars kept alive for the whole process. TorchSharp 0.107 hands a Scalar's raw handle to libtorch without keeping
/// the Scalar alive, and frees it in a finalizer: a temporary Scalar (any number converted implicitly, and the
/// <c>alpha = 1</c> that <c>add(Tensor)</c> supplies) can be freed by the garbage collector while libtorch still reads
/// it. Seen here as a rare "toDouble" failure. Hot paths therefore pass these, or a Scalar they hold themselves.
/// </summary>
static class Scalars
{
    public static readonly Scalar One = 1.ToScalar();
}
