using TorchVisionModels.Datasets;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>Top-1 and top-5 accuracy over a dataset, overall and per class, and the mean loss.</summary>
/// <param name="Top1">Percentage of images whose best class is right.</param>
/// <param name="Top5">Percentage of images whose right class is among the five best (all of them, with fewer classes).</param>
/// <param name="Loss">Mean cross-entropy (without label smoothing).</param>
/// <param name="Correct">Images whose best class is right, per class.</param>
/// <param name="Total">Images per class.</param>
/// <param name="Confusion">Images by true class (row) and best class (column).</param>
public sealed record Evaluation(double Top1, double Top5, double Loss, long[] Correct, long[] Total, long[][] Confusion)
{
    /// <summary>Runs <paramref name="model"/> in eval mode, without gradients, over every batch of <paramref name="loader"/>, on <paramref name="device"/>.</summary>
    /// <param name="model">The classifier; left in eval mode.</param>
    /// <param name="loader">The images and their classes.</param>
    /// <param name="numClasses">The number of classes (the model's outputs).</param>
    /// <param name="device">Where the model is.</param>
    public static Evaluation Evaluate(nn.Module<Tensor, Tensor> model, ImageFolderLoader loader, int numClasses, Device device)
    {
        model.eval();
        long top1 = 0, top5 = 0, count = 0;
        double lossSum = 0;
        var correct = new long[numClasses];
        var total = new long[numClasses];
        var confusion = Enumerable.Range(0, numClasses).Select(_ => new long[numClasses]).ToArray();
        using var _ = inference_mode();
        foreach (var batch in loader.Batches(0))
        {
            using var images = batch.images;
            using var targets = batch.targets;
            using var scope = NewDisposeScope();
            var logits = model.call(images.to(device));
            var onDevice = targets.to(device);
            lossSum += nn.functional.cross_entropy(logits, onDevice, reduction: nn.Reduction.Sum).item<float>();
            var best = logits.topk(Math.Min(5, numClasses), dim: 1).indexes;
            var hits = best.eq(onDevice.unsqueeze(1));
            var first = hits[.., 0].cpu().data<bool>().ToArray();
            var predicted = best[.., 0].cpu().data<long>().ToArray();
            var any = hits.any(1).cpu().data<bool>().ToArray();
            var labels = targets.data<long>().ToArray();
            for (var i = 0; i < labels.Length; i++)
            {
                total[labels[i]]++;
                confusion[labels[i]][predicted[i]]++;
                if (first[i])
                {
                    correct[labels[i]]++;
                    top1++;
                }
                if (any[i])
                    top5++;
            }
            count += labels.Length;
        }
        if (count == 0)
            throw new ArgumentException($"{loader.SampleCount} images of the evaluation set, none readable: nothing to evaluate.");
        return new(100.0 * top1 / count, 100.0 * top5 / count, lossSum / count, correct, total, confusion);
    }
}
