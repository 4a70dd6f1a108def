using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// Builds the normalisation layer for <paramref name="num_features"/> channels: torchvision's <c>norm_layer</c>
/// argument (a class such as <c>nn.BatchNorm2d</c>, called with the channel count). For example
/// <c>c =&gt; nn.GroupNorm(32, c)</c> or <c>c =&gt; new FrozenBatchNorm2d(c)</c>.
/// </summary>
public delegate nn.Module<Tensor, Tensor> NormLayer(long num_features);
